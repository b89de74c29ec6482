package session

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/config"
)

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
