package image

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestWriteTarballReadBack(t *testing.T) {
	res, err := Build(t.Context(), fakeBinaries(t, "web"), Config{Created: commitTime})
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	pi, ok := res.ForPlatform(arm64)
	if !ok {
		t.Fatalf("ForPlatform(linux/arm64) = not found")
	}
	path := filepath.Join(t.TempDir(), "out", "web.tar")
	if err := WriteTarball(t.Context(), path, "hoist/web:0.1.0", pi.Image); err != nil {
		t.Fatalf("WriteTarball() error = %v", err)
	}
	tag, _ := name.NewTag("hoist/web:0.1.0")
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("tarball.ImageFromPath() error = %v", err)
	}
	want, _ := pi.Image.ConfigName()
	if got, _ := img.ConfigName(); got != want {
		t.Errorf("tarball config digest = %s, want %s", got, want)
	}
	if got, want := layersOf(t, img), layersOf(t, pi.Image); len(got) != len(want) || mustDigest(t, got[1]) != mustDigest(t, want[1]) {
		t.Errorf("tarball layers differ from the built image's")
	}
	if _, ok := res.ForPlatform(amd64); !ok {
		t.Errorf("ForPlatform(linux/amd64) = not found")
	}
	if _, ok := res.ForPlatform(v1.Platform{OS: "linux", Architecture: "s390x"}); ok {
		t.Errorf("ForPlatform(linux/s390x) = found, want not found")
	}

	for _, tc := range []struct {
		name, path, tag string
		want            string
	}{
		{"bad tag", path, "Bad Tag", `"Bad Tag"`},
		{"dir is a file", filepath.Join(path, "x.tar"), "hoist/web:1", "write image tarball"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := WriteTarball(t.Context(), tc.path, tc.tag, pi.Image); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("WriteTarball(%s, %s) error = %v, want %q", tc.path, tc.tag, err, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := WriteTarball(ctx, path+".2", "hoist/web:1", pi.Image); err == nil {
		t.Errorf("WriteTarball(canceled) error = nil, want context canceled")
	}
	if _, err := os.Stat(path + ".2"); !os.IsNotExist(err) {
		t.Errorf("canceled WriteTarball left %s.2 (stat error %v)", path, err)
	}
}

// dockerAvailable reports whether a Docker daemon answers; tests skip
// without one unless HOIST_REQUIRE_DOCKER=1.
func dockerAvailable(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").Run()
	if err == nil {
		return
	}
	if os.Getenv("HOIST_REQUIRE_DOCKER") == "1" {
		t.Fatalf("no Docker daemon answers (%v) and HOIST_REQUIRE_DOCKER=1", err)
	}
	t.Skipf("no Docker daemon answers: %v", err)
}

// TestWriteTarballDockerLoad loads the tarball into the real daemon, checks
// the config Docker sees, and runs the binary as the image's user.
func TestWriteTarballDockerLoad(t *testing.T) {
	dockerAvailable(t)
	dist := t.TempDir()
	bin := goBuild(t, dist, "amd64")
	res, err := Build(t.Context(), []Binary{{Name: "hello", Platform: amd64, Path: bin}},
		Config{Created: commitTime, Version: "0.1.0", Healthcheck: &Healthcheck{Interval: 5 * time.Second}})
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	tag := fmt.Sprintf("hoist-image-test/hello:%d", os.Getpid())
	path := filepath.Join(dist, "hello.tar")
	if err := WriteTarball(t.Context(), path, tag, res.Images[0].Image); err != nil {
		t.Fatalf("WriteTarball() error = %v", err)
	}
	docker := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), "docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	docker("load", "-i", path)
	t.Cleanup(func() {
		_ = exec.Command("docker", "image", "rm", "-f", tag).Run()
	})
	var inspect []struct {
		Architecture string
		Config       struct {
			User        string
			Entrypoint  []string
			WorkingDir  string
			Labels      map[string]string
			Healthcheck struct{ Test []string }
		}
	}
	if err := json.Unmarshal([]byte(docker("image", "inspect", tag)), &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("docker image inspect: %v, %d results", err, len(inspect))
	}
	c := inspect[0].Config
	if c.User != "65532:65532" || strings.Join(c.Entrypoint, " ") != "/usr/local/bin/hello" || c.WorkingDir != "/home/nonroot" ||
		c.Labels[AnnotationVersion] != "0.1.0" || strings.Join(c.Healthcheck.Test, " ") != "CMD /usr/local/bin/hello -healthcheck" {
		t.Errorf("docker image inspect config = %+v, want nonroot user, entrypoint, workdir, version label, healthcheck", c)
	}
	if got := docker("run", "--rm", "--network", "none", tag); strings.TrimSpace(got) != "hello from 0.1.0" {
		t.Errorf("docker run %s = %q, want %q", tag, got, "hello from 0.1.0")
	}
	if got := docker("run", "--rm", "--network", "none", "--entrypoint", "/usr/local/bin/hello", tag, "-healthcheck"); got != "" {
		t.Errorf("docker run -healthcheck = %q, want no output", got)
	}
}
