package dockerengine

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDockerfileBuildAndSmoke builds the repository's own Dockerfile
// through the API, on local stand-ins for its two base images (nothing can
// be pulled here), then smoke-runs the result.
func TestDockerfileBuildAndSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the standard library inside a container (about a minute); skipped with -short")
	}
	e := testEngine(t)
	ctx := t.Context()

	tBase := time.Now()
	builder := goBuilderImage(t, e)
	runtimeBase := staticRuntimeImage(t, e)
	t.Logf("test base images imported in %s", time.Since(tBase).Round(time.Millisecond))

	dockerfile, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatalf("read the repository Dockerfile: %v", err)
	}
	mainGo, err := os.ReadFile(filepath.Join("testdata", "web", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	// A stdlib-only module without go.sum, laid out like this repository.
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"Dockerfile":      string(dockerfile),
		".dockerignore":   ".git\ndist/\n.env\n",
		"go.mod":          "module example.com/web\n\ngo 1.26\n",
		"cmd/web/main.go": string(mainGo),
		".git/HEAD":       "ref: refs/heads/main\n",
		".env":            "TOKEN=do-not-ship\n",
		"dist/web":        "stale binary",
	})
	args := map[string]string{
		"GO_IMAGE":      builder,
		"RUNTIME_IMAGE": runtimeBase,
		"VERSION":       "1.2.3",
		"COMMIT":        "abc1234",
		"DATE":          "2026-01-02T03:04:05Z",
	}
	tag := testRef(t, e, "web-dockerfile")
	var log bytes.Buffer
	tBuild := time.Now()
	id, err := e.Build(ctx, BuildOptions{ContextDir: dir, Tags: []string{tag}, BuildArgs: args, Output: &log})
	buildTime := time.Since(tBuild)
	if err != nil {
		t.Fatalf("Build(%s) = %v, want nil\n%s", dir, err, log.String())
	}
	if !strings.HasPrefix(id, "sha256:") {
		t.Errorf("Build(%s) = %q, want a full sha256 image ID", dir, id)
	}
	if !strings.Contains(log.String(), "Step 1/") {
		t.Errorf("Build output = %q, want the builder's steps", log.String())
	}

	info, err := e.Image(ctx, tag)
	if err != nil || info.ID != id {
		t.Fatalf("Image(%s) = %+v, %v; want ID %s", tag, info, err, id)
	}
	t.Logf("Dockerfile path: build %s (compiles the stdlib from scratch in the builder); image size %d bytes (%.1f MiB)",
		buildTime.Round(time.Millisecond), info.Size, float64(info.Size)/(1<<20))

	ins, err := e.cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ins.Config
	if cfg == nil || cfg.User != "65532:65532" || cfg.Healthcheck == nil ||
		!slices.Equal(cfg.Healthcheck.Test, []string{"CMD", "/usr/local/bin/web", "-healthcheck"}) ||
		!slices.Equal(cfg.Entrypoint, []string{"/usr/local/bin/web"}) {
		t.Errorf("ImageInspect(%s).Config = %+v, want user 65532:65532, the exec-form healthcheck and entrypoint", tag, cfg)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("ImageInspect(%s).Config.ExposedPorts = %v, want 8080/tcp", tag, cfg.ExposedPorts)
	}

	res, err := e.Smoke(ctx, SmokeOptions{Image: tag, Version: "1.2.3", ReadOnly: true})
	if err != nil {
		t.Fatalf("Smoke(%s, 1.2.3) = %v, want nil", tag, err)
	}
	if res.Readiness != "healthcheck" {
		t.Errorf("Smoke(%s).Readiness = %q, want healthcheck (the Dockerfile's HEALTHCHECK)", tag, res.Readiness)
	}
	assertRemoved(t, e, res.ContainerID)

	t.Run("builder stage target", func(t *testing.T) {
		// Everything up to the builder stage is cached from the build
		// above, so this only checks that Target reaches the daemon.
		stage := testRef(t, e, "web-builder-stage")
		var out bytes.Buffer
		sid, err := e.Build(t.Context(), BuildOptions{ContextDir: dir, Tags: []string{stage}, BuildArgs: args, Target: "builder", Output: &out})
		if err != nil {
			t.Fatalf("Build(target builder) = %v\n%s", err, out.String())
		}
		if sid == id {
			t.Errorf("Build(target builder) = %s, want a different image than the final stage", sid)
		}
		if got := strings.Count(out.String(), "Using cache"); got < 3 {
			t.Errorf("Build(target builder) reused %d cached steps, want at least 3:\n%s", got, out.String())
		}
	})

	t.Run("failing step", func(t *testing.T) {
		bad := t.TempDir()
		writeTree(t, bad, map[string]string{
			"Containerfile": "FROM " + builder + "\nRUN echo about to fail && exit 3\n",
		})
		_, err := e.Build(t.Context(), BuildOptions{ContextDir: bad, Dockerfile: "Containerfile"})
		for _, want := range []string{"returned a non-zero code: 3", "about to fail"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Build(failing RUN) = %v, want an error containing %q", err, want)
			}
		}
	})

	t.Run("bad Dockerfile", func(t *testing.T) {
		bad := t.TempDir()
		writeTree(t, bad, map[string]string{"Dockerfile": "FROMM scratch\n"})
		_, err := e.Build(t.Context(), BuildOptions{ContextDir: bad})
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "unknown instruction") {
			t.Errorf("Build(misspelt instruction) = %v, want the daemon's unknown instruction error", err)
		}
	})
}

func TestBuildInvalidOptions(t *testing.T) {
	e := testEngine(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch\n"})
	tests := []struct {
		name string
		opts BuildOptions
		want string
	}{
		{name: "no context", opts: BuildOptions{}, want: "set BuildOptions.ContextDir"},
		{name: "bad tag", opts: BuildOptions{ContextDir: dir, Tags: []string{"has space:1"}}, want: "use name[:tag]"},
		{name: "no Dockerfile", opts: BuildOptions{ContextDir: dir, Dockerfile: "web.Dockerfile"}, want: "create it or set BuildOptions.Dockerfile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Build(t.Context(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build(%+v) = %v, want an error containing %q", tc.opts, err, tc.want)
			}
		})
	}
}
