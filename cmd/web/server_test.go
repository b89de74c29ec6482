package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testInfo is fixed so response bodies can be compared byte for byte.
var testInfo = buildInfo{
	Version: "v1.2.3-test",
	Commit:  "abc1234",
	Date:    "2025-01-02T03:04:05Z",
	Go:      "go1.99",
	OS:      "plan9",
	Arch:    "mips",
}

// syncBuffer collects log output written from server goroutines.
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

// logLines decodes JSON log output into one map per line.
func logLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for line := range strings.Lines(s) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("json.Unmarshal(%q) = %v, want a JSON log line", line, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func readyFlag(v bool) *atomic.Bool {
	var b atomic.Bool
	b.Store(v)
	return &b
}

func TestRoutes(t *testing.T) {
	srv := httptest.NewServer(newHandler(testInfo, readyFlag(true), discardLogger()))
	t.Cleanup(srv.Close)

	const textType = "text/plain; charset=utf-8"
	tests := []struct {
		name      string
		method    string
		path      string
		wantCode  int
		wantType  string
		wantBody  string
		wantAllow string
	}{
		{name: "greeting", method: "GET", path: "/", wantCode: 200, wantType: textType, wantBody: "hello from web v1.2.3-test\n"},
		{name: "healthz", method: "GET", path: "/healthz", wantCode: 200, wantType: textType, wantBody: "ok\n"},
		{name: "healthz head", method: "HEAD", path: "/healthz", wantCode: 200, wantType: textType, wantBody: ""},
		{name: "readyz", method: "GET", path: "/readyz", wantCode: 200, wantType: textType, wantBody: "ready\n"},
		{
			name: "version", method: "GET", path: "/version", wantCode: 200, wantType: "application/json",
			wantBody: `{"version":"v1.2.3-test","commit":"abc1234","date":"2025-01-02T03:04:05Z","go":"go1.99","os":"plan9","arch":"mips"}` + "\n",
		},
		{name: "unknown path", method: "GET", path: "/nope", wantCode: 404, wantType: textType, wantBody: "404 page not found\n"},
		{name: "subpath of route", method: "GET", path: "/healthz/more", wantCode: 404, wantType: textType, wantBody: "404 page not found\n"},
		{name: "post healthz", method: "POST", path: "/healthz", wantCode: 405, wantType: textType, wantBody: "Method Not Allowed\n", wantAllow: "GET, HEAD"},
		{name: "delete root", method: "DELETE", path: "/", wantCode: 405, wantType: textType, wantBody: "Method Not Allowed\n", wantAllow: "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.path, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("read body of %s %s: %v", tt.method, tt.path, err)
			}
			if resp.StatusCode != tt.wantCode {
				t.Errorf("%s %s status = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.wantCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("%s %s Content-Type = %q, want %q", tt.method, tt.path, got, tt.wantType)
			}
			if string(body) != tt.wantBody {
				t.Errorf("%s %s body = %q, want %q", tt.method, tt.path, body, tt.wantBody)
			}
			if got := resp.Header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("%s %s Allow = %q, want %q", tt.method, tt.path, got, tt.wantAllow)
			}
		})
	}
}

func TestVersionRouteDecodes(t *testing.T) {
	rec := httptest.NewRecorder()
	newHandler(currentBuild(), readyFlag(true), discardLogger()).ServeHTTP(rec, httptest.NewRequest("GET", "/version", nil))
	var got buildInfo
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("json.Unmarshal(%q) = %v, want nil", rec.Body, err)
	}
	if want := currentBuild(); got != want {
		t.Errorf("GET /version = %+v, want %+v", got, want)
	}
}

func TestReadyzNotReady(t *testing.T) {
	rec := httptest.NewRecorder()
	newHandler(testInfo, readyFlag(false), discardLogger()).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz status = %d, want %d", rec.Code, http.StatusServiceUnavailable)
	}
	if got, want := rec.Body.String(), "shutting down\n"; got != want {
		t.Errorf("GET /readyz body = %q, want %q", got, want)
	}
}

func TestAccessLog(t *testing.T) {
	var logs syncBuffer
	h := newHandler(testInfo, readyFlag(true), slog.New(slog.NewJSONHandler(&logs, nil)))
	for _, target := range []string{"/healthz?token=s3cret", "/missing", "/version"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", target, nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", "/readyz", nil))

	out := logs.String()
	if strings.Contains(out, "s3cret") {
		t.Errorf("access log = %q, want no query string values", out)
	}
	type entry struct {
		method, path string
		status       float64
	}
	want := []entry{
		{"GET", "/healthz", 200},
		{"GET", "/missing", 404},
		{"GET", "/version", 200},
		{"PUT", "/readyz", 405},
	}
	lines := logLines(t, out)
	if len(lines) != len(want) {
		t.Fatalf("access log has %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, line := range lines {
		got := entry{line["method"].(string), line["path"].(string), line["status"].(float64)}
		if got != want[i] || line["msg"] != "request" {
			t.Errorf("access log line %d = %v (msg %v), want %v (msg request)", i, got, line["msg"], want[i])
		}
		if d, ok := line["duration"].(float64); !ok || d < 0 {
			t.Errorf("access log line %d duration = %v, want a non-negative number", i, line["duration"])
		}
	}
}

func TestStatusWriterKeepsFirstStatus(t *testing.T) {
	rec := httptest.NewRecorder()
	sw := &statusWriter{ResponseWriter: rec, status: http.StatusOK}
	sw.WriteHeader(http.StatusTeapot)
	sw.WriteHeader(http.StatusInternalServerError) // superfluous; net/http ignores it too
	if sw.status != http.StatusTeapot {
		t.Errorf("statusWriter.status = %d, want %d", sw.status, http.StatusTeapot)
	}
	if sw.Unwrap() != rec {
		t.Errorf("statusWriter.Unwrap() = %v, want the wrapped recorder", sw.Unwrap())
	}
}

func TestNewServerSetsTimeouts(t *testing.T) {
	srv := newServer(http.NotFoundHandler(), discardLogger())
	timeouts := map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout,
		"ReadTimeout":       srv.ReadTimeout,
		"WriteTimeout":      srv.WriteTimeout,
		"IdleTimeout":       srv.IdleTimeout,
	}
	for name, d := range timeouts {
		if d <= 0 {
			t.Errorf("newServer().%s = %v, want > 0", name, d)
		}
	}
	if srv.ErrorLog == nil {
		t.Error("newServer().ErrorLog = nil, want server errors routed to slog")
	}
}

// slowRoute adds GET /slow, which signals entered and then blocks until
// release is closed, standing in for a long request during shutdown.
func slowRoute(next http.Handler, entered chan<- struct{}, release <-chan struct{}) http.Handler {
	var once sync.Once
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			next.ServeHTTP(w, r)
			return
		}
		once.Do(func() { close(entered) })
		select {
		case <-release:
			writeText(w, http.StatusOK, "slow done\n")
		case <-r.Context().Done():
		}
	})
}

type result struct {
	code int
	body string
	err  error
}

// get runs a GET in the background; the client keeps no idle connections
// so it cannot hold the server's drain open.
func get(ctx context.Context, url string) <-chan result {
	c := make(chan result, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			c <- result{err: err}
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			c <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		c <- result{code: resp.StatusCode, body: string(b), err: err}
	}()
	return c
}

func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("net.Listen(127.0.0.1:0) = %v", err)
	}
	return ln
}

// waitFor polls cond until it holds or the test's patience runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

func TestServeDrainsInFlightRequest(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	var ready atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	h := newHandler(testInfo, &ready, logger)
	ln := listenLocal(t)
	addr := ln.Addr().String()

	ctx, cancel := context.WithCancelCause(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, slowRoute(h, entered, release), &ready, logger, 0, 10*time.Second) }()

	if r := <-get(t.Context(), "http://"+addr+"/readyz"); r.err != nil || r.code != http.StatusOK {
		t.Fatalf("GET /readyz before shutdown = %d, %v, want 200", r.code, r.err)
	}
	inflight := get(t.Context(), "http://"+addr+"/slow")
	<-entered

	cancel(errors.New("test shutdown"))
	waitFor(t, "the listener to refuse connections", func() bool { return refused(addr) })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz during shutdown = %d, want %d", rec.Code, http.StatusServiceUnavailable)
	}
	select {
	case err := <-done:
		t.Fatalf("serve() = %v before the in-flight request finished, want it to wait", err)
	case <-time.After(50 * time.Millisecond):
	}

	close(release)
	if r := <-inflight; r.err != nil || r.code != http.StatusOK || r.body != "slow done\n" {
		t.Errorf("in-flight GET /slow = %d %q, %v, want 200 %q, nil", r.code, r.body, r.err, "slow done\n")
	}
	if err := <-done; err != nil {
		t.Errorf("serve() = %v, want nil after a complete drain", err)
	}
	if !strings.Contains(logs.String(), `"cause":"test shutdown"`) {
		t.Errorf("serve logs = %s, want a shutdown line with the cause", logs.String())
	}
}

// TestServeDrainDelay starts requests during the drain delay: /readyz
// already says 503 so a load balancer stops sending, but requests that
// still arrive are served, and only after the delay does the listener
// close.
func TestServeDrainDelay(t *testing.T) {
	var ready atomic.Bool
	h := newHandler(testInfo, &ready, discardLogger())
	ln := listenLocal(t)
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancelCause(t.Context())
	done := make(chan error, 1)
	const delay = 600 * time.Millisecond
	go func() { done <- serve(ctx, ln, h, &ready, discardLogger(), delay, 5*time.Second) }()
	if r := <-get(t.Context(), "http://"+addr+"/readyz"); r.code != http.StatusOK {
		t.Fatalf("GET /readyz before shutdown = %d, %v", r.code, r.err)
	}
	start := time.Now()
	cancel(errors.New("SIGTERM"))
	waitFor(t, "readiness to drop", func() bool {
		r := <-get(t.Context(), "http://"+addr+"/readyz")
		return r.code == http.StatusServiceUnavailable
	})
	// A request that starts during the delay is served, not refused.
	if r := <-get(t.Context(), "http://"+addr+"/healthz"); r.err != nil || r.code != http.StatusOK {
		t.Errorf("GET /healthz during the drain delay = %d, %v, want 200", r.code, r.err)
	}
	if time.Since(start) < delay {
		select {
		case err := <-done:
			t.Fatalf("serve() returned %v before the drain delay was over", err)
		default:
		}
	}
	if err := <-done; err != nil {
		t.Errorf("serve() = %v", err)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("serve() stopped after %v, before the %v delay", took, delay)
	}
	if !refused(addr) {
		t.Error("the listener still accepts after serve returned")
	}
}

func TestServeDrainTimeout(t *testing.T) {
	var ready atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(release) })
	ln := listenLocal(t)
	h := slowRoute(newHandler(testInfo, &ready, discardLogger()), entered, release)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, &ready, discardLogger(), 0, 50*time.Millisecond) }()
	inflight := get(t.Context(), "http://"+ln.Addr().String()+"/slow")
	<-entered
	cancel()

	err := <-done
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "-shutdown-timeout") {
		t.Errorf("serve() = %v, want context.DeadlineExceeded with a -shutdown-timeout hint", err)
	}
	if r := <-inflight; r.err == nil {
		t.Errorf("GET /slow past the drain timeout = %d %q, want a connection error", r.code, r.body)
	}
	if ready.Load() {
		t.Error("ready after serve returned = true, want false")
	}
}

func TestServeListenerFailure(t *testing.T) {
	ln := listenLocal(t)
	ln.Close()
	var ready atomic.Bool
	err := serve(t.Context(), ln, http.NotFoundHandler(), &ready, discardLogger(), 0, time.Second)
	if !errors.Is(err, net.ErrClosed) {
		t.Errorf("serve(closed listener) = %v, want net.ErrClosed", err)
	}
	if ready.Load() {
		t.Error("ready after serve failed = true, want false")
	}
}
