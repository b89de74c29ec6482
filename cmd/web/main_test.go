package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// env returns a getenv backed by a map, so tests never see the real environment.
func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestResolveAddr(t *testing.T) {
	tests := []struct {
		name string
		flag string
		env  map[string]string
		want string
	}{
		{name: "flag wins over everything", flag: "127.0.0.1:9000", env: map[string]string{"ADDR": ":7000", "PORT": "6000"}, want: "127.0.0.1:9000"},
		{name: "ADDR wins over PORT", env: map[string]string{"ADDR": ":7000", "PORT": "6000"}, want: ":7000"},
		{name: "PORT becomes all interfaces", env: map[string]string{"PORT": "6000"}, want: ":6000"},
		{name: "empty values are unset", env: map[string]string{"ADDR": "", "PORT": ""}, want: ":8080"},
		{name: "default", want: ":8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resolveAddr(tt.flag, env(tt.env)); got != tt.want {
				t.Errorf("resolveAddr(%q, %v) = %q, want %q", tt.flag, tt.env, got, tt.want)
			}
		})
	}
}

func TestHealthURL(t *testing.T) {
	tests := []struct {
		name    string
		addr    string
		want    string
		wantErr bool
	}{
		{name: "empty host", addr: ":8080", want: "http://127.0.0.1:8080/healthz"},
		{name: "ipv4 wildcard", addr: "0.0.0.0:8080", want: "http://127.0.0.1:8080/healthz"},
		{name: "ipv6 wildcard", addr: "[::]:8080", want: "http://127.0.0.1:8080/healthz"},
		{name: "specific host kept", addr: "10.1.2.3:9", want: "http://10.1.2.3:9/healthz"},
		{name: "ipv6 host kept", addr: "[::1]:9", want: "http://[::1]:9/healthz"},
		{name: "missing port", addr: "8080", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := healthURL(tt.addr)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("healthURL(%q) = %q, %v, want %q, error %t", tt.addr, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRunVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-version"}, env(nil), &stdout, &stderr)
	want := fmt.Sprintf("web dev (commit none, built unknown, %s %s/%s)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if code != 0 || stdout.String() != want {
		t.Errorf("run(-version) = %d, stdout %q, want 0, %q", code, stdout.String(), want)
	}
	if stderr.Len() != 0 {
		t.Errorf("run(-version) stderr = %q, want empty", stderr.String())
	}
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStderr string
	}{
		{name: "help", args: []string{"-h"}, wantCode: 0, wantStderr: "-shutdown-timeout"},
		{name: "unknown flag", args: []string{"-bogus"}, wantCode: 2, wantStderr: "flag provided but not defined"},
		{name: "positional argument", args: []string{"serve"}, wantCode: 2, wantStderr: `unexpected argument "serve"`},
		{name: "zero shutdown timeout", args: []string{"-shutdown-timeout", "0s"}, wantCode: 2, wantStderr: "must be positive"},
		{name: "negative drain delay", args: []string{"-drain-delay", "-1s"}, wantCode: 2, wantStderr: "must not be negative"},
		{name: "bad DRAIN_DELAY", env: map[string]string{"DRAIN_DELAY": "soon"}, wantCode: 2, wantStderr: `DRAIN_DELAY="soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, env(tt.env), &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("run(%q) = %d, stderr %q, want %d, stderr containing %q", tt.args, code, stderr.String(), tt.wantCode, tt.wantStderr)
			}
		})
	}
}

// startServer runs serve on a loopback port for the length of the test.
func startServer(t *testing.T) string {
	t.Helper()
	ln := listenLocal(t)
	ready := readyFlag(false)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, ln, newHandler(testInfo, ready, discardLogger()), ready, discardLogger(), 0, 5*time.Second)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve() = %v, want nil", err)
		}
	})
	return ln.Addr().String()
}

func TestRunHealthcheck(t *testing.T) {
	healthy := startServer(t)
	_, healthyPort, _ := net.SplitHostPort(healthy)

	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "sick", http.StatusServiceUnavailable)
	}))
	t.Cleanup(sick.Close)

	ln := listenLocal(t)
	closed := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStderr string
	}{
		{name: "healthy via flag", args: []string{"-healthcheck", "-addr", healthy}, wantCode: 0},
		{name: "healthy via PORT on all interfaces", args: []string{"-healthcheck"}, env: map[string]string{"PORT": healthyPort}, wantCode: 0},
		{name: "unhealthy status", args: []string{"-healthcheck", "-addr", sick.Listener.Addr().String()}, wantCode: 1, wantStderr: "status 503"},
		{name: "closed port", args: []string{"-healthcheck", "-addr", closed}, wantCode: 1, wantStderr: "GET http://" + closed + "/healthz"},
		{name: "malformed address", args: []string{"-healthcheck"}, env: map[string]string{"ADDR": "8080"}, wantCode: 1, wantStderr: "use host:port or :port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, env(tt.env), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("run(%q) = %d, want %d (stderr %q)", tt.args, code, tt.wantCode, stderr.String())
			}
			if tt.wantStderr == "" && stderr.Len() != 0 {
				t.Errorf("run(%q) stderr = %q, want empty", tt.args, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tt.args, stderr.String(), tt.wantStderr)
			}
		})
	}
}

// startRun runs run() serving on a loopback port and returns the address
// it reports in its started log line.
func startRun(t *testing.T, ctx context.Context, args ...string) (addr string, logs *syncBuffer, done <-chan int) {
	t.Helper()
	logs = &syncBuffer{}
	codec := make(chan int, 1)
	go func() {
		codec <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), env(nil), &bytes.Buffer{}, logs)
	}()
	waitFor(t, "the started log line", func() bool {
		for line := range strings.Lines(logs.String()) {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "started" {
				addr, _ = m["addr"].(string)
				return true
			}
		}
		return false
	})
	return addr, logs, codec
}

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	addr, logs, done := startRun(t, ctx)
	r := <-get(t.Context(), "http://"+addr+"/version")
	var got buildInfo
	if r.err != nil || json.Unmarshal([]byte(r.body), &got) != nil || got != currentBuild() {
		t.Errorf("GET /version = %q, %v, want %+v", r.body, r.err, currentBuild())
	}

	cancel()
	if code := <-done; code != 0 {
		t.Errorf("run() after cancel = %d, want 0; logs:\n%s", code, logs.String())
	}
	var msgs []any
	for _, line := range logLines(t, logs.String()) {
		msgs = append(msgs, line["msg"])
	}
	want := []any{"started", "request", "shutting down", "stopped"}
	if fmt.Sprint(msgs) != fmt.Sprint(want) {
		t.Errorf("run() log messages = %v, want %v", msgs, want)
	}
}

func TestRunDrainTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	addr, logs, done := startRun(t, ctx, "-shutdown-timeout", "50ms")

	// A stalled upload: the headers promise a body that never arrives, so
	// the server keeps the connection active waiting for it.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("net.Dial(%s) = %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, "POST /healthz HTTP/1.1\r\nHost: web\r\nContent-Length: 10\r\n\r\n"); err != nil {
		t.Fatalf("write request head: %v", err)
	}
	waitFor(t, "the POST to be logged", func() bool { return strings.Contains(logs.String(), `"method":"POST"`) })

	cancel()
	if code := <-done; code != 1 {
		t.Errorf("run() with a stalled request = %d, want 1; logs:\n%s", code, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"stopped with error"`) {
		t.Errorf("run() logs = %s, want a stopped with error line", logs.String())
	}
}

func TestRunListenFailure(t *testing.T) {
	busy := listenLocal(t)
	t.Cleanup(func() { busy.Close() })
	var logs syncBuffer
	code := run(t.Context(), []string{"-addr", busy.Addr().String()}, env(nil), &bytes.Buffer{}, &logs)
	if code != 1 || !strings.Contains(logs.String(), `"msg":"listen failed"`) {
		t.Errorf("run(-addr busy port) = %d, logs %q, want 1 and a listen failed line", code, logs.String())
	}
}

// TestBinarySignal builds the real binary with injected version variables
// and checks the whole lifecycle: -version, -healthcheck, SIGTERM, exit 0.
func TestBinarySignal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGTERM cannot be sent to a process on Windows")
	}
	if testing.Short() {
		t.Skip("builds a binary; skipped in -short mode")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	bin := filepath.Join(t.TempDir(), "web")
	const x = "-X main.version=v9.8.7 -X main.commit=feedbee -X main.date=2025-06-07T08:09:10Z"
	build := exec.CommandContext(t.Context(), goBin, "build", "-trimpath", "-ldflags", x, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	out, err := exec.CommandContext(t.Context(), bin, "-version").Output()
	want := fmt.Sprintf("web v9.8.7 (commit feedbee, built 2025-06-07T08:09:10Z, %s %s/%s)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if err != nil || string(out) != want {
		t.Errorf("web -version = %q, %v, want %q", out, err, want)
	}

	ln := listenLocal(t)
	addr := ln.Addr().String()
	ln.Close()
	var stderr syncBuffer
	cmd := exec.CommandContext(t.Context(), bin, "-addr", addr)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	waitFor(t, "web -healthcheck to pass", func() bool {
		return exec.CommandContext(t.Context(), bin, "-healthcheck", "-addr", addr).Run() == nil
	})
	r := <-get(t.Context(), "http://"+addr+"/version")
	var got buildInfo
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || got.Version != "v9.8.7" || got.Commit != "feedbee" || got.Date != "2025-06-07T08:09:10Z" {
		t.Errorf("GET /version = %q, want the -ldflags -X values", r.body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("send SIGTERM: %v", err)
	}
	err = cmd.Wait()
	waited = true
	if code := cmd.ProcessState.ExitCode(); err != nil || code != 0 {
		t.Errorf("web after SIGTERM exited %d (%v), want 0; stderr:\n%s", code, err, stderr.String())
	}
	logs := stderr.String()
	for _, want := range []string{`"cause":"terminated signal received"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("web stderr = %s, want it to contain %s", logs, want)
		}
	}
	var exitErr *exec.ExitError
	err = exec.CommandContext(t.Context(), bin, "-healthcheck", "-addr", addr).Run()
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Errorf("web -healthcheck after exit = %v, want exit status 1", err)
	}
}
