package docker

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/dockerengine"
	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// tcp8080 is the port the reference service listens on in its container.
var tcp8080 = network.MustParsePort("8080/tcp")

// daemonless configures the throwaway project like hoist's own magefile,
// with a one-second healthcheck so docker:up need not wait 30 s.
func daemonless(name string) func(*config.Config) {
	return func(c *config.Config) {
		c.Image.Name = name
		c.Image.Ports = []string{"8080/tcp"}
		c.Image.Healthcheck = &image.Healthcheck{Interval: time.Second, Timeout: 3 * time.Second, Retries: 3}
	}
}

// TestDaemonless runs the whole daemonless path through the real mage
// library: docker:smoke pulls in docker:load, image:build and go:build for
// a copy of the reference service, then the dev container goes up and
// down. mage runs each dependency once per process, so everything that
// needs a loaded image lives in this one test.
func TestDaemonless(t *testing.T) {
	c := newTestConn(t)
	const version = "0.3.1"
	p := newProject(t, version, nil)
	name := uniqueName("docker")
	ref, latest := name+":"+version, name+":latest"
	removeImages(t, c, ref, latest)
	t.Cleanup(func() {
		// Leaves nothing behind even if an assertion stopped the test
		// before docker:down ran.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.cli.ContainerRemove(ctx, name+"-dev", client.ContainerRemoveOptions{Force: true})
	})
	s, out := p.use(t, map[string]string{
		"PLATFORMS":      "linux/" + runtime.GOARCH,
		"DOCKER_LATEST":  "1",
		"DOCKER_UP_PORT": "0",
	}, daemonless(name))

	start := time.Now()
	if err := (Docker{}).Smoke(t.Context()); err != nil {
		t.Fatalf("Docker.Smoke() = %v, want nil\noutput:\n%s", err, out)
	}
	t.Logf("output:\n%s", out)
	t.Logf("daemonless path (go:build, image:build, docker:load, docker:smoke) took %s", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{
		"docker:load: loaded " + ref + ", " + latest + " (linux/" + runtime.GOARCH,
		"docker:smoke: passed: " + ref,
		"(healthcheck), /version reported " + version,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Docker.Smoke() output lacks %q:\n%s", want, out)
		}
	}
	tarball := filepath.Join(p.dir, "dist", "image_linux_"+runtime.GOARCH+".tar")
	if fi, err := os.Stat(tarball); err != nil || fi.Size() == 0 {
		t.Errorf("Docker.Load() tarball %s: %v, want a non-empty file", tarball, err)
	}
	info, err := c.eng.Image(t.Context(), ref)
	if err != nil {
		t.Fatalf("Image(%s) = %v, want the loaded image", ref, err)
	}
	if li, err := c.eng.Image(t.Context(), latest); err != nil || li.ID != info.ID {
		t.Errorf("Image(%s) = %+v, %v; want the same ID as %s (%s)", latest, li, err, ref, info.ID)
	}
	t.Logf("daemonless image %s: %d bytes (%.1f MiB) unpacked", ref, info.Size, float64(info.Size)/(1<<20))

	t.Run("load again", func(t *testing.T) {
		out := withOutput(t, s)
		tags, err := loadImage(t.Context(), s, c.conn)
		if err != nil {
			t.Fatalf("loadImage() = %v, want nil", err)
		}
		if len(tags) != 2 || !strings.Contains(out.String(), "already loaded") {
			t.Errorf("loadImage() = %v with output %q, want both tags and already loaded", tags, out)
		}
	})

	t.Run("wrong version", func(t *testing.T) {
		// The image reports 0.3.1; claiming 9.9.9 must fail with the
		// container's logs attached.
		defer withVersion(t, s, "9.9.9")()
		err := smoke(t.Context(), s, c.conn, "docker:smoke", func(*session.Session, *semver.Version) string { return ref })
		for _, want := range []string{`reported version "0.3.1", want "9.9.9"`, "container logs"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("smoke(%s, 9.9.9) = %v, want an error containing %q", ref, err, want)
			}
		}
	})

	t.Run("up and down", func(t *testing.T) {
		out := withOutput(t, s)
		if err := (Docker{}).Up(t.Context()); err != nil {
			t.Fatalf("Docker.Up() = %v, want nil\n%s", err, out)
		}
		ins, err := c.cli.ContainerInspect(t.Context(), name+"-dev", client.ContainerInspectOptions{})
		if err != nil {
			t.Fatalf("ContainerInspect(%s-dev) = %v, want the dev container", name, err)
		}
		hc := ins.Container.HostConfig
		if hc == nil || hc.RestartPolicy.Name != container.RestartPolicyUnlessStopped || !hc.ReadonlyRootfs {
			t.Errorf("dev container HostConfig = %+v, want restart unless-stopped and a read-only root", hc)
		}
		url := ""
		for _, b := range ins.Container.NetworkSettings.Ports[tcp8080] {
			url = "http://127.0.0.1:" + b.HostPort
		}
		if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.Contains(out.String(), name+"-dev is up at "+url+" (healthy)") {
			t.Errorf("Docker.Up() output = %q, want %s-dev up at its loopback URL %s, healthy", out, name, url)
		}
		var got struct{ Version, Commit string }
		getJSON(t, url+"/version", &got)
		if got.Version != version || got.Commit != p.commit {
			t.Errorf("GET %s/version = %+v, want version %s, commit %s", url, got, version, p.commit)
		}

		// A second up replaces the container instead of failing on the name.
		if err := (Docker{}).Up(t.Context()); err != nil {
			t.Fatalf("second Docker.Up() = %v, want nil\n%s", err, out)
		}
		if !strings.Contains(out.String(), "docker:up: removed "+name+"-dev") {
			t.Errorf("second Docker.Up() output = %q, want the previous container removed", out)
		}

		if err := (Docker{}).Down(t.Context()); err != nil {
			t.Fatalf("Docker.Down() = %v, want nil", err)
		}
		if _, err := c.cli.ContainerInspect(t.Context(), name+"-dev", client.ContainerInspectOptions{}); err == nil {
			t.Errorf("ContainerInspect(%s-dev) after Down = nil error, want the container gone", name)
		}
		if err := (Docker{}).Down(t.Context()); err != nil || !strings.Contains(out.String(), "nothing to do") {
			t.Errorf("Docker.Down() again = %v, output %q; want nil and nothing to do", err, out)
		}
	})

	t.Run("foreign container", func(t *testing.T) {
		// A container that merely shares the name is not hoist's to remove.
		created, err := c.cli.ContainerCreate(t.Context(), client.ContainerCreateOptions{
			Name: name + "-dev", Config: &container.Config{Image: ref},
		})
		if err != nil {
			t.Fatalf("ContainerCreate(%s-dev) = %v", name, err)
		}
		t.Cleanup(func() {
			c.cli.ContainerRemove(context.Background(), created.ID, client.ContainerRemoveOptions{Force: true})
		})
		for _, tc := range []struct {
			name string
			run  func(context.Context) error
		}{{"down", Docker{}.Down}, {"up", Docker{}.Up}} {
			err := tc.run(t.Context())
			if err == nil || !strings.Contains(err.Error(), "hoist did not create") {
				t.Errorf("Docker.%s() with a foreign %s-dev = %v, want an error that leaves it alone", tc.name, name, err)
			}
		}
		if _, err := c.cli.ContainerInspect(t.Context(), created.ID, client.ContainerInspectOptions{}); err != nil {
			t.Errorf("ContainerInspect(foreign) = %v, want it still there", err)
		}
	})

	t.Run("unhealthy dev container", func(t *testing.T) {
		// -addr moves the server off the port the healthcheck probes, so
		// the container runs but never turns healthy.
		_, err := runDev(t, c, ref, "-addr", ":9999")
		if err == nil || !strings.Contains(err.Error(), "unhealthy") || !strings.Contains(err.Error(), "container logs") {
			t.Errorf("Run(unhealthy container) = %v, want an unhealthy error with the logs", err)
		}
	})

	t.Run("crashing dev container", func(t *testing.T) {
		_, err := runDev(t, c, ref, "-no-such-flag")
		if err == nil || !(strings.Contains(err.Error(), "exited with code 2") || strings.Contains(err.Error(), "restarted")) {
			t.Errorf("Run(crashing container) = %v, want the exit code", err)
		}
	})

	t.Run("missing layout", func(t *testing.T) {
		defer withVersion(t, s, "0.0.9")()
		_, err := loadImage(t.Context(), s, c.conn)
		if err == nil || !strings.Contains(err.Error(), "read the image built by image:build") {
			t.Errorf("loadImage(version without a layout) = %v, want a read error", err)
		}
	})

	t.Run("up configuration errors", func(t *testing.T) {
		tests := []struct {
			name  string
			ports []string
			env   string
			want  string
		}{
			{name: "bad port", ports: []string{"http"}, want: `Image.Ports[0] = "http"`},
			{name: "bad host port", ports: []string{"8080/tcp"}, env: "eighty", want: `DOCKER_UP_PORT="eighty"`},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				prevPorts, prevPort := s.Cfg.Image.Ports, s.Env.Docker.UpPort
				defer func() { s.Cfg.Image.Ports, s.Env.Docker.UpPort = prevPorts, prevPort }()
				s.Cfg.Image.Ports, s.Env.Docker.UpPort = tc.ports, tc.env
				err := (Docker{}).Up(t.Context())
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Docker.Up() = %v, want an error containing %q", err, tc.want)
				}
			})
		}
	})

	t.Run("image skipped", func(t *testing.T) {
		s.Cfg.Image.Skip = true
		defer func() { s.Cfg.Image.Skip = false }()
		_, err := loadImage(t.Context(), s, c.conn)
		if err == nil || !strings.Contains(err.Error(), "Image.Skip is set") {
			t.Errorf("loadImage(Image.Skip) = %v, want the Skip error", err)
		}
	})
}

// withOutput sends the session's output to a fresh buffer for one subtest.
func withOutput(t *testing.T, s *session.Session) *syncBuffer {
	t.Helper()
	prev := s.Out
	out := &syncBuffer{}
	s.Out = out
	t.Cleanup(func() { s.Out = prev })
	return out
}

// runDev runs ref with args the way docker:up runs its dev container,
// through dockerengine, and removes it when the test ends.
func runDev(t *testing.T, c *testConn, ref string, args ...string) (*dockerengine.RunResult, error) {
	t.Helper()
	name := uniqueName("dev")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.cli.ContainerRemove(ctx, name, client.ContainerRemoveOptions{Force: true})
	})
	return c.eng.Run(t.Context(), dockerengine.RunOptions{Name: name, Image: ref, Port: "8080/tcp", Label: upLabel, Args: args, Timeout: time.Minute})
}
