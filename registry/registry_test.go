package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// hoistRegistry is the hoist-registry binary built once for the package's
// tests, standing in for `go tool hoist-registry`.
var hoistRegistry string

func TestMain(m *testing.M) {
	if bin := os.Getenv("HOIST_TEST_PARENT_OF"); bin != "" {
		os.Exit(parentProcess(bin))
	}
	os.Exit(runTests(m))
}

// parentProcess starts a registry, prints its host and waits to be killed:
// the stand-in for a mage process that dies without stopping its child.
func parentProcess(bin string) int {
	p, err := Start(context.Background(), WithCommand(bin), WithDataDir(os.Getenv("HOIST_TEST_DATA")))
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println(p.Host())
	select {}
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hoist-registry-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	hoistRegistry = filepath.Join(dir, "hoist-registry")
	if runtime.GOOS == "windows" {
		hoistRegistry += ".exe"
	}
	build := exec.Command("go", "build", "-o", hoistRegistry, ToolPackage)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", ToolPackage, err, out)
		return 1
	}
	return m.Run()
}

func start(t *testing.T, opts ...Option) *Process {
	t.Helper()
	p, err := Start(t.Context(), append([]Option{WithCommand(hoistRegistry)}, opts...)...)
	if err != nil {
		t.Fatalf("Start() = %v, want nil", err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	return p
}

func TestStartPushStopRestart(t *testing.T) {
	dir := t.TempDir()
	p := start(t, WithDataDir(dir))
	if ok, _ := regexp.MatchString(`^127\.0\.0\.1:[1-9][0-9]*$`, p.Host()); !ok {
		t.Errorf("Host() = %q, want 127.0.0.1:PORT", p.Host())
	}
	if want := "http://" + p.Host(); p.URL() != want {
		t.Errorf("URL() = %q, want %q", p.URL(), want)
	}
	if p.DataDir() != dir {
		t.Errorf("DataDir() = %q, want %q", p.DataDir(), dir)
	}
	if err := Ping(t.Context(), p.Host()); err != nil {
		t.Fatalf("Ping(%s) = %v, want nil", p.Host(), err)
	}

	img, err := random.Image(32<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.ParseReference(p.Host() + "/hoist/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("remote.Write(%s) = %v", tag, err)
	}

	if err := p.Stop(t.Context()); err != nil {
		t.Fatalf("Stop() = %v, want nil", err)
	}
	select {
	case <-p.Done():
	default:
		t.Errorf("Done() still open after Stop returned")
	}
	if err := Ping(t.Context(), p.Host()); err == nil {
		t.Errorf("Ping(%s) after Stop = nil, want an error", p.Host())
	}
	if err := p.Stop(t.Context()); err != nil {
		t.Errorf("second Stop() = %v, want nil", err)
	}

	again := start(t, WithDataDir(dir))
	byDigest, err := name.ParseReference(again.Host() + "/hoist/app@" + want.String())
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(byDigest, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("remote.Image(%s) after restart = %v", byDigest, err)
	}
	if err := validate.Image(got); err != nil {
		t.Errorf("validate.Image(%s) after restart = %v", byDigest, err)
	}
}

func TestStartInUse(t *testing.T) {
	dir := t.TempDir()
	first := start(t, WithDataDir(dir))

	_, err := Start(t.Context(), WithCommand(hoistRegistry), WithDataDir(dir))
	inUse, ok := errors.AsType[*InUseError](err)
	if !ok {
		t.Fatalf("Start(same data dir) = %v, want *InUseError", err)
	}
	if inUse.Host != first.Host() || inUse.DataDir != dir || inUse.PID <= 0 {
		t.Errorf("Start(same data dir) = %+v, want Host %s, DataDir %s and a pid", *inUse, first.Host(), dir)
	}
	if !strings.Contains(err.Error(), "http://"+first.Host()) {
		t.Errorf("Start(same data dir) error = %q, want it to name the running registry", err)
	}
}

func TestStartChildFails(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want []string
	}{
		{
			name: "unknown flag",
			opts: []Option{WithCommand(hoistRegistry, "-bogus")},
			want: []string{"exited before it was ready", "exit status 2", "flag provided but not defined: -bogus"},
		},
		{
			name: "remote address",
			opts: []Option{WithCommand(hoistRegistry), WithAddr("0.0.0.0:0")},
			want: []string{"exit status 1", "no TLS and no authentication"},
		},
		{
			name: "missing binary",
			opts: []Option{WithCommand(filepath.Join(t.TempDir(), "no-such-registry"))},
			want: []string{"start registry", "no-such-registry"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(t.Context(), append(tt.opts, WithDataDir(t.TempDir()))...)
			if err == nil {
				t.Fatalf("Start(%s) = nil, want an error", tt.name)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Start(%s) = %q, want it to contain %q", tt.name, err, w)
				}
			}
			if strings.Contains(err.Error(), "go get -tool") {
				t.Errorf("Start(%s) = %q, want no go.mod hint for a custom command", tt.name, err)
			}
		})
	}
}

func TestStartDefaultCommandNamesFix(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	// A module without the tool directive: `go tool hoist-registry` fails.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/notool\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), WithDir(dir), WithDataDir(t.TempDir()))
	if err == nil {
		t.Fatal("Start(module without the tool) = nil, want an error")
	}
	for _, w := range []string{"go tool hoist-registry", "exited before it was ready", "go get -tool " + ToolPackage, "configure a destination registry"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Start(module without the tool) = %q, want it to contain %q", err, w)
		}
	}
}

// TestStartGoTool runs the default command in this module, whose go.mod
// lists hoist-registry as a tool: the path mage targets take.
func TestStartGoTool(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	p, err := Start(t.Context(), WithDir(".."), WithDataDir(dir))
	if err != nil {
		t.Fatalf("Start(go tool hoist-registry) = %v, want nil", err)
	}
	if p.DataDir() != dir {
		t.Errorf("DataDir() = %q, want %q", p.DataDir(), dir)
	}
	if err := Ping(t.Context(), p.Host()); err != nil {
		t.Errorf("Ping(%s) = %v, want nil", p.Host(), err)
	}
	// go tool relays SIGTERM and the child's exit status.
	if err := p.Stop(t.Context()); err != nil {
		t.Errorf("Stop() = %v, want nil", err)
	}
}

// The cases below need a child that misbehaves on purpose, which the real
// hoist-registry cannot be made to do; a shell script stands in for it.
func needShell(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh on PATH")
	}
}

func TestStartNotARegistry(t *testing.T) {
	needShell(t)
	_, err := Start(t.Context(), WithCommand("sh", "-c", "echo hello; sleep 30"), WithStopGrace(2*time.Second))
	if err == nil || !strings.Contains(err.Error(), `printed "hello" instead of its ready line`) {
		t.Errorf("Start(prints hello) = %v, want an error quoting the unexpected line", err)
	}
}

func TestStartTimeout(t *testing.T) {
	needShell(t)
	_, err := Start(t.Context(), WithCommand("sh", "-c", "echo warming up >&2; sleep 30"),
		WithStartTimeout(300*time.Millisecond), WithStopGrace(2*time.Second))
	if err == nil || !strings.Contains(err.Error(), "did not report ready within 300ms") || !strings.Contains(err.Error(), "warming up") {
		t.Errorf("Start(never ready) = %v, want a timeout error with the child's stderr", err)
	}
}

func TestStartContextDone(t *testing.T) {
	needShell(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := Start(ctx, WithCommand("sh", "-c", "sleep 30"), WithStopGrace(2*time.Second))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Start(ctx expires) = %v, want DeadlineExceeded", err)
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	needShell(t)
	script := `trap '' TERM; echo "hoist-registry listening on http://127.0.0.1:1 data=/nowhere"; while :; do sleep 0.05; done`
	p, err := Start(t.Context(), WithCommand("sh", "-c", script), WithStopGrace(300*time.Millisecond))
	if err != nil {
		t.Fatalf("Start() = %v", err)
	}
	if p.Host() != "127.0.0.1:1" || p.DataDir() != "/nowhere" {
		t.Errorf("Start() = host %q data %q, want 127.0.0.1:1 and /nowhere", p.Host(), p.DataDir())
	}
	err = p.Stop(t.Context())
	if err == nil || !strings.Contains(err.Error(), "killed after it did not exit within 300ms") {
		t.Errorf("Stop(child ignores SIGTERM) = %v, want a killed error", err)
	}
}

func TestContextEndStopsChild(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p, err := Start(ctx, WithCommand(hoistRegistry), WithDataDir(t.TempDir()))
	if err != nil {
		t.Fatalf("Start() = %v", err)
	}
	cancel()
	select {
	case <-p.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("child still running 30s after Start's context ended")
	}
	if err := Ping(t.Context(), p.Host()); err == nil {
		t.Errorf("Ping(%s) after context end = nil, want an error", p.Host())
	}
	if err := p.Stop(t.Context()); err != nil {
		t.Errorf("Stop() after context end = %v, want nil for a clean exit", err)
	}
}

// syncBuffer is written by the exec copy goroutine while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWithLogWriter(t *testing.T) {
	var logs syncBuffer
	p := start(t, WithDataDir(t.TempDir()), WithLogWriter(&logs))
	if err := Ping(t.Context(), p.Host()); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(t.Context()); err != nil {
		t.Fatalf("Stop() = %v", err)
	}
	if !strings.Contains(logs.String(), "response completed") {
		t.Errorf("WithLogWriter got %q, want the child's request log", logs.String())
	}
}

func TestPing(t *testing.T) {
	status := func(code int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) })
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name    string
		handler http.Handler // nil: nothing listens
		wantErr string
	}{
		{name: "registry", handler: ggcrregistry.New()},
		{name: "auth required", handler: status(http.StatusUnauthorized)},
		{name: "not a registry", handler: status(http.StatusNotFound), wantErr: "not an OCI registry"},
		{name: "nothing listening", wantErr: "ping registry " + closedAddr},
		{name: "bad host", wantErr: "ping registry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := closedAddr
			if tt.name == "bad host" {
				host = "bad host\x7f"
			}
			if tt.handler != nil {
				srv := httptest.NewServer(tt.handler)
				defer srv.Close()
				host = strings.TrimPrefix(srv.URL, "http://")
			}
			err := Ping(t.Context(), host)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Ping(%s) = %v, want nil", tt.name, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Ping(%s) = %v, want error containing %q", tt.name, err, tt.wantErr)
			}
		})
	}
}

func TestDefaultDataDir(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "explicit", env: map[string]string{"HOIST_REGISTRY_DATA": "/srv/reg", "XDG_DATA_HOME": "/x", "HOME": "/home/u"}, want: "/srv/reg"},
		{name: "explicit relative", env: map[string]string{"HOIST_REGISTRY_DATA": "reg"}, want: filepath.Join(cwd, "reg")},
		{name: "xdg", env: map[string]string{"XDG_DATA_HOME": "/x/share", "HOME": "/home/u"}, want: "/x/share/hoist/registry"},
		{name: "relative xdg ignored", env: map[string]string{"XDG_DATA_HOME": "share", "HOME": "/home/u"}, want: "/home/u/.local/share/hoist/registry"},
		{name: "home", env: map[string]string{"HOME": "/home/u"}, want: "/home/u/.local/share/hoist/registry"},
		{name: "nothing", env: map[string]string{}, wantErr: "set HOIST_REGISTRY_DATA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DefaultDataDir(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("DefaultDataDir(%v) = %q, %v; want error containing %q", tt.env, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != filepath.FromSlash(tt.want) {
				t.Errorf("DefaultDataDir(%v) = %q, %v; want %q", tt.env, got, err, tt.want)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []Option
		wantErr string
	}{
		{name: "empty command", opts: []Option{WithCommand()}, wantErr: "empty registry command"},
		{name: "empty addr", opts: []Option{WithAddr("")}, wantErr: "empty listen address"},
		{name: "zero timeout", opts: []Option{WithStartTimeout(0)}, wantErr: "must both be positive"},
		{name: "negative grace", opts: []Option{WithStopGrace(-time.Second)}, wantErr: "must both be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(t.Context(), tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Start(%s) = %v, want error containing %q", tt.name, err, tt.wantErr)
			}
		})
	}

	o, err := makeOptions()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"go", "tool", "hoist-registry"}, o.command); diff != "" {
		t.Errorf("default command (-want +got):\n%s", diff)
	}
	if o.addr != "127.0.0.1:0" || o.dataDir != "" {
		t.Errorf("default addr, data dir = %q, %q; want 127.0.0.1:0 and none", o.addr, o.dataDir)
	}
}

func TestLineWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{name: "split write", writes: []string{"hoist-reg", "istry listening\r\n", "more\n"}, want: "hoist-registry listening"},
		{name: "overlong line", writes: []string{strings.Repeat("x", maxLineBytes+1)}, want: strings.Repeat("x", maxLineBytes+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &lineWriter{c: make(chan string, 1)}
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write(%d bytes) = %d, %v", len(s), n, err)
				}
			}
			select {
			case got := <-w.c:
				if got != tt.want {
					t.Errorf("first line = %.40q, want %.40q", got, tt.want)
				}
			default:
				t.Errorf("no line delivered, want %.40q", tt.want)
			}
		})
	}
}

func TestTailBufferKeepsEnd(t *testing.T) {
	b := &tailBuffer{max: 8}
	for _, s := range []string{"0123", "456789", "ab"} {
		_, _ = b.Write([]byte(s))
	}
	if got := b.String(); got != "456789ab" {
		t.Errorf("tailBuffer{max: 8} after 12 bytes = %q, want %q", got, "456789ab")
	}
}

// TestDependencies keeps the parent side light: mage binaries import this
// package, so distribution must stay behind the process boundary.
func TestDependencies(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/distribution/distribution",
		"github.com/hoistdev/hoist/registry/server",
		"github.com/sirupsen/logrus",
		"go.opentelemetry.io/",
		"github.com/magefile/mage",
	}
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("registry depends on %s; it must not import %s (directly or transitively)", dep, f)
			}
		}
	}
}
