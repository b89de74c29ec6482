package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// started is an in-process run of the command.
type started struct {
	cancel context.CancelFunc
	lines  chan string // stdout lines, closed when run returns
	code   chan int
	stderr *bytes.Buffer
}

func runAsync(t *testing.T, args []string, env map[string]string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	s := &started{cancel: cancel, lines: make(chan string, 4), code: make(chan int, 1), stderr: new(bytes.Buffer)}
	go func() {
		code := run(ctx, args, func(k string) string { return env[k] }, pw, s.stderr)
		pw.Close()
		s.code <- code
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	t.Cleanup(cancel)
	return s
}

func (s *started) firstLine(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			t.Fatalf("run() printed nothing on stdout; stderr: %s", s.stderr)
		}
		return l
	case <-time.After(30 * time.Second):
		t.Fatal("no stdout line within 30s")
		return ""
	}
}

func (s *started) exit(t *testing.T) (code int, rest []string) {
	t.Helper()
	s.cancel()
	for l := range s.lines {
		rest = append(rest, l)
	}
	return <-s.code, rest
}

var readyLine = regexp.MustCompile(`^hoist-registry listening on http://(127\.0\.0\.1:[0-9]+) data=(.+)$`)

func TestReadyLineAndGracefulExit(t *testing.T) {
	dir := t.TempDir()
	s := runAsync(t, []string{"-addr", "127.0.0.1:0", "-data", dir}, nil)
	m := readyLine.FindStringSubmatch(s.firstLine(t))
	if m == nil || m[2] != dir {
		t.Fatalf("ready line = %q, want %s with data=%s", m, readyLine, dir)
	}
	resp, err := http.Get("http://" + m[1] + "/v2/")
	if err != nil {
		t.Fatalf("GET /v2/ = %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/ = %s, want 200", resp.Status)
	}
	code, rest := s.exit(t)
	if code != 0 || len(rest) != 0 {
		t.Errorf("run() after cancel = %d with more stdout %q, want 0 and exactly one line", code, rest)
	}
	if s.stderr.Len() != 0 {
		t.Errorf("stderr without -v = %q, want nothing", s.stderr)
	}
}

func TestDataDirFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	s := runAsync(t, []string{"-addr", "127.0.0.1:0"}, map[string]string{"HOIST_REGISTRY_DATA": dir})
	if m := readyLine.FindStringSubmatch(s.firstLine(t)); m == nil || m[2] != dir {
		t.Errorf("ready line = %q, want data=%s from HOIST_REGISTRY_DATA", m, dir)
	}
	if code, _ := s.exit(t); code != 0 {
		t.Errorf("run() = %d, want 0", code)
	}
}

func TestVerboseLogsToStderr(t *testing.T) {
	s := runAsync(t, []string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-v"}, nil)
	m := readyLine.FindStringSubmatch(s.firstLine(t))
	if m == nil {
		t.Fatal("no ready line")
	}
	resp, err := http.Get("http://" + m[1] + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, _ := s.exit(t); code != 0 {
		t.Errorf("run(-v) = %d, want 0", code)
	}
	if !strings.Contains(s.stderr.String(), "response completed") {
		t.Errorf("stderr with -v = %q, want request logs", s.stderr)
	}
}

func TestSecondInstanceNamesFirst(t *testing.T) {
	dir := t.TempDir()
	first := runAsync(t, []string{"-addr", "127.0.0.1:0", "-data", dir}, nil)
	m := readyLine.FindStringSubmatch(first.firstLine(t))
	if m == nil {
		t.Fatal("no ready line")
	}
	second := runAsync(t, []string{"-addr", "127.0.0.1:0", "-data", dir}, nil)
	line := second.firstLine(t)
	want := regexp.MustCompile(`^hoist-registry already running on http://` + regexp.QuoteMeta(m[1]) + ` data=` + regexp.QuoteMeta(dir) + ` pid=[0-9]+$`)
	if !want.MatchString(line) {
		t.Errorf("second instance printed %q, want %s", line, want)
	}
	if code, _ := second.exit(t); code != 1 {
		t.Errorf("second run() = %d, want 1", code)
	}
	if !strings.Contains(second.stderr.String(), "already served by") {
		t.Errorf("second stderr = %q, want the in-use explanation", second.stderr)
	}
	first.exit(t)
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantErr  string
	}{
		{name: "help", args: []string{"-h"}, wantCode: 0, wantErr: "-addr address"},
		{name: "unknown flag", args: []string{"-port", "1"}, wantCode: 2, wantErr: "flag provided but not defined"},
		{name: "positional", args: []string{"serve"}, wantCode: 2, wantErr: "it takes only flags"},
		{name: "no data dir", args: []string{"-addr", "127.0.0.1:0"}, wantCode: 1, wantErr: "set HOIST_REGISTRY_DATA"},
		{name: "remote addr", args: []string{"-addr", "0.0.0.0:0", "-data", t.TempDir()}, wantCode: 1, wantErr: "no TLS and no authentication"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.wantCode, tt.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("run(%q) stdout = %q, want nothing", tt.args, stdout.String())
			}
		})
	}
}
