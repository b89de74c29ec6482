package cachecmd

import (
	"bytes"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/hoistdev/hoist/gocache"
)

// goBuild is one `go build` of a tiny module with the cache program as
// GOCACHEPROG, GOCACHE empty.
type goBuild struct {
	stats  gocache.Stats
	stderr string
	binary []byte
	err    error
}

// build runs `go build` in module with prog (the test binary or a built
// hoist-cache) serving the local tier dir, plus flags.
func build(t *testing.T, module, prog string, asTestBinary bool, dir string, flags ...string) goBuild {
	t.Helper()
	tmp := t.TempDir()
	statsPath := filepath.Join(tmp, "stats.json")
	out := filepath.Join(tmp, "out")
	args := append([]string{prog, "-dir", dir, "-stats", statsPath}, flags...)
	// The go command splits GOCACHEPROG at spaces, minding quotes.
	for i, a := range args {
		switch {
		case !strings.ContainsAny(a, " \t'\""):
		case !strings.Contains(a, "'"):
			args[i] = "'" + a + "'"
		case !strings.Contains(a, `"`):
			args[i] = `"` + a + `"`
		default:
			t.Fatalf("argument %q cannot be quoted for GOCACHEPROG", a)
		}
	}
	cmd := exec.CommandContext(t.Context(), goTool(t), "build", "-trimpath", "-o", out, ".")
	cmd.Dir = module
	cmd.Env = append(os.Environ(),
		"GOCACHEPROG="+strings.Join(args, " "),
		"GOCACHE="+filepath.Join(tmp, "gocache"),
		"GOFLAGS=", "GOTOOLCHAIN=local", "GOWORK=off", "GO111MODULE=on", "CGO_ENABLED=0",
	)
	if asTestBinary {
		cmd.Env = append(cmd.Env, asProgEnv+"=1")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b := goBuild{err: cmd.Run(), stderr: stderr.String()}
	b.binary, _ = os.ReadFile(out)
	st, err := gocache.ReadStats(statsPath)
	if err != nil {
		t.Fatalf("go build: the cache program wrote no stats (%v); go build: %v\n%s", err, b.err, b.stderr)
	}
	b.stats = st
	return b
}

func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	return p
}

// tinyModule writes a one-package, standard-library-only main module, so
// a cold build compiles little more than the runtime.
func tinyModule(t *testing.T, greeting string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/tiny\n\ngo 1.26\n",
		"main.go": "package main\n\nfunc main() { println(" + `"` + greeting + `"` + ") }\n",
	}
	// The go command caches its index of a package directory only when the
	// files are more than two seconds old, keyed by their times: old, fixed
	// times make every build, the first included, look up the same entries.
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, past, past); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// copyDir copies a local tier, so that a scenario can start warm without
// rebuilding the runtime.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// registryProxy serves a real registry (go-containerregistry's) through a
// proxy that flips a byte in the next corruptNext blob downloads: damaged
// storage, which the registry cannot produce on demand. It returns the
// proxy's host:port.
func registryProxy(t *testing.T, corruptNext *atomic.Int32) string {
	t.Helper()
	backend := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(backend.Close)
	u, err := url.Parse(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodGet || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Request.URL.Path, "/blobs/sha256:") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if len(body) > 0 && corruptNext.Add(-1) >= 0 {
			body[len(body)/2] ^= 0xff
		} else {
			corruptNext.Store(0)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// closedPort is a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func linesContaining(s, sub string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// TestGoBuild runs the real go command against the cache program and a
// real registry: runners sharing the registry (two of them at once), a
// corrupt blob, a registry that is down, and the built command.
// The steps share the first build's results, so they run in order.
func TestGoBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command; skipped in -short mode")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	module := tinyModule(t, "hello from the cache")
	var corruptNext atomic.Int32
	repo := registryProxy(t, &corruptNext) + "/team/gocache"
	first := t.TempDir()
	var cold goBuild

	if !t.Run("cold build fills the local tier and the remote", func(t *testing.T) {
		cold = build(t, module, self, true, first, "-remote", repo)
		if cold.err != nil {
			t.Fatalf("go build: %v\n%s", cold.err, cold.stderr)
		}
		st := cold.stats
		if st.Misses == 0 || st.Puts == 0 || st.Hits() != 0 {
			t.Errorf("stats = %+v, want misses and puts and no hits on an empty cache", st)
		}
		if st.Uploads != st.Puts || st.RemoteErrors != 0 {
			t.Errorf("stats = %+v, want every put uploaded, no remote errors", st)
		}
		if cold.stderr != "" {
			t.Errorf("stderr = %q, want nothing", cold.stderr)
		}
	}) {
		t.FailNow()
	}

	// What a warm cache answers: the go command looks up a few things no
	// build stores (it does not cache executables), so those miss even here.
	var warm gocache.Stats
	if !t.Run("a rebuild on the same runner is local", func(t *testing.T) {
		b := build(t, module, self, true, first, "-remote", repo)
		if b.err != nil {
			t.Fatalf("go build: %v\n%s", b.err, b.stderr)
		}
		warm = b.stats
		t.Logf("warm stats: %v", warm)
		if warm.LocalHits == 0 || warm.RemoteHits != 0 || warm.Misses >= cold.stats.Misses {
			t.Errorf("stats = %+v, want local hits and far fewer misses than the cold build's %d", warm, cold.stats.Misses)
		}
		if !bytes.Equal(b.binary, cold.binary) {
			t.Error("binary from local hits differs from the cold build's")
		}
	}) {
		t.FailNow()
	}

	t.Run("two other runners at once get everything from the remote", func(t *testing.T) {
		var wg sync.WaitGroup
		runs := make([]goBuild, 2)
		for i := range runs {
			wg.Go(func() { runs[i] = build(t, module, self, true, t.TempDir(), "-remote", repo) })
		}
		wg.Wait()
		for i, b := range runs {
			if b.err != nil {
				t.Fatalf("runner %d: go build: %v\n%s", i, b.err, b.stderr)
			}
			st := b.stats
			if st.RemoteHits != warm.LocalHits || st.LocalHits != 0 || st.Misses != warm.Misses || st.BytesDownloaded == 0 || st.RemoteErrors != 0 {
				t.Errorf("runner %d: stats = %+v, want every hit of a warm local build (%d) from the remote, and only its %d misses", i, st, warm.LocalHits, warm.Misses)
			}
			if !bytes.Equal(b.binary, cold.binary) || len(b.binary) == 0 {
				t.Errorf("runner %d: binary from remote hits differs from the cold build's (%d and %d bytes)", i, len(b.binary), len(cold.binary))
			}
		}
	})

	t.Run("a corrupt remote object is rebuilt", func(t *testing.T) {
		corruptNext.Store(1)
		b := build(t, module, self, true, t.TempDir(), "-remote", repo)
		if b.err != nil {
			t.Fatalf("go build: %v\n%s", b.err, b.stderr)
		}
		t.Logf("stats: %v\nstderr:\n%s", b.stats, b.stderr)
		if got := linesContaining(b.stderr, "digest mismatch"); len(got) != 1 || !strings.Contains(got[0], "ignoring") {
			t.Errorf("stderr = %q, want one line ignoring the corrupt entry", b.stderr)
		}
		st := b.stats
		if st.Corrupt != 1 || st.Misses == 0 || st.Puts == 0 || st.RemoteHits == 0 || st.RemoteErrors != 0 {
			t.Errorf("stats = %+v, want 1 corrupt entry rebuilt and put, the rest remote hits", st)
		}
		if !bytes.Equal(b.binary, cold.binary) {
			t.Error("binary after rebuilding the corrupt entry differs from the cold build's")
		}
	})

	// A changed program misses on its own package; everything else is in a
	// warm copy of the first runner's local tier.
	changed := tinyModule(t, "changed")
	const down = "GET https://ci:hunter2@registry.example/v2/cache/manifests/x: dial tcp: connection refused"

	t.Run("a registry nobody answers at degrades to a local build", func(t *testing.T) {
		b := build(t, changed, self, true, copyDir(t, first), "-remote", closedPort(t)+"/team/gocache")
		if b.err != nil {
			t.Fatalf("go build with the registry down: %v\n%s", b.err, b.stderr)
		}
		if got := linesContaining(b.stderr, "falling back to building locally"); len(got) != 1 || strings.Count(b.stderr, "\n") != 1 {
			t.Errorf("stderr = %q, want exactly one line about falling back to building locally", b.stderr)
		}
		if st := b.stats; st.RemoteErrors != 1 || !st.RemoteDisabled || st.Puts == 0 || st.LocalHits == 0 || len(b.binary) == 0 {
			t.Errorf("stats = %+v, want 1 remote error, the remote off, local hits and puts, and a binary", st)
		}
	})

	// Credentials in an error never reach the output.
	t.Run("a remote that is down degrades to a local build", func(t *testing.T) {
		b := build(t, changed, self, true, copyDir(t, first), "-test-broken-remote", down)
		if b.err != nil {
			t.Fatalf("go build with the remote down: %v\n%s", b.err, b.stderr)
		}
		t.Logf("stats: %v\nstderr:\n%s", b.stats, b.stderr)
		if got := linesContaining(b.stderr, "falling back to building locally"); len(got) != 1 || strings.Count(b.stderr, "\n") != 1 {
			t.Errorf("stderr = %q, want exactly one line about falling back to building locally", b.stderr)
		}
		if strings.Contains(b.stderr, "hunter2") {
			t.Errorf("stderr %q shows the credential", b.stderr)
		}
		if st := b.stats; st.RemoteErrors != 1 || !st.RemoteDisabled || st.Puts == 0 || st.LocalHits == 0 {
			t.Errorf("stats = %+v, want 1 remote error, the remote off, local hits and puts", st)
		}
		if len(b.binary) == 0 {
			t.Error("no binary")
		}
	})

	t.Run("strict mode fails the build when the remote is down", func(t *testing.T) {
		b := build(t, changed, self, true, copyDir(t, first), "-test-broken-remote", down, "-strict")
		if b.err == nil {
			t.Fatalf("go build with -strict and the remote down succeeded, want a failure; stderr:\n%s", b.stderr)
		}
		t.Logf("stats: %v\nstderr:\n%s", b.stats, b.stderr)
		if !strings.Contains(b.stderr, "strict") || strings.Contains(b.stderr, "hunter2") {
			t.Errorf("stderr = %q, want the strict failure explained, without the credential", b.stderr)
		}
		if b.stats.RemoteErrors == 0 {
			t.Errorf("stats = %+v, want remote errors counted", b.stats)
		}
	})

	t.Run("the built command serves a warm local tier", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "hoist-cache")
		cmd := exec.CommandContext(t.Context(), goTool(t), "build", "-o", bin, "github.com/hoistdev/hoist/cmd/hoist-cache")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build hoist-cache: %v\n%s", err, out)
		}
		b := build(t, module, bin, false, copyDir(t, first))
		if b.err != nil {
			t.Fatalf("go build: %v\n%s", b.err, b.stderr)
		}
		if st := b.stats; st.LocalHits != warm.LocalHits || st.Misses != warm.Misses || st.RemoteHits != 0 || st.Remote != "" {
			t.Errorf("stats = %+v, want the warm build's %d local hits and %d misses, no remote", st, warm.LocalHits, warm.Misses)
		}
		if !bytes.Equal(b.binary, cold.binary) {
			t.Error("binary from local hits differs from the cold build's")
		}
	})
}
