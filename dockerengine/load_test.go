package dockerengine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"
)

// assertRemoved fails when a smoke container outlived its run.
func assertRemoved(t *testing.T, e *Engine, id string) {
	t.Helper()
	if id == "" {
		t.Errorf("smoke run reported no container ID")
		return
	}
	_, err := e.cli.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	if !cerrdefs.IsNotFound(err) {
		t.Errorf("ContainerInspect(%s) after Smoke = %v, want not found (container removed)", shortID(id), err)
	}
}

// TestLoadAndSmoke covers the daemonless path end to end: real go build,
// an image assembled with go-containerregistry, tarball.Write, Load into
// the daemon, then smoke runs against the loaded image.
func TestLoadAndSmoke(t *testing.T) {
	var progress bytes.Buffer
	e := testEngine(t, WithOutput(&progress))
	ctx := t.Context()

	t0 := time.Now()
	bin := buildWeb(t, "0.1.0")
	t1 := time.Now()
	written := testRef(t, e, "web")
	alias := testRef(t, e, "web")
	img := webImage(t, bin, true)
	path := writeTarball(t, map[string]v1.Image{written: img, alias: img})
	t2 := time.Now()
	tagVersion, tagLatest := testRef(t, e, "web"), testRef(t, e, "web")
	if err := e.Load(ctx, path, tagVersion, tagLatest); err != nil {
		t.Fatalf("Load(%s, %s, %s) = %v, want nil", path, tagVersion, tagLatest, err)
	}
	t3 := time.Now()
	if !strings.Contains(progress.String(), "Loaded image: "+written) {
		t.Errorf("Load output = %q, want a %q line", progress.String(), "Loaded image: "+written)
	}

	v, err := e.Image(ctx, tagVersion)
	if err != nil {
		t.Fatalf("Image(%s) = %v", tagVersion, err)
	}
	l, err := e.Image(ctx, tagLatest)
	if err != nil {
		t.Fatalf("Image(%s) = %v", tagLatest, err)
	}
	if v.ID != l.ID {
		t.Errorf("Image(%s).ID = %s, Image(%s).ID = %s, want the same image", tagVersion, v.ID, tagLatest, l.ID)
	}
	size, err := e.ImageSize(ctx, tagVersion)
	if err != nil || size <= 0 || size != v.Size {
		t.Errorf("ImageSize(%s) = %d, %v; want %d, nil", tagVersion, size, err, v.Size)
	}
	t.Logf("daemonless path: go build %s, image+tarball %s, load %s, total %s; image size %d bytes (%.1f MiB)",
		t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), t3.Sub(t2).Round(time.Millisecond),
		t3.Sub(t0).Round(time.Millisecond), size, float64(size)/(1<<20))

	// An image without HEALTHCHECK, to exercise readiness over HTTP.
	plain := testRef(t, e, "web-plain")
	if err := e.Load(ctx, writeTarball(t, map[string]v1.Image{plain: webImage(t, bin, false)})); err != nil {
		t.Fatalf("Load(no healthcheck image) = %v", err)
	}

	t.Run("healthcheck passes", func(t *testing.T) {
		res, err := e.Smoke(t.Context(), SmokeOptions{Image: tagVersion, Version: "0.1.0", ReadOnly: true})
		if err != nil {
			t.Fatalf("Smoke(%s, 0.1.0) = %v, want nil", tagVersion, err)
		}
		if res.Readiness != "healthcheck" || res.Version != "0.1.0" || !strings.HasPrefix(res.URL, "http://127.0.0.1:") {
			t.Errorf("Smoke(%s) = %+v, want readiness healthcheck, version 0.1.0, a loopback URL", tagVersion, res)
		}
		t.Logf("smoke ready after %s (image interval 30s, smoke interval 1s)", res.Ready.Round(time.Millisecond))
		assertRemoved(t, e, res.ContainerID)
	})

	t.Run("wrong version fails with logs", func(t *testing.T) {
		_, err := e.Smoke(t.Context(), SmokeOptions{Image: tagVersion, Version: "9.9.9"})
		var se *SmokeError
		if !errors.As(err, &se) {
			t.Fatalf("Smoke(%s, 9.9.9) = %v, want a *SmokeError", tagVersion, err)
		}
		for _, want := range []string{`reported version "0.1.0", want "9.9.9"`, "container logs", "web 0.1.0 listening on :8080"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Smoke(%s, 9.9.9) error = %q, want it to contain %q", tagVersion, err, want)
			}
		}
		if se.HealthLog == "" || !strings.Contains(err.Error(), "exit 0") {
			t.Errorf("SmokeError.HealthLog = %q, want the passing checks listed", se.HealthLog)
		}
		assertRemoved(t, e, se.ContainerID)
	})

	tests := []struct {
		name    string
		opts    SmokeOptions
		wantErr []string // nil means success
		wantIs  error
	}{
		{
			name: "http readiness without healthcheck",
			opts: SmokeOptions{Image: plain, Version: "0.1.0"},
		},
		{
			name: "custom port and args",
			opts: SmokeOptions{Image: plain, Port: "9090/tcp", Args: []string{"-addr", ":9090"}, Env: []string{"X=1"}},
		},
		{
			name:    "container that exits is reported at once",
			opts:    SmokeOptions{Image: plain, Args: []string{"-version"}},
			wantErr: []string{"container stopped with exit code 0", "0.1.0 none unknown"},
		},
		{
			name:    "never ready times out",
			opts:    SmokeOptions{Image: plain, HealthPath: "/missing", Timeout: 1500 * time.Millisecond},
			wantErr: []string{"not ready in time", "404 Not Found"},
			wantIs:  context.DeadlineExceeded,
		},
		{
			name:    "version endpoint without JSON",
			opts:    SmokeOptions{Image: plain, VersionPath: "/healthz"},
			wantErr: []string{`want a JSON object with a "version" field, got "ok\n"`},
		},
		{
			name:    "version endpoint missing",
			opts:    SmokeOptions{Image: plain, VersionPath: "/nope"},
			wantErr: []string{"GET http://127.0.0.1:", "404 Not Found"},
		},
		{
			name:    "image not loaded",
			opts:    SmokeOptions{Image: "hoist-test/never-loaded:none"},
			wantErr: []string{"load or build it first"},
		},
		{
			name:    "no image",
			opts:    SmokeOptions{},
			wantErr: []string{"set SmokeOptions.Image"},
		},
		{
			name:    "malformed port",
			opts:    SmokeOptions{Image: plain, Port: "http"},
			wantErr: []string{"use a form like 8080/tcp"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.Smoke(t.Context(), tc.opts)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Smoke(%+v) = %v, want nil", tc.opts, err)
				}
				if res.Readiness != "http" {
					t.Errorf("Smoke(%+v).Readiness = %q, want http", tc.opts, res.Readiness)
				}
				assertRemoved(t, e, res.ContainerID)
				return
			}
			if err == nil {
				t.Fatalf("Smoke(%+v) = %+v, nil; want an error", tc.opts, res)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Smoke(%+v) = %q, want it to contain %q", tc.opts, err, w)
				}
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Smoke(%+v) = %v, want errors.Is %v", tc.opts, err, tc.wantIs)
			}
			if se := (*SmokeError)(nil); errors.As(err, &se) {
				assertRemoved(t, e, se.ContainerID)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	e := testEngine(t)
	dir := t.TempDir()
	notTar := filepath.Join(dir, "not.tar")
	if err := os.WriteFile(notTar, []byte("this is not a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}

	bin := buildWeb(t, "0.2.0")
	a, b := testRef(t, e, "web-a"), testRef(t, e, "web-b")
	two := writeTarball(t, map[string]v1.Image{a: webImage(t, bin, true), b: webImage(t, bin, false)})

	tests := []struct {
		name string
		path string
		tags []string
		want string
	}{
		{name: "missing file", path: filepath.Join(dir, "nope.tar"), want: "no such file"},
		{name: "malformed tag", path: two, tags: []string{"Web:UPPER"}, want: "use name[:tag], e.g. web:0.1.0"},
		{name: "digest as tag", path: two, tags: []string{"web@sha256:" + strings.Repeat("a", 64)}, want: "drop the @sha256"},
		{name: "not a tarball", path: notTar, want: "load " + notTar},
		{name: "two images cannot share tags", path: two, tags: []string{testRef(t, e, "web-ab")}, want: "more than one image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.Load(t.Context(), tc.path, tc.tags...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load(%s, %v) = %v, want an error containing %q", tc.path, tc.tags, err, tc.want)
			}
		})
	}

	// Without tags, a multi-image tarball loads fine: nothing is ambiguous.
	if err := e.Load(t.Context(), two); err != nil {
		t.Errorf("Load(%s) without tags = %v, want nil", two, err)
	}
	if err := e.RemoveImage(t.Context(), "hoist-test/never-loaded:none", false); err != nil {
		t.Errorf("RemoveImage(missing image) = %v, want nil: removal is idempotent", err)
	}
	if _, err := e.ImageSize(t.Context(), "hoist-test/never-loaded:none"); err == nil || !strings.Contains(err.Error(), "load or build it first") {
		t.Errorf("ImageSize(missing image) = %v, want a not-loaded error", err)
	}
}
