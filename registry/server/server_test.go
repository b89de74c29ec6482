package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/sirupsen/logrus"
)

// running is a served Server plus the means to stop it and see Serve's result.
type running struct {
	*Server
	cancel context.CancelFunc
	served chan error
}

// stop cancels Serve and returns what it returned.
func (r *running) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.served:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("Serve did not return 30s after its context was cancelled")
		return nil
	}
}

// serve starts a loopback server on dir and stops it when the test ends.
func serve(t testing.TB, dir string, opts ...Option) *running {
	t.Helper()
	base := []Option{WithAddr("127.0.0.1:0"), WithDataDir(dir), WithUploadPurge(false)}
	s, err := New(t.Context(), append(base, opts...)...)
	if err != nil {
		t.Fatalf("New(%s) = %v, want nil", dir, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Server: s, cancel: cancel, served: make(chan error, 1)}
	go func() { r.served <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		_ = s.Close(context.Background())
	})
	return r
}

func ref(t testing.TB, s *Server, repoAndRef string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s.Addr() + "/" + repoAndRef)
	if err != nil {
		t.Fatalf("ParseReference(%s) = %v", repoAndRef, err)
	}
	return r
}

func digestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatalf("Digest() = %v", err)
	}
	return h
}

// readBack pulls an image and an index by tag and by digest and validates
// every byte of them.
func readBack(t *testing.T, s *Server, imgDigest, idxDigest v1.Hash) {
	t.Helper()
	for _, r := range []string{"hoist/app:v1", "hoist/app@" + imgDigest.String()} {
		img, err := remote.Image(ref(t, s, r), remote.WithContext(t.Context()))
		if err != nil {
			t.Fatalf("remote.Image(%s) = %v", r, err)
		}
		if got := digestOf(t, img); got != imgDigest {
			t.Errorf("remote.Image(%s).Digest() = %s, want %s", r, got, imgDigest)
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("validate.Image(%s) = %v, want nil", r, err)
		}
	}
	for _, r := range []string{"hoist/multi:v1", "hoist/multi@" + idxDigest.String()} {
		idx, err := remote.Index(ref(t, s, r), remote.WithContext(t.Context()))
		if err != nil {
			t.Fatalf("remote.Index(%s) = %v", r, err)
		}
		if got := digestOf(t, idx); got != idxDigest {
			t.Errorf("remote.Index(%s).Digest() = %s, want %s", r, got, idxDigest)
		}
		if err := validate.Index(idx); err != nil {
			t.Errorf("validate.Index(%s) = %v, want nil", r, err)
		}
	}
}

func TestPushPullPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	first := serve(t, dir)

	img, err := random.Image(64<<10, 3)
	if err != nil {
		t.Fatalf("random.Image() = %v", err)
	}
	idx, err := random.Index(32<<10, 2, 2)
	if err != nil {
		t.Fatalf("random.Index() = %v", err)
	}
	opt := remote.WithContext(t.Context())
	if err := remote.Write(ref(t, first.Server, "hoist/app:v1"), img, opt); err != nil {
		t.Fatalf("remote.Write() = %v", err)
	}
	if err := remote.WriteIndex(ref(t, first.Server, "hoist/multi:v1"), idx, opt); err != nil {
		t.Fatalf("remote.WriteIndex() = %v", err)
	}
	imgDigest, idxDigest := digestOf(t, img), digestOf(t, idx)
	readBack(t, first.Server, imgDigest, idxDigest)

	if err := first.stop(t); err != nil {
		t.Fatalf("Serve() after cancel = %v, want nil", err)
	}
	if err := getV2(first.Addr()); err == nil {
		t.Errorf("GET %s/v2/ after shutdown succeeded, want connection refused", first.URL())
	}

	second := serve(t, dir)
	readBack(t, second.Server, imgDigest, idxDigest)

	repos, err := remote.Catalog(t.Context(), ref(t, second.Server, "x").Context().Registry)
	if err != nil {
		t.Fatalf("remote.Catalog() = %v", err)
	}
	if want := []string{"hoist/app", "hoist/multi"}; strings.Join(repos, ",") != strings.Join(want, ",") {
		t.Errorf("remote.Catalog() = %v, want %v", repos, want)
	}
	// Deletes are enabled so that hoist can clean up what it pushed.
	if err := remote.Delete(ref(t, second.Server, "hoist/app@"+imgDigest.String()), opt); err != nil {
		t.Errorf("remote.Delete(hoist/app@%s) = %v, want nil", imgDigest, err)
	}
	if _, err := remote.Head(ref(t, second.Server, "hoist/app@"+imgDigest.String()), opt); err == nil {
		t.Errorf("remote.Head(deleted manifest) = nil error, want not found")
	}
}

// getV2 reports whether something answers GET /v2/ at addr.
func getV2(addr string) error {
	resp, err := http.Get("http://" + addr + "/v2/")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

func TestAddrAndURL(t *testing.T) {
	dir := t.TempDir()
	s := serve(t, dir)
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Errorf("Addr() = %q, want 127.0.0.1 with the bound port", s.Addr())
	}
	if want := "http://" + s.Addr(); s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	if s.DataDir() != dir {
		t.Errorf("DataDir() = %q, want %q", s.DataDir(), dir)
	}
	if err := getV2(s.Addr()); err != nil {
		t.Errorf("GET %s/v2/ = %v, want 200", s.URL(), err)
	}
}

func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	first := serve(t, dir)

	_, err := New(t.Context(), WithAddr("127.0.0.1:0"), WithDataDir(dir))
	inUse, ok := errors.AsType[*InUseError](err)
	if !ok {
		t.Fatalf("New(same data dir) = %v, want *InUseError", err)
	}
	want := InUseError{DataDir: dir, PID: os.Getpid(), Addr: first.Addr()}
	if *inUse != want {
		t.Errorf("New(same data dir) = %+v, want %+v", *inUse, want)
	}
	if msg := err.Error(); !strings.Contains(msg, "http://"+first.Addr()) {
		t.Errorf("New(same data dir) error = %q, want it to name http://%s", msg, first.Addr())
	}

	if err := first.stop(t); err != nil {
		t.Fatalf("Serve() = %v, want nil", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, LockFile)); err != nil || len(b) != 0 {
		t.Errorf("lock file after Close = %q, %v; want empty", b, err)
	}
	// The lock goes with the owner, so the directory is usable again.
	serve(t, dir)
}

func TestInUseErrorWhileStarting(t *testing.T) {
	err := &InUseError{DataDir: "/d", PID: 7}
	if msg := err.Error(); !strings.Contains(msg, "still starting") || !strings.Contains(msg, "pid 7") {
		t.Errorf("InUseError{no addr}.Error() = %q, want it to say the owner is still starting", msg)
	}
}

func TestLockFileNamesOwner(t *testing.T) {
	dir := t.TempDir()
	s := serve(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, LockFile))
	if err != nil {
		t.Fatal(err)
	}
	var info lockInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatalf("lock file %q is not JSON: %v", b, err)
	}
	if want := (lockInfo{PID: os.Getpid(), Addr: s.Addr()}); info != want {
		t.Errorf("lock file = %+v, want %+v", info, want)
	}
}

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		opts    []Option
		wantErr string // empty: accepted
	}{
		{name: "localhost", opts: []Option{WithAddr("localhost:0")}},
		{name: "ipv4 loopback", opts: []Option{WithAddr("127.0.0.1:5000")}},
		{name: "ipv6 loopback", opts: []Option{WithAddr("[::1]:0")}},
		{name: "default addr", opts: nil},
		{name: "remote allowed", opts: []Option{WithAddr("0.0.0.0:5000"), WithAllowRemote(true)}},
		{name: "all interfaces", opts: []Option{WithAddr(":5000")}, wantErr: "every interface"},
		{name: "unspecified ip", opts: []Option{WithAddr("0.0.0.0:5000")}, wantErr: "WithAllowRemote(true)"},
		{name: "lan ip", opts: []Option{WithAddr("192.0.2.10:5000")}, wantErr: "no TLS and no authentication"},
		{name: "hostname", opts: []Option{WithAddr("example.com:5000")}, wantErr: "listen on localhost or 127.0.0.1"},
		{name: "no port", opts: []Option{WithAddr("localhost")}, wantErr: "use HOST:PORT"},
		{name: "no data dir", opts: []Option{WithDataDir("")}, wantErr: "pass WithDataDir"},
		{name: "zero shutdown timeout", opts: []Option{WithShutdownTimeout(0)}, wantErr: "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := makeOptions(append([]Option{WithDataDir(dir)}, tt.opts...)...)
			if tt.wantErr == "" {
				if err != nil || o == nil {
					t.Errorf("makeOptions(%s) = %v, want accepted", tt.name, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("makeOptions(%s) = %v, want error containing %q", tt.name, err, tt.wantErr)
			}
		})
	}
}

func TestNewRefusesRemoteAddr(t *testing.T) {
	dir := t.TempDir()
	_, err := New(t.Context(), WithAddr("0.0.0.0:0"), WithDataDir(dir))
	if err == nil || !strings.Contains(err.Error(), "WithAllowRemote") {
		t.Fatalf("New(0.0.0.0:0) = %v, want a refusal naming WithAllowRemote", err)
	}
	if _, err := os.Stat(filepath.Join(dir, LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("New(refused) left a lock file behind: %v", err)
	}
}

func TestNewPortTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	_, err = New(t.Context(), WithAddr(busy.Addr().String()), WithDataDir(dir))
	if err == nil || !strings.Contains(err.Error(), "choose another address") {
		t.Fatalf("New(taken port) = %v, want a listen error that suggests another address", err)
	}
	// The failed attempt must not keep the data dir locked.
	serve(t, dir)
}

func TestNewDataDirNotCreatable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(t.Context(), WithAddr("127.0.0.1:0"), WithDataDir(filepath.Join(file, "sub")))
	if err == nil || !strings.Contains(err.Error(), "create data dir") {
		t.Errorf("New(data dir under a file) = %v, want a create data dir error", err)
	}
}

func TestCloseWithoutServe(t *testing.T) {
	dir := t.TempDir()
	s, err := New(t.Context(), WithAddr("127.0.0.1:0"), WithDataDir(dir), WithUploadPurge(false))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if err := getV2(s.Addr()); err == nil {
		t.Errorf("GET %s/v2/ after Close succeeded, want the listener closed", s.URL())
	}
	if err := s.Serve(t.Context()); err != nil {
		t.Errorf("Serve() after Close = %v, want nil", err)
	}
	if err := s.Serve(t.Context()); err == nil {
		t.Errorf("second Serve() = nil, want an error")
	}
	serve(t, dir) // lock released
}

func TestCloseWhileServing(t *testing.T) {
	s := serve(t, t.TempDir())
	if err := s.Close(t.Context()); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	select {
	case err := <-s.served:
		if err != nil {
			t.Errorf("Serve() after Close = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve() did not return after Close")
	}
}

func TestShutdownTimeoutCutsSlowRequests(t *testing.T) {
	s, err := New(t.Context(), WithAddr("127.0.0.1:0"), WithDataDir(t.TempDir()), WithUploadPurge(false))
	if err != nil {
		t.Fatal(err)
	}
	// A client that sent half a request keeps its connection active.
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background()) }()
	if _, err := conn.Write([]byte("GET /v2/ HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server start reading
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err = s.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close(short deadline) with an active connection = %v, want DeadlineExceeded", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve() = %v, want nil", err)
	}
}

func TestSilentByDefault(t *testing.T) {
	// distribution falls back to logrus' standard logger; capture it to prove
	// the server never reaches it.
	var global bytes.Buffer
	std := logrus.StandardLogger()
	oldOut, oldLevel := std.Out, std.GetLevel()
	std.SetOutput(&global)
	std.SetLevel(logrus.DebugLevel)
	t.Cleanup(func() { std.SetOutput(oldOut); std.SetLevel(oldLevel) })

	s := serve(t, t.TempDir())
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref(t, s.Server, "quiet/img:v1"), img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("remote.Write() = %v", err)
	}
	if _, err := remote.Image(ref(t, s.Server, "quiet/missing:v1"), remote.WithContext(t.Context())); err == nil {
		t.Fatalf("remote.Image(missing) = nil error, want not found")
	}
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	if global.Len() != 0 {
		t.Errorf("logrus standard logger got %q, want nothing", global.String())
	}
}

func TestWithLogger(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := serve(t, t.TempDir(), WithLogger(l))
	if err := getV2(s.Addr()); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Image(ref(t, s.Server, "logged/missing:v1"), remote.WithContext(t.Context())); err == nil {
		t.Fatal("remote.Image(missing) = nil error, want not found")
	}
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	var completed, unknown, debug bool
	for line := range strings.Lines(buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		switch {
		case rec["msg"] == "response completed" && rec["http.request.uri"] == "/v2/" && rec["level"] == "INFO":
			completed = true
		case rec["level"] == "ERROR" && rec["err.code"] == "manifest unknown" && rec["http.response.status"] == 404.0:
			unknown = true
		case rec["level"] == "DEBUG":
			debug = true
		}
	}
	if !completed || !unknown || !debug {
		t.Errorf("WithLogger output: request log %t, manifest-unknown error %t, debug %t; want all true; log:\n%s",
			completed, unknown, debug, buf.String())
	}
}

func TestLogLevelFollowsSlog(t *testing.T) {
	tests := []struct {
		name  string
		level slog.Level
		want  logrus.Level
	}{
		{name: "debug", level: slog.LevelDebug, want: logrus.DebugLevel},
		{name: "info", level: slog.LevelInfo, want: logrus.InfoLevel},
		{name: "warn", level: slog.LevelWarn, want: logrus.WarnLevel},
		{name: "error", level: slog.LevelError, want: logrus.ErrorLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := slog.New(slog.NewTextHandler(new(bytes.Buffer), &slog.HandlerOptions{Level: tt.level}))
			if got := logrusLevel(l); got != tt.want {
				t.Errorf("logrusLevel(slog %s) = %s, want %s", tt.level, got, tt.want)
			}
			if got := slogLevel(tt.want); got != tt.level {
				t.Errorf("slogLevel(%s) = %s, want %s", tt.want, got, tt.level)
			}
		})
	}
}

func TestNoTelemetryExport(t *testing.T) {
	// Point every OpenTelemetry exporter knob at a local collector: nothing
	// may arrive, because the server never initialises tracing.
	var hits atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer collector.Close()
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_METRICS_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)

	s := serve(t, t.TempDir())
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref(t, s.Server, "otel/img:v1"), img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("remote.Write() = %v", err)
	}
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("OTLP collector received %d requests, want 0", n)
	}
}
