package docker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/network"

	"github.com/hoistdev/hoist/dockerengine"
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
	if _, err := network.ParsePort(containerPort(s)); err != nil {
		return "", fmt.Errorf("Image.Ports[0] = %q: %v — use a form like 8080/tcp", containerPort(s), err)
	}
	hp, err := hostPort(s.Env.Docker.UpPort)
	if err != nil {
		return "", err
	}
	name := devName(s)
	if _, err := removeDev(ctx, s, c, target, name); err != nil {
		return "", err
	}
	res, err := c.eng.Run(ctx, dockerengine.RunOptions{
		Name: name, Image: img, Port: containerPort(s), HostPort: hp, Label: upLabel, ReadOnly: true,
		Timeout: upTimeout, Poll: upPoll,
		Started: func(_, waiting string) { s.Logf(target, "started %s from %s; %s", name, img, waiting) },
	})
	if err != nil {
		if strings.Contains(err.Error(), "start container") {
			return "", fmt.Errorf("%w — if the port is taken, set DOCKER_UP_PORT to a free one (0 picks one)", err)
		}
		return "", fmt.Errorf("%w\nThe container is left for inspection; go tool mage docker:down removes it", err)
	}
	s.Logf(target, "%s is up at %s (%s)", name, res.URL, res.Readiness)
	return res.URL, nil
}

// removeDev stops and removes the dev container if docker:up made it, and
// reports whether there was one.
func removeDev(ctx context.Context, s *session.Session, c *conn, target, name string) (bool, error) {
	removed, err := c.eng.RemoveOwned(ctx, name, upLabel)
	if err != nil {
		return false, fmt.Errorf("%w (docker:up names its container after Image.Name)", err)
	}
	if removed {
		s.Logf(target, "removed %s", name)
	}
	return removed, nil
}

// down removes the dev container; having none is fine.
func down(ctx context.Context, s *session.Session, c *conn) error {
	name := devName(s)
	removed, err := removeDev(ctx, s, c, "docker:down", name)
	if err == nil && !removed {
		s.Logf("docker:down", "no container %s: nothing to do", name)
	}
	return err
}
