package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/dockerengine"
	"github.com/hoistdev/hoist/targets/internal/session"
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

// testConn connects to the daemon the test process's environment names,
// skipping the test when none answers unless HOIST_REQUIRE_DOCKER=1.
func testConn(t *testing.T) *conn {
	t.Helper()
	opts, err := clientOpts(os.Getenv)
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
	c := &conn{eng: eng, cli: cli}
	t.Cleanup(func() { c.close() })
	return c
}

// uniqueName gives an image name no other run uses, so parallel test
// processes and leftovers never collide.
func uniqueName(prefix string) string {
	return "hoist-test-" + prefix + "-" + strings.ToLower(rand.Text()[:10])
}

// removeImages removes refs when the test ends. t.Context is already
// cancelled by then, hence a context of its own.
func removeImages(t *testing.T, c *conn, refs ...string) {
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
func runVersion(t *testing.T, c *conn, ref string) string {
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
	return c.logs(ctx, created.ID)
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
// machine cannot pull, so the Dockerfile's two bases are made locally.

type tarFile struct {
	name string
	mode int64
	body []byte // nil for directories
	link string
}

func writeTarFiles(tw *tar.Writer, files []tarFile) error {
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Size: int64(len(f.body))}
		switch {
		case f.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.link, 0
		case strings.HasSuffix(f.name, "/"):
			h.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.body); err != nil {
			return err
		}
	}
	return nil
}

var nonrootPasswd = []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")

// importImage creates a single-layer image from a tar stream through the
// Engine's import endpoint.
func importImage(t *testing.T, c *conn, ref string, changes []string, write func(*tar.Writer) error) {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := write(tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	rc, err := c.cli.ImageImport(t.Context(), client.ImageImportSource{Source: pr, SourceName: "-"}, ref, client.ImageImportOptions{Changes: changes})
	if err != nil {
		pr.CloseWithError(err)
		t.Fatalf("ImageImport(%s) = %v", ref, err)
	}
	defer rc.Close()
	// The stream reports failures as JSON messages, not HTTP errors.
	dec := json.NewDecoder(rc)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("ImageImport(%s) stream = %v", ref, err)
		}
		if m.Error != "" {
			t.Fatalf("ImageImport(%s) = %s", ref, m.Error)
		}
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
func removeTree(t *testing.T, c *conn, id string) {
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

// goBuilderImage stands in for golang:1.26-bookworm: the host's Go
// toolchain at /usr/local/go plus a static busybox as /bin/sh for RUN.
func goBuilderImage(t *testing.T, c *conn) string {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skipf("busybox (static) is needed for the builder base image: %v", err)
	}
	goroot, err := exec.CommandContext(t.Context(), "go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	root := strings.TrimSpace(string(goroot))
	bb, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	skip := map[string]bool{"test": true, "api": true, "doc": true, "misc": true, ".git": true, "src/cmd": true}

	ref := uniqueName("go-builder") + ":1"
	importImage(t, c, ref, []string{
		"ENV PATH=/usr/local/go/bin:/bin",
		"ENV GOTOOLCHAIN=local",
		"ENV GOPROXY=off",
		"ENV GOPATH=/go",
		"ENV GOCACHE=/tmp/go-cache",
		"WORKDIR /",
	}, func(tw *tar.Writer) error {
		if err := writeTarFiles(tw, []tarFile{
			{name: "bin/", mode: 0o755},
			{name: "bin/busybox", mode: 0o755, body: bb},
			{name: "bin/sh", link: "busybox"},
			{name: "tmp/", mode: 0o1777},
			{name: "root/", mode: 0o700},
			{name: "usr/", mode: 0o755},
			{name: "usr/local/", mode: 0o755},
		}); err != nil {
			return err
		}
		return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() && (skip[rel] || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			h, err := tar.FileInfoHeader(fi, "")
			if err != nil || !(fi.Mode().IsRegular() || fi.IsDir()) {
				return err
			}
			h.Name = "usr/local/go/" + rel
			if rel == "." {
				h.Name = "usr/local/go"
			}
			if fi.IsDir() {
				h.Name += "/"
			}
			h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if fi.Mode().IsRegular() {
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = io.Copy(tw, f)
				return err
			}
			return nil
		})
	})
	return ref
}

// staticRuntimeImage stands in for distroless/static:nonroot: no shell, a
// passwd file naming uid 65532, a sticky /tmp and the host's CA bundle.
func staticRuntimeImage(t *testing.T, c *conn) string {
	t.Helper()
	files := []tarFile{
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, body: nonrootPasswd},
		{name: "etc/group", mode: 0o644, body: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "tmp/", mode: 0o1777},
	}
	if ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		files = append(files,
			tarFile{name: "etc/ssl/", mode: 0o755},
			tarFile{name: "etc/ssl/certs/", mode: 0o755},
			tarFile{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, body: ca})
	}
	ref := uniqueName("static") + ":1"
	importImage(t, c, ref, []string{"USER 65532:65532"}, func(tw *tar.Writer) error {
		return writeTarFiles(tw, files)
	})
	return ref
}
