package release

import (
	"fmt"
	"github.com/hoistdev/hoist/internal/giteatest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/platform"
)

// shared holds what several tests build once: compiled binaries are slow to
// make on a loaded machine and never modified by the tests.
var shared string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hoist-release-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared = dir
	// Keep the host's git configuration and any repository the test binary
	// runs inside away from the test repositories, once for the process,
	// so that tests that do not change the environment can run in
	// parallel.
	os.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	os.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir))
	for _, k := range gitIdentity {
		os.Unsetenv(k)
	}
	code := m.Run()
	giteatest.StopShared()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gitIdentity are the variables that would point git at another
// repository or give commits another identity or date.
var gitIdentity = []string{
	"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
	"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
	"GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE", "EMAIL",
}

// isolateGit skips a test on a machine without git; TestMain already keeps
// the host's git configuration away from the test repositories.
func isolateGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}

// testRepo is a real repository in a temporary directory.
type testRepo struct {
	t   testing.TB
	dir string
	n   int
}

// newRepo creates a repository on branch main with an identity, dist/
// ignored, VERSION at version and one commit.
func newRepo(t testing.TB, version string) *testRepo {
	t.Helper()
	isolateGit(t)
	r := &testRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	r.git("config", "user.name", "Test User")
	r.git("config", "user.email", "test@example.com")
	r.git("config", "commit.gpgsign", "false")
	r.git("config", "tag.gpgsign", "false")
	r.write(".gitignore", "/dist/\n")
	r.write("VERSION", version+"\n")
	r.git("add", ".gitignore", "VERSION")
	r.git("commit", "-q", "-m", "chore: start")
	return r
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.CommandContext(r.t.Context(), "git", append([]string{"-C", r.dir}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *testRepo) write(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// commit changes a file and commits it with message.
func (r *testRepo) commit(message string) string {
	r.t.Helper()
	r.n++
	name := fmt.Sprintf("file%d.txt", r.n)
	r.write(name, message+"\n")
	r.git("add", "--", name)
	r.git("commit", "-q", "-m", message)
	return r.git("rev-parse", "HEAD")
}

// repoState is everything a rollback must bring back.
type repoState struct {
	Status  string
	Head    string
	Branch  string
	Tags    string
	Version string
	Mode    os.FileMode
	Index   string
}

func (r *testRepo) state() repoState {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, "VERSION"))
	if err != nil {
		r.t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(r.dir, "VERSION"))
	if err != nil {
		r.t.Fatal(err)
	}
	return repoState{
		Status:  r.git("status", "--porcelain", "--untracked-files=all"),
		Head:    r.git("rev-parse", "HEAD"),
		Branch:  r.git("rev-parse", "--abbrev-ref", "HEAD"),
		Tags:    r.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/tags"),
		Version: string(b),
		Mode:    fi.Mode(),
		Index:   r.git("ls-files", "-s"),
	}
}

// testPlatforms cover both archive formats and a variant.
var testPlatforms = []platform.Platform{
	{OS: "linux", Arch: "amd64"},
	{OS: "linux", Arch: "arm", Variant: "v7"},
	{OS: "windows", Arch: "amd64"},
}

var (
	binOnce sync.Once
	binErr  error
)

// sharedBinaries builds a tiny program named "svc" for testPlatforms once,
// into shared/bin, with a real go build.
func sharedBinaries(t testing.TB) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go toolchain not on PATH")
	}
	root := filepath.Join(shared, "bin")
	binOnce.Do(func() {
		src := filepath.Join(shared, "src")
		files := map[string]string{
			"go.mod":  "module example.com/svc\n\ngo 1.24\n",
			"main.go": "package main\n\nvar version = \"dev\"\n\nfunc main() { println(version) }\n",
		}
		for name, content := range files {
			if binErr = os.MkdirAll(src, 0o755); binErr != nil {
				return
			}
			if binErr = os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); binErr != nil {
				return
			}
		}
		for _, p := range testPlatforms {
			out := filepath.Join(root, "dist", "svc_"+p.Slug(), p.Exe("svc"))
			cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w -X main.version=1.0.0", "-o", out, ".")
			cmd.Dir = src
			cmd.Env = append(os.Environ(), p.Env()...)
			cmd.Env = append(cmd.Env, "CGO_ENABLED=0", "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
			if b, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("go build for %s: %v\n%s", p, err, b)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return root
}

// copyFile copies src to dst, creating dst's directory.
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// packRoot makes a project root holding copies of the shared binaries under
// dist/, a README and a LICENSE, and returns it with the binary artifacts.
func packRoot(t testing.TB) (string, []artifact.Artifact) {
	t.Helper()
	bins := sharedBinaries(t)
	root := t.TempDir()
	var arts []artifact.Artifact
	for _, p := range testPlatforms {
		rel := filepath.Join("dist", "svc_"+p.Slug(), p.Exe("svc"))
		copyFile(t, filepath.Join(bins, rel), filepath.Join(root, rel))
		arts = append(arts, artifact.Artifact{Type: artifact.Binary, Name: "svc", Path: filepath.ToSlash(rel), Platform: p.String()})
	}
	for name, content := range map[string]string{"README.md": "# svc\n", "LICENSE": "MIT License\n\nPermission is hereby granted, free of charge, to any person...\n", "main.go": "package main\n"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, arts
}

// listDir returns the names under dir, recursively and slash-separated.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
