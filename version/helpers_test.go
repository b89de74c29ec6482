package version

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// isolateGit keeps the host's git configuration and any repository the test
// binary happens to run inside (a hook sets GIT_DIR) away from the test
// repositories.
func isolateGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	// Stops git from finding a repository above the temporary directories,
	// so "not a repository" cases stay so wherever TMPDIR points.
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(t.TempDir()))
	for _, k := range []string{
		"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
		"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
		"GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE", "EMAIL",
	} {
		t.Setenv(k, "") // registers the restore
		os.Unsetenv(k)
	}
}

// testRepo is a real repository in a temporary directory.
type testRepo struct {
	t   testing.TB
	dir string
	n   int // makes every commit's file content unique
}

// newRepo creates an empty repository on branch main with an identity and no
// signing, as the brief for these tests asks.
func newRepo(t testing.TB) *testRepo {
	t.Helper()
	isolateGit(t)
	r := &testRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	r.git("config", "user.name", "Test User")
	r.git("config", "user.email", "test@example.com")
	r.git("config", "commit.gpgsign", "false")
	r.git("config", "tag.gpgsign", "false")
	r.git("config", "init.defaultBranch", "main")
	return r
}

// git runs a git command for test setup and fails the test if it fails.
func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	return r.gitEnv(nil, args...)
}

func (r *testRepo) gitEnv(env []string, args ...string) string {
	r.t.Helper()
	cmd := exec.CommandContext(r.t.Context(), "git", append([]string{"-C", r.dir}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// write creates or replaces a file relative to the repository.
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

// commit writes a file (so every commit has a change) and commits it with
// message, returning the new hash.
func (r *testRepo) commit(file, message string) string {
	r.t.Helper()
	r.n++
	r.write(file, fmt.Sprintf("%d %s\n", r.n, message))
	r.git("add", "--", file)
	r.git("commit", "-q", "--cleanup=verbatim", "-m", message)
	return r.git("rev-parse", "HEAD")
}
