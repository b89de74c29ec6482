package dockerengine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// RunOptions describes a long-running container, such as docker:up's dev
// service: published on loopback, restarted unless stopped, and owned by
// Label, so that only its owner ever removes it.
type RunOptions struct {
	// Name is the container's name. Required.
	Name string
	// Image is the image to run, by tag or ID. Required.
	Image string
	// Port is the container port published, such as "8080/tcp". Required.
	Port string
	// HostPort is the 127.0.0.1 port it is published on; "" lets the
	// daemon pick a free one.
	HostPort string
	// Label marks the container as its owner's. Required.
	Label string
	// Args replace the image's CMD. Default: none, the image's own.
	Args []string
	// ReadOnly runs it with a read-only root filesystem.
	ReadOnly bool
	// Timeout bounds the wait until it is healthy (or, with no
	// healthcheck, running). Default: 2 minutes.
	Timeout time.Duration
	// Poll is how often its state is read while waiting. Default: 250 ms.
	Poll time.Duration
	// Started, when set, hears that the container started and what the
	// wait is for, since a first healthcheck can take a full interval.
	Started func(id, waitingFor string)
}

// RunResult is a container that came up.
type RunResult struct {
	// ID is the container's ID.
	ID string
	// URL is where it is published, such as "http://127.0.0.1:8080".
	URL string
	// Readiness says how readiness was decided.
	Readiness string
}

// Run creates and starts the container opts describes and waits until it
// is healthy. A container that starts but does not come up is left for
// inspection and the error carries its last log lines; one that cannot
// start is removed.
func (e *Engine) Run(ctx context.Context, opts RunOptions) (*RunResult, error) {
	if opts.Name == "" || opts.Image == "" || opts.Label == "" {
		return nil, errors.New("run container: name, image and label are required")
	}
	port, err := network.ParsePort(opts.Port)
	if err != nil {
		return nil, fmt.Errorf("run %s: port %q: %v — use a form like 8080/tcp", opts.Name, opts.Port, err)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	created, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: opts.Name,
		Config: &container.Config{
			Image:        opts.Image,
			Cmd:          opts.Args,
			ExposedPorts: network.PortSet{port: {}},
			Labels:       map[string]string{opts.Label: "true"},
		},
		HostConfig: &container.HostConfig{
			// Loopback only: the service is for this machine, not the network.
			PortBindings:   network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: opts.HostPort}}},
			RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
			ReadonlyRootfs: opts.ReadOnly,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("create container %s from %s: %w", opts.Name, opts.Image, err)
	}
	if _, err := e.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		// A container that never started is of no use for inspection.
		_ = e.removeContainer(ctx, created.ID)
		return nil, fmt.Errorf("start container %s: %w", opts.Name, err)
	}
	if opts.Started != nil {
		opts.Started(created.ID, e.waitNote(ctx, created.ID))
	}
	url, how, err := e.waitUp(ctx, created.ID, port, opts)
	if err != nil {
		return nil, fmt.Errorf("%s from %s did not come up: %w\n--- container logs ---\n%s", opts.Name, opts.Image, err, e.logs(ctx, created.ID, 30))
	}
	return &RunResult{ID: created.ID, URL: url, Readiness: how}, nil
}

// waitUp polls the container until it is healthy (or, without a
// healthcheck, running), and returns the published URL and how readiness
// was decided.
func (e *Engine) waitUp(ctx context.Context, id string, port network.Port, opts RunOptions) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	tick := time.NewTicker(opts.Poll)
	defer tick.Stop()
	for {
		res, err := e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
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
			return loopbackURL(res.Container, port), "running; the image has no healthcheck", nil
		case st.Health.Status == container.Healthy:
			return loopbackURL(res.Container, port), "healthy", nil
		case st.Health.Status == container.Unhealthy:
			// Docker has already used up the image's retries.
			return "", "", errors.New("the healthcheck reports unhealthy")
		}
		select {
		case <-ctx.Done():
			return "", "", fmt.Errorf("not healthy within %s: %w", opts.Timeout, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// waitNote says what the wait is for. Docker 20.10 runs the first
// healthcheck one full interval after start, so with the usual 30 s the
// caller looks stuck unless it says why.
func (e *Engine) waitNote(ctx context.Context, id string) string {
	res, err := e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil || res.Container.Config == nil || res.Container.Config.Healthcheck == nil {
		return "waiting for it to run"
	}
	iv := res.Container.Config.Healthcheck.Interval
	if iv <= 0 {
		iv = 30 * time.Second // Docker's default
	}
	return fmt.Sprintf("waiting for it to turn healthy (the healthcheck runs every %s)", iv)
}

func loopbackURL(ins container.InspectResponse, port network.Port) string {
	if ins.NetworkSettings != nil {
		for _, b := range ins.NetworkSettings.Ports[port] {
			if b.HostPort != "" {
				return "http://127.0.0.1:" + b.HostPort
			}
		}
	}
	return "(port " + port.String() + " not published)"
}

// logs returns the container's last tail lines, both streams in order, for
// an error message; a failure to read them is reported in their place. It
// runs detached from ctx: the usual reason to be here is that ctx ended.
func (e *Engine) logs(ctx context.Context, id string, tail int) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	r, err := e.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(tail)})
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

// RemoveOwned stops and removes the container called name if it carries
// label, and reports whether there was one. A container of that name
// without the label is someone else's, and is refused rather than removed.
func (e *Engine) RemoveOwned(ctx context.Context, name, label string) (bool, error) {
	res, err := e.cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("inspect container %s: %w", name, err)
	}
	if cfg := res.Container.Config; cfg == nil || cfg.Labels[label] == "" {
		return false, fmt.Errorf("a container named %s exists that hoist did not create: remove it yourself (docker rm -f %s) or pick another name", name, name)
	}
	if err := e.removeContainer(ctx, res.Container.ID); err != nil {
		return false, err
	}
	return true, nil
}

// Platform is the daemon's own operating system and architecture.
func (e *Engine) Platform(ctx context.Context) (os, arch string, err error) {
	sv, err := e.cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", "", fmt.Errorf("ask the Docker Engine at %s for its platform: %w", e.host, err)
	}
	return sv.Os, sv.Arch, nil
}
