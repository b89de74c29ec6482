package session

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/config"
)

// newRepo writes a throwaway module with one main package and commits it.
func newRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":          "module example.com/acme/svc\n\ngo 1.26\n",
		"VERSION":         "1.4.0\n",
		"cmd/svc/main.go": "package main\n\nimport \"fmt\"\n\nvar version, commit, date string\n\nfunc main() { fmt.Println(version, commit, date) }\n",
		"README.md":       "svc\n",
		".gitignore":      "/dist/\n",
	}
	for n, c := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"config", "user.name", "t"}, {"config", "user.email", "t@example.com"}, {"config", "commit.gpgsign", "false"}, {"config", "tag.gpgsign", "false"}, {"add", "."}, {"commit", "-qm", "feat: first"}} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
			"GIT_AUTHOR_DATE=2025-03-04T05:06:07Z", "GIT_COMMITTER_DATE=2025-03-04T05:06:07Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

// TestBuildImagePush runs the build, image and push steps the targets call,
// against an in-process registry.
func TestBuildImagePush(t *testing.T) {
	dir := newRepo(t)
	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	envs := map[string]string{
		"PLATFORMS": "linux/amd64,linux/arm64,windows/amd64",
		"REGISTRY":  host + "/acme",
		"HOME":      os.Getenv("HOME"),
	}
	var out bytes.Buffer
	Configure(func(c *config.Config) { c.Dir = dir; c.Publish.MinorTag = true; c.Publish.Latest = true })
	t.Cleanup(func() { configurers = nil })
	s, err := New(func(k string) string { return envs[k] }, &out)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if s.HasImage(ctx) {
		t.Error("HasImage() before any build = true")
	}
	if err := s.BuildBinaries(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BuildImage(ctx, "image:build"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PushImage(ctx, "image:push"); err != nil {
		t.Fatalf("push: %v\n%s", err, out.String())
	}
	log := out.String()
	for _, want := range []string{
		"go:build: svc", "no previous build", "image:build: index sha256:", "linux/arm64",
		host + "/acme/svc:1.4.0", host + "/acme/svc:1.4", host + "/acme/svc:latest",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("output lacks %q:\n%s", want, log)
		}
	}
	if runtime.GOOS+"/"+runtime.GOARCH == "linux/amd64" {
		got, err := exec.Command(filepath.Join(dir, "dist", "svc_linux_amd64", "svc")).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(got), "1.4.0 ") || !strings.Contains(string(got), "2025-03-04T05:06:07Z") {
			t.Errorf("stamped binary printed %q, want version 1.4.0 and the commit date", got)
		}
	}
	ref, _ := name.ParseReference(host + "/acme/svc:1.4.0")
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatalf("pull back: %v", err)
	}
	arts, err := artifact.Load(filepath.Join(dir, "dist", "artifacts.json"))
	if err != nil {
		t.Fatal(err)
	}
	idx := arts.Filter(artifact.ByType(artifact.ImageIndex))
	if len(idx) != 1 || idx[0].Digest != desc.Digest.String() {
		t.Errorf("artifacts.json index = %+v, registry has %s", idx, desc.Digest)
	}
	if n := len(arts.Filter(artifact.ByType(artifact.Binary))); n != 3 {
		t.Errorf("artifacts.json holds %d binaries, want 3", n)
	}
	if n := len(arts.Filter(artifact.ByType(artifact.ImagePush))); n != 4 {
		t.Errorf("artifacts.json holds %d pushed refs, want 4 (digest + 3 tags)", n)
	}

	// A second push in the same process reuses dist/image and uploads nothing.
	out.Reset()
	if _, err := s.PushImage(ctx, "image:push"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0 blobs uploaded") || !s.HasImage(ctx) {
		t.Errorf("re-push output = %q, want 0 blobs uploaded", out.String())
	}
	// The image step skips when nothing changed.
	out.Reset()
	if _, err := s.BuildImage(ctx, "image:build"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "skipped: up to date") {
		t.Errorf("image rebuild output = %q, want a skip", out.String())
	}
}
