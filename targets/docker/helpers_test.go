package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/dockerengine"
	"github.com/hoistdev/hoist/targets/internal/session"

	"github.com/hoistdev/hoist/internal/dockertest"
)

// repoRoot is hoist's own checkout, two levels up from this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// syncBuffer collects target output; go:build writes from several
// goroutines at once, which a bare bytes.Buffer does not allow.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testConn is the targets' connection plus a raw client, with which the
// tests look at the daemon independently of the code under test.
type testConn struct {
	*conn
	cli *client.Client
}

// testConn connects to the daemon the test process's environment names,
// skipping the test when none answers unless HOIST_REQUIRE_DOCKER=1.
func newTestConn(t *testing.T) *testConn {
	t.Helper()
	env, err := config.ReadEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := clientOpts(env.Docker)
	if err != nil {
		t.Fatalf("clientOpts(environment) = %v", err)
	}
	eng, err := dockerengine.New(t.Context(), dockerengine.WithClientOpts(opts...))
	if err != nil {
		if os.Getenv("HOIST_REQUIRE_DOCKER") == "1" {
			t.Fatalf("dockerengine.New() = %v, want a reachable Docker Engine (HOIST_REQUIRE_DOCKER=1)", err)
		}
		t.Skipf("no Docker Engine: %v", err)
	}
	cli, err := client.New(append(opts, client.WithHost(eng.Host()))...)
	if err != nil {
		t.Fatal(err)
	}
	c := &testConn{conn: &conn{eng: eng}, cli: cli}
	t.Cleanup(func() { c.close(); cli.Close() })
	return c
}

// uniqueName gives an image name no other run uses, so parallel test
// processes and leftovers never collide.
func uniqueName(prefix string) string {
	return "hoist-test-" + prefix + "-" + strings.ToLower(rand.Text()[:10])
}

// removeImages removes refs when the test ends. t.Context is already
// cancelled by then, hence a context of its own.
func removeImages(t *testing.T, c *testConn, refs ...string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, r := range refs {
			if err := c.eng.RemoveImage(ctx, r, true); err != nil {
				t.Errorf("RemoveImage(%s) = %v, want nil", r, err)
			}
		}
	})
}

// isolateGit keeps the host's git configuration and any repository around
// the temporary directories away from the test repositories.
func isolateGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(t.TempDir()))
	for _, k := range []string{
		"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
		"GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE",
	} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", append([]string{"-C", dir}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// project is a throwaway copy of the reference service: hoist's cmd/web
// sources in their own module, committed to a fresh git repository.
type project struct {
	dir    string
	commit string
}

// newProject lays out the copy with extra files (e.g. the Dockerfile) and
// commits it.
func newProject(t *testing.T, version string, extra map[string]string) *project {
	t.Helper()
	isolateGit(t)
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/web\n\ngo 1.26\n",
		"VERSION": version + "\n",
	}
	srcs, err := filepath.Glob(filepath.Join(repoRoot(t), "cmd", "web", "*.go"))
	if err != nil || len(srcs) == 0 {
		t.Fatalf("find cmd/web sources: %v (found %d)", err, len(srcs))
	}
	for _, src := range srcs {
		if strings.HasSuffix(src, "_test.go") {
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		files["cmd/web/"+filepath.Base(src)] = string(b)
	}
	for k, v := range extra {
		files[k] = v
	}
	writeTree(t, dir, files)
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "config", "user.name", "Test User")
	git(t, dir, "config", "user.email", "test@example.com")
	git(t, dir, "config", "commit.gpgsign", "false")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "feat: the service")
	return &project{dir: dir, commit: git(t, dir, "rev-parse", "HEAD")}
}

// use makes the project the process's session, as a magefile run in its
// directory would, with env as the whole environment apart from the
// daemon and Go settings inherited from the test process. configure edits
// the resolved configuration the way a magefile's Configure would.
func (p *project) use(t *testing.T, env map[string]string, configure func(*config.Config)) (*session.Session, *syncBuffer) {
	t.Helper()
	t.Chdir(p.dir)
	for _, k := range []string{"DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION", "GOFLAGS"} {
		if _, set := env[k]; !set {
			if v := os.Getenv(k); v != "" {
				env[k] = v
			}
		}
	}
	out := &syncBuffer{}
	s, err := session.New(func(k string) string { return env[k] }, out)
	if err != nil {
		t.Fatalf("session.New(%s) = %v", p.dir, err)
	}
	if configure != nil {
		configure(&s.Cfg)
	}
	session.Use(s)
	return s, out
}

// runVersion runs an image with -version and returns what it printed, to
// see the stamps a build injected without starting the server.
func runVersion(t *testing.T, c *testConn, ref string) string {
	t.Helper()
	ctx := t.Context()
	created, err := c.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{Image: ref, Cmd: []string{"-version"}}})
	if err != nil {
		t.Fatalf("ContainerCreate(%s -version) = %v", ref, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.cli.ContainerRemove(ctx, created.ID, client.ContainerRemoveOptions{Force: true})
	})
	if _, err := c.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("ContainerStart(%s -version) = %v", ref, err)
	}
	wait := c.cli.ContainerWait(ctx, created.ID, client.ContainerWaitOptions{})
	select {
	case err := <-wait.Error:
		t.Fatalf("ContainerWait(%s -version) = %v", ref, err)
	case <-wait.Result:
	}
	return logsOf(t, c, created.ID)
}

// getJSON fetches url and decodes its JSON body into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
}

// The base-image helpers below are copied from dockerengine's tests: this

// importImage creates a single-layer image and removes it, with every
// image built on it, when the test ends.
func importImage(t *testing.T, c *testConn, ref string, changes []string, write func(*tar.Writer) error) {
	t.Helper()
	if err := dockertest.Import(t.Context(), c.cli, ref, changes, write); err != nil {
		t.Fatal(err)
	}
	info, err := c.eng.Image(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	removeTree(t, c, info.ID)
}

// removeTree removes an imported base image together with every image
// built on it when the test ends. The classic builder keeps each step of a
// build as an untagged child image, so removing only the tags would leave
// a builder stage's 150 MB behind on every run.
func removeTree(t *testing.T, c *testConn, id string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := c.cli.ImageList(ctx, client.ImageListOptions{All: true})
		if err != nil {
			t.Errorf("ImageList() = %v, want nil", err)
			return
		}
		children := map[string][]string{}
		for _, im := range res.Items {
			children[im.ParentID] = append(children[im.ParentID], im.ID)
		}
		// Leaves first: the daemon refuses to remove an image with children.
		var order []string
		var walk func(string)
		walk = func(id string) {
			for _, ch := range children[id] {
				walk(ch)
			}
			order = append(order, id)
		}
		walk(id)
		for _, im := range order {
			if err := c.eng.RemoveImage(ctx, im, true); err != nil {
				t.Errorf("RemoveImage(%s) = %v, want nil", im, err)
			}
		}
	})
}

// goBuilderImage stands in for golang:1.26-bookworm (see
// internal/dockertest), skipping the test without a static busybox.
func goBuilderImage(t *testing.T, c *testConn) string {
	t.Helper()
	ref, err := dockertest.EnsureGoBuilder(t.Context(), c.cli)
	if errors.Is(err, dockertest.ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// staticRuntimeImage stands in for distroless/static:nonroot.
func staticRuntimeImage(t *testing.T, c *testConn) string {
	t.Helper()
	changes, write := dockertest.StaticRuntime()
	ref := uniqueName("static") + ":1"
	importImage(t, c, ref, changes, write)
	return ref
}

// withVersion makes the session read VERSION from a file holding v, as if
// the project were at another version, and returns the function that puts
// the real VERSION back.
func withVersion(t *testing.T, s *session.Session, v string) func() {
	t.Helper()
	file := filepath.Join(t.TempDir(), "VERSION")
	if err := os.WriteFile(file, []byte(v+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prev := s.Cfg.VersionFile
	s.Cfg.VersionFile = file
	return func() { s.Cfg.VersionFile = prev }
}

// logsOf returns what a container printed.
func logsOf(t *testing.T, c *testConn, id string) string {
	t.Helper()
	r, err := c.cli.ContainerLogs(t.Context(), id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("ContainerLogs(%s) = %v", id, err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := stdcopy.StdCopy(&buf, &buf, r); err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(buf.String(), "\n")
}
