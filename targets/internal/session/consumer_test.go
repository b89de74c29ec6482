package session

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/registry"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for n, c := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestListsTool(t *testing.T) {
	const pkg = registry.ToolPackage
	tests := []struct {
		name, gomod string
		want        bool
	}{
		{name: "one line", gomod: "module m\n\ntool " + pkg + "\n", want: true},
		{name: "block", gomod: "module m\n\ntool (\n\tgithub.com/magefile/mage\n\t" + pkg + " // the registry\n)\n", want: true},
		{name: "block without space", gomod: "module m\ntool(\n" + pkg + "\n)\n", want: true},
		{name: "quoted", gomod: "module m\ntool \"" + pkg + "\"\n", want: true},
		{name: "other tools", gomod: "module m\ntool (\n\tgithub.com/magefile/mage\n)\nrequire " + pkg + " v1.0.0\n", want: false},
		{name: "commented out", gomod: "module m\n// tool " + pkg + "\n", want: false},
		{name: "no tools", gomod: "module m\n", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "go.mod")
			os.WriteFile(p, []byte(tt.gomod), 0o644)
			if got := listsTool(p, pkg); got != tt.want {
				t.Errorf("listsTool(%q) = %v, want %v", tt.gomod, got, tt.want)
			}
		})
	}
	if listsTool(filepath.Join(t.TempDir(), "go.mod"), pkg) {
		t.Error("listsTool(missing file) = true, want false")
	}
}

// TestRegistryDir checks that the embedded registry runs in the module that
// declares it as a tool, including a separate magefiles module.
func TestRegistryDir(t *testing.T) {
	dir := newRepo(t)
	s, _ := newSession(t, dir, nil, nil)
	if got := s.RegistryDir(); got != dir {
		t.Errorf("RegistryDir(no tool anywhere) = %s, want %s", got, dir)
	}
	if got := s.RegistryToolHint(); got != "" {
		t.Errorf("RegistryToolHint(no magefiles module) = %q, want none", got)
	}

	mf := filepath.Join(dir, "magefiles")
	writeFiles(t, mf, map[string]string{"go.mod": "module example.com/acme/svc/magefiles\n"})
	if got := s.RegistryToolHint(); !strings.Contains(got, "cd magefiles && go get -tool "+registry.ToolPackage) {
		t.Errorf("RegistryToolHint(magefiles module without the tool) = %q, want the command for magefiles/", got)
	}
	writeFiles(t, mf, map[string]string{"go.mod": "module example.com/acme/svc/magefiles\n\ntool " + registry.ToolPackage + "\n"})
	if got := s.RegistryDir(); got != mf {
		t.Errorf("RegistryDir(tool in magefiles/go.mod) = %s, want %s", got, mf)
	}
	writeFiles(t, dir, map[string]string{"go.mod": "module example.com/acme/svc\n\ngo 1.26\n\ntool " + registry.ToolPackage + "\n"})
	if got := s.RegistryDir(); got != dir {
		t.Errorf("RegistryDir(tool in both) = %s, want the module root %s", got, dir)
	}
	s.Cfg.Publish.EmbeddedCommand = []string{"/bin/hoist-registry"}
	if got := s.RegistryToolHint(); got != "" {
		t.Errorf("RegistryToolHint(own command) = %q, want none", got)
	}
}

// TestRunInsideMagefilesModule checks the message a consumer gets when mage
// runs the targets in magefiles/ instead of the module root.
func TestRunInsideMagefilesModule(t *testing.T) {
	dir := newRepo(t)
	mf := filepath.Join(dir, "magefiles")
	writeFiles(t, mf, map[string]string{"go.mod": "module example.com/acme/svc/magefiles\n", "magefile.go": "//go:build mage\n\npackage main\n"})
	Configure(func(c *config.Config) { c.Dir = mf })
	t.Cleanup(func() { configurers = nil })
	_, err := New(func(string) string { return "" }, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "-w ..") {
		t.Errorf("New(in magefiles module) = %v, want an error naming -w ..", err)
	}
	// A directory named magefiles that is the only module is a service.
	lone := filepath.Join(t.TempDir(), "magefiles")
	writeFiles(t, lone, map[string]string{"go.mod": "module example.com/magefiles\n"})
	if err := checkServiceModule(lone); err != nil {
		t.Errorf("checkServiceModule(lone module) = %v, want nil", err)
	}
	if err := checkServiceModule(filepath.Join(dir, "magefiles", "nope")); err != nil {
		t.Errorf("checkServiceModule(no go.mod) = %v, want nil", err)
	}
}

func TestImageMainCheckedEarly(t *testing.T) {
	dir := newRepo(t)
	Configure(func(c *config.Config) { c.Dir = dir; c.Image.Main = "api" })
	t.Cleanup(func() { configurers = nil })
	_, err := New(func(string) string { return "" }, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `Image.Main = "api"`) || !strings.Contains(err.Error(), "svc") {
		t.Errorf("New(Image.Main api) = %v, want an error naming Image.Main and the binary svc", err)
	}
	Configure(func(c *config.Config) { c.Image.Skip = true })
	if _, err := New(func(string) string { return "" }, &bytes.Buffer{}); err != nil {
		t.Errorf("New(Image.Main api, Image.Skip) = %v, want nil: no image, no entrypoint", err)
	}
}

// TestMageWarning builds binaries that carry a mage module version the way
// `go install github.com/magefile/mage@vX` does, from a tagged repository.
func TestMageWarning(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	build := func(tag string) string {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"go.mod":  "module github.com/magefile/mage\n\ngo 1.26\n",
			"main.go": "package main\n\nfunc main() {}\n",
		})
		for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-qm", "x"}, {"tag", tag}} {
			git(t, dir, args...)
		}
		out := filepath.Join(t.TempDir(), "mage")
		cmd := exec.CommandContext(t.Context(), "go", "build", "-buildvcs=true", "-o", out, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
		return out
	}
	old, current := build("v1.10.0"), build("v1.17.2")
	self, _ := os.Executable()
	tests := []struct {
		name, exe, want string
	}{
		{name: "old cli", exe: old, want: MageFix},
		{name: "current cli", exe: current},
		{name: "not mage", exe: self},
		{name: "unknown", exe: ""},
		{name: "missing", exe: filepath.Join(t.TempDir(), "gone")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mageWarning(tt.exe)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("mageWarning(%s) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
	if got := mageWarning(old); !strings.Contains(got, "v1.10.0") || !strings.Contains(got, "release:level") {
		t.Errorf("mageWarning(v1.10.0) = %q, want the version and the missing target", got)
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestStaticFiles checks the static-directory convention and that the
// image follows the content of those files, not only the binaries.
func TestStaticFiles(t *testing.T) {
	dir := newRepo(t)
	writeFiles(t, dir, map[string]string{
		"ui/index.html":           "<h1>v1</h1>\n",
		"ui/js/app.js":            "console.log(1)\n",
		"web/handler.go":          "package web\n",
		"static/src/package.json": "{}\n",
		"static/src/index.tsx":    "x\n",
		"public/.env":             "TOKEN=secret\n",
		"public/robots.txt":       "User-agent: *\n",
	})
	s, out := newSession(t, dir, map[string]string{"PLATFORMS": "linux/amd64"}, nil)
	files, err := s.staticFiles("image:build")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Src != "ui" || files[0].Dst != "/home/nonroot/ui" {
		t.Errorf("staticFiles() = %+v, want ui -> /home/nonroot/ui only", files)
	}
	for _, want := range []string{"static/ not copied into the image: it holds frontend sources (static/src/package.json)", "web/ not copied into the image: it is a Go package", "public/ not copied into the image: it holds a hidden file (public/.env)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("staticFiles() output = %q, want %q", out.String(), want)
		}
	}

	ctx := context.Background()
	if err := s.BuildBinaries(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := s.BuildImage(ctx, "image:build")
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.BuildImage(ctx, "image:build")
	if err != nil || !again.Skipped {
		t.Errorf("BuildImage(unchanged) skipped = %v, %v; want skipped", again != nil && again.Skipped, err)
	}
	writeFiles(t, dir, map[string]string{"ui/index.html": "<h1>v2</h1>\n"})
	changed, err := s.BuildImage(ctx, "image:build")
	if err != nil {
		t.Fatal(err)
	}
	if changed.Skipped || changed.Digest == first.Digest {
		t.Errorf("BuildImage(ui/index.html edited) = skipped %v, digest %s; want a new image", changed.Skipped, changed.Digest)
	}

	s.Cfg.Image.Files = []image.File{}
	none, err := s.BuildImage(ctx, "image:build")
	if err != nil {
		t.Fatal(err)
	}
	if none.Digest == changed.Digest {
		t.Error("BuildImage(Files empty) kept the static files, want none")
	}
	s.Cfg.Image.Files = []image.File{{Src: "missing", Dst: "/srv/missing"}}
	if _, err := s.BuildImage(ctx, "image:build"); err == nil || !strings.Contains(err.Error(), "Image.Files source") {
		t.Errorf("BuildImage(missing Src) = %v, want an error naming Image.Files", err)
	}
}

// TestParentExe checks that the process that started the test, go test or
// a shell, is found and not mistaken for an old mage CLI.
func TestParentExe(t *testing.T) {
	exe := parentExe()
	if runtime.GOOS == "linux" && exe == "" {
		t.Fatal("parentExe() = \"\", want the executable of the parent process")
	}
	if w := mageWarning(exe); w != "" {
		t.Errorf("mageWarning(parentExe() = %s) = %q, want none", exe, w)
	}
}
