package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/hoistdev/hoist/targets/internal/session"
)

// upLabel marks the containers docker:up creates, so that docker:down and
// the next docker:up only ever remove their own and never a container
// someone else happened to give the same name.
const upLabel = "dev.hoist.up"

// upTimeout bounds the wait for the dev container to turn healthy. Docker
// 20.10 runs the first check one full interval after start, so this must
// outlast a 30 s interval with room to spare.
const upTimeout = 2 * time.Minute

// upPoll is how often the container's state is read while waiting.
const upPoll = 250 * time.Millisecond

// devName is the dev container's name, <name>-dev. Image names may hold
// characters a container name may not (a "/" in "acme/web"), so those
// become "-".
func devName(s *session.Session) string {
	name := []byte(s.ImageName() + "-dev")
	for i, b := range name {
		ok := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '.' || b == '-'
		if !ok {
			name[i] = '-'
		}
	}
	return strings.TrimLeft(string(name), "_.-")
}

// hostPort is the 127.0.0.1 port docker:up publishes on, as the Engine
// API wants it: "" asks the daemon for a free one.
func hostPort(v string) (string, error) {
	if v == "" {
		return "8080", nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("DOCKER_UP_PORT=%q: use a port number such as 8080, or 0 to let Docker pick a free one", v)
	}
	if n == 0 {
		return "", nil
	}
	return strconv.Itoa(n), nil
}

// up replaces the dev container with one running this version's image and
// waits until it is healthy. It returns the service's URL.
func up(ctx context.Context, s *session.Session, c *conn) (string, error) {
	const target = "docker:up"
	ver, err := currentVersion(ctx, s)
	if err != nil {
		return "", err
	}
	img := versionRef(s, ver)
	port, err := network.ParsePort(containerPort(s))
	if err != nil {
		return "", fmt.Errorf("Image.Ports[0] = %q: %v — use a form like 8080/tcp", containerPort(s), err)
	}
	hp, err := hostPort(s.Env.Docker.UpPort)
	if err != nil {
		return "", err
	}
	name := devName(s)
	if _, err := c.removeDev(ctx, s, target, name); err != nil {
		return "", err
	}
	created, err := c.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image:        img,
			ExposedPorts: network.PortSet{port: {}},
			Labels:       map[string]string{upLabel: "true"},
		},
		HostConfig: &container.HostConfig{
			// Loopback only, like compose.yaml: the dev service is for
			// this machine, not the network.
			PortBindings:   network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: hp}}},
			RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
			ReadonlyRootfs: true,
		},
	})
	if err != nil {
		return "", fmt.Errorf("create container %s from %s: %w", name, img, err)
	}
	if _, err := c.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		// A container that never started is of no use for inspection.
		_, _ = c.cli.ContainerRemove(context.WithoutCancel(ctx), created.ID, client.ContainerRemoveOptions{Force: true})
		return "", fmt.Errorf("start container %s: %w — if the port is taken, set DOCKER_UP_PORT to a free one (0 picks one)", name, err)
	}
	s.Logf(target, "started %s from %s; %s", name, img, c.waitNote(ctx, created.ID))
	url, how, err := c.waitUp(ctx, created.ID, port)
	if err != nil {
		return "", fmt.Errorf("%s from %s did not come up: %w\n--- container logs ---\n%s\nThe container is left for inspection; go tool mage docker:down removes it",
			name, img, err, c.logs(ctx, created.ID))
	}
	s.Logf(target, "%s is up at %s (%s)", name, url, how)
	return url, nil
}

// waitUp polls the container until it is healthy (or, without a
// healthcheck, running), and returns the published URL and how readiness
// was decided.
func (c *conn) waitUp(ctx context.Context, id string, port network.Port) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, upTimeout)
	defer cancel()
	tick := time.NewTicker(upPoll)
	defer tick.Stop()
	for {
		res, err := c.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			return "", "", fmt.Errorf("inspect container: %w", err)
		}
		st := res.Container.State
		switch {
		case st == nil:
		// The restart policy would keep retrying a service that crashes at
		// start; that is worth reporting now rather than after the timeout.
		case st.Restarting || !st.Running:
			return "", "", fmt.Errorf("the container exited with code %d (%s)", st.ExitCode, st.Status)
		case res.Container.RestartCount > 0:
			return "", "", fmt.Errorf("the container exited and was restarted %d times", res.Container.RestartCount)
		case st.Health == nil:
			return publishedURL(res.Container, port), "running; the image has no healthcheck", nil
		case st.Health.Status == container.Healthy:
			return publishedURL(res.Container, port), "healthy", nil
		case st.Health.Status == container.Unhealthy:
			// Docker has already used up the image's retries.
			return "", "", errors.New("the healthcheck reports unhealthy")
		}
		select {
		case <-ctx.Done():
			return "", "", fmt.Errorf("not healthy within %s: %w", upTimeout, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// waitNote says what the wait is for. Docker 20.10 runs the first
// healthcheck one full interval after start, so with the usual 30 s the
// target looks stuck unless it says why.
func (c *conn) waitNote(ctx context.Context, id string) string {
	res, err := c.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil || res.Container.Config == nil || res.Container.Config.Healthcheck == nil {
		return "waiting for it to run"
	}
	iv := res.Container.Config.Healthcheck.Interval
	if iv <= 0 {
		iv = 30 * time.Second // Docker's default
	}
	return fmt.Sprintf("waiting for it to turn healthy (the healthcheck runs every %s)", iv)
}

func publishedURL(ins container.InspectResponse, port network.Port) string {
	if ins.NetworkSettings != nil {
		for _, b := range ins.NetworkSettings.Ports[port] {
			if b.HostPort != "" {
				return "http://127.0.0.1:" + b.HostPort
			}
		}
	}
	return "(port " + port.String() + " not published)"
}

// logs returns the container's last lines for an error message; a failure
// to read them is reported in their place.
func (c *conn) logs(ctx context.Context, id string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	r, err := c.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "30"})
	if err != nil {
		return fmt.Sprintf("(could not read logs: %v)", err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := stdcopy.StdCopy(&buf, &buf, r); err != nil {
		fmt.Fprintf(&buf, "(log stream broke: %v)", err)
	}
	if buf.Len() == 0 {
		return "(no output)"
	}
	return strings.TrimRight(buf.String(), "\n")
}

// removeDev stops and removes the dev container if docker:up made it, and
// reports whether there was one.
func (c *conn) removeDev(ctx context.Context, s *session.Session, target, name string) (bool, error) {
	res, err := c.cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("inspect container %s: %w", name, err)
	}
	if cfg := res.Container.Config; cfg == nil || cfg.Labels[upLabel] == "" {
		return false, fmt.Errorf("a container named %s exists that docker:up did not create: remove it yourself (docker rm -f %s) or set Image.Name", name, name)
	}
	// Remove on a context of its own: a cancelled run must not leave a
	// half-stopped container behind.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	grace := 10
	_, _ = c.cli.ContainerStop(rctx, res.Container.ID, client.ContainerStopOptions{Timeout: &grace})
	if _, err := c.cli.ContainerRemove(rctx, res.Container.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return false, fmt.Errorf("remove container %s: %w", name, err)
	}
	s.Logf(target, "removed %s", name)
	return true, nil
}

// down removes the dev container; having none is fine.
func down(ctx context.Context, s *session.Session, c *conn) error {
	name := devName(s)
	removed, err := c.removeDev(ctx, s, "docker:down", name)
	if err == nil && !removed {
		s.Logf("docker:down", "no container %s: nothing to do", name)
	}
	return err
}
