package targets

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// TestTargetsThroughMage runs the Go and image targets with mage's real
// dependency machinery on a throwaway repository.
func TestTargetsThroughMage(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":       "module example.com/acme/svc\n\ngo 1.26\n",
		"VERSION":      "0.3.0\n",
		"main.go":      "package main\n\nvar version string\n\nfunc main() { println(version) }\n",
		"main_test.go": "package main\n\nimport \"testing\"\n\nfunc TestMain(t *testing.T) { main() }\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	git("add", ".")
	git("commit", "-qm", "first")

	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	envs := map[string]string{"PLATFORMS": "linux/amd64,darwin/arm64", "REGISTRY": strings.TrimPrefix(reg.URL, "http://"), "CI": "true"}
	session.Configure(func(c *config.Config) { c.Dir = dir; c.NoRace = true })
	var out bytes.Buffer
	s, err := session.New(func(k string) string { return envs[k] }, &out)
	if err != nil {
		t.Fatal(err)
	}
	session.Use(s)
	ctx := context.Background()
	for _, step := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"go:tidy", Go{}.Tidy}, {"go:vet", Go{}.Vet}, {"go:test", Go{}.Test}, {"image:push", Image{}.Push}, {"image:build", Image{}.Build},
	} {
		if err := step.run(ctx); err != nil {
			t.Fatalf("%s: %v\n%s", step.name, err, out.String())
		}
	}
	for _, want := range []string{"coverage by package", "go:build: svc", "skipping darwin/arm64", "/svc:0.3.0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
