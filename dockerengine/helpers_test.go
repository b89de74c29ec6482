package dockerengine

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/hoistdev/hoist/internal/dockertest"
)

// testRef returns a fresh image reference under hoist-test/, so parallel
// runs and leftovers never collide, and removes it when the test ends.
func testRef(t *testing.T, e *Engine, repo string) string {
	t.Helper()
	ref := "hoist-test/" + repo + ":" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.RemoveImage(ctx, ref, true); err != nil {
			t.Errorf("RemoveImage(%s) = %v, want nil", ref, err)
		}
	})
	return ref
}

// buildWeb compiles testdata/web, the stand-in for cmd/web, for Linux on
// the host architecture, as hoist's own build does.
func buildWeb(t *testing.T, version string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "web")
	src, err := filepath.Abs(filepath.Join("testdata", "web"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+version, "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build testdata/web: %v\n%s", err, b)
	}
	return out
}

// webImage wraps the binary into a daemonless image the way hoist's image
// package does: one layer on an empty base, non-root, port and
// healthcheck in the config.
func webImage(t *testing.T, bin string, healthcheck bool) v1.Image {
	t.Helper()
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err = dockertest.WriteFiles(tw, []dockertest.File{
		{Name: "etc/", Mode: 0o755},
		{Name: "etc/passwd", Mode: 0o644, Body: dockertest.NonrootPasswd},
		{Name: "tmp/", Mode: 0o1777},
		{Name: "usr/", Mode: 0o755},
		{Name: "usr/local/", Mode: 0o755},
		{Name: "usr/local/bin/", Mode: 0o755},
		{Name: "usr/local/bin/web", Mode: 0o755, Body: body},
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{
		User:         "65532:65532",
		Entrypoint:   []string{"/usr/local/bin/web"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
	}
	if healthcheck {
		cf.Config.Healthcheck = &v1.HealthConfig{
			Test:     []string{"CMD", "/usr/local/bin/web", "-healthcheck"},
			Interval: 30 * time.Second,
			Timeout:  3 * time.Second,
			Retries:  3,
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// writeTarball writes images to a docker-archive tarball, as hoist's
// image package does before a load.
func writeTarball(t *testing.T, images map[string]v1.Image) string {
	t.Helper()
	refs := map[name.Reference]v1.Image{}
	for r, img := range images {
		tag, err := name.NewTag(r)
		if err != nil {
			t.Fatal(err)
		}
		refs[tag] = img
	}
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.MultiRefWriteToFile(p, refs); err != nil {
		t.Fatalf("tarball.MultiRefWriteToFile(%s) = %v", p, err)
	}
	return p
}

// goBuilderImage makes a local stand-in for golang:1.26-bookworm (see
// internal/dockertest), skipping the test without a static busybox.
func goBuilderImage(t *testing.T, e *Engine) string {
	t.Helper()
	ref, err := dockertest.EnsureGoBuilder(t.Context(), e.cli)
	if errors.Is(err, dockertest.ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// staticRuntimeImage makes a local stand-in for distroless/static:nonroot.
func staticRuntimeImage(t *testing.T, e *Engine) string {
	t.Helper()
	changes, write := dockertest.StaticRuntime()
	ref := testRef(t, e, "static")
	if err := dockertest.Import(t.Context(), e.cli, ref, changes, write); err != nil {
		t.Fatal(err)
	}
	return ref
}
