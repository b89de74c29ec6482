package docker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDockerfile builds hoist's own Dockerfile and .dockerignore for a
// copy of the reference service through docker:smokeDockerfile, on local
// stand-ins for the two base images passed as GO_IMAGE/RUNTIME_IMAGE.
func TestDockerfile(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the standard library inside a container (about 80 s); skipped with -short")
	}
	c := newTestConn(t)
	root := repoRoot(t)
	extra := map[string]string{}
	for _, f := range []string{"Dockerfile", ".dockerignore"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatalf("read the repository's %s: %v", f, err)
		}
		extra[f] = string(b)
	}
	const version = "0.4.0"
	p := newProject(t, version, extra)

	tBase := time.Now()
	builder, runtimeBase := goBuilderImage(t, c), staticRuntimeImage(t, c)
	t.Logf("test base images imported in %s", time.Since(tBase).Round(time.Millisecond))

	name := uniqueName("dockerfile")
	tag := name + ":" + version + "-dockerfile"
	removeImages(t, c, tag)
	_, out := p.use(t, map[string]string{"GO_IMAGE": builder, "RUNTIME_IMAGE": runtimeBase}, daemonless(name))

	start := time.Now()
	if err := (Docker{}).SmokeDockerfile(t.Context()); err != nil {
		t.Fatalf("Docker.SmokeDockerfile() = %v, want nil\noutput:\n%s", err, out)
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "docker:build: built") || strings.HasPrefix(l, "docker:smokeDockerfile:") {
			t.Log(l)
		}
	}
	t.Logf("Dockerfile path (docker:build, docker:smokeDockerfile) took %s", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{
		"docker:build: Step 1/",
		"docker:build: built " + tag,
		"docker:smokeDockerfile: passed: " + tag,
		"(healthcheck), /version reported " + version,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Docker.SmokeDockerfile() output lacks %q:\n%s", want, out)
		}
	}
	info, err := c.eng.Image(t.Context(), tag)
	if err != nil {
		t.Fatalf("Image(%s) = %v, want the built image", tag, err)
	}
	t.Logf("Dockerfile image %s: %d bytes (%.1f MiB) unpacked", tag, info.Size, float64(info.Size)/(1<<20))

	// The commit and date reach -ldflags through the build args, as the
	// same values go:build stamps into the daemonless binary.
	got := runVersion(t, c, tag)
	want := "web " + version + " (commit " + p.commit + ", built " + commitDate(t, p) + ","
	if !strings.HasPrefix(got, want) {
		t.Errorf("%s -version = %q, want it to start with %q", tag, got, want)
	}

	t.Run("rebuild uses the cache", func(t *testing.T) {
		out := &syncBuffer{}
		s, _ := p.use(t, map[string]string{"GO_IMAGE": builder, "RUNTIME_IMAGE": runtimeBase}, daemonless(name))
		s.Out = out
		if err := (Docker{}).Build(t.Context()); err != nil {
			t.Fatalf("Docker.Build() again = %v, want nil\n%s", err, out)
		}
		if n := strings.Count(out.String(), "Using cache"); n < 5 {
			t.Errorf("Docker.Build() again reused %d steps, want the whole build from cache:\n%s", n, out)
		}
	})
}

// TestBuildWithoutDockerfile checks that a project without a Dockerfile
// gets the fix named, not a daemon error.
func TestBuildWithoutDockerfile(t *testing.T) {
	newTestConn(t)
	p := newProject(t, "0.1.0", nil)
	p.use(t, map[string]string{}, nil)
	err := (Docker{}).Build(t.Context())
	if err == nil || !strings.Contains(err.Error(), "no Dockerfile at Dockerfile: create it") {
		t.Errorf("Docker.Build() without a Dockerfile = %v, want the missing-Dockerfile error", err)
	}
}

// TestBuildPullFailure checks that a base image the daemon cannot fetch
// gets the GO_IMAGE/RUNTIME_IMAGE advice.
func TestBuildPullFailure(t *testing.T) {
	newTestConn(t)
	missing := uniqueName("missing-base") + ":1"
	p := newProject(t, "0.1.0", map[string]string{"Dockerfile": "ARG GO_IMAGE=" + missing + "\nFROM ${GO_IMAGE}\n"})
	p.use(t, map[string]string{}, nil)
	err := (Docker{}).Build(t.Context())
	if err == nil || !strings.Contains(err.Error(), "set GO_IMAGE and RUNTIME_IMAGE") {
		t.Errorf("Docker.Build() with an unpullable base = %v, want the GO_IMAGE/RUNTIME_IMAGE advice", err)
	}
}
