//go:build unix

package registry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartAbandoned stands for an interruption during the registry's
// first compile: the child (go tool, here a script) has started a
// grandchild (the compiler) and written into its GOTMPDIR. Ending the
// start context must return at once, with the slow-start note given, and
// leave neither the grandchild nor the directory.
func TestStartAbandoned(t *testing.T) {
	needShell(t)
	state := t.TempDir()
	t.Setenv("TMPDIR", t.TempDir())
	t.Setenv("GOTMPDIR", "")
	script := `sleep 300 & echo $! > "$0/pid"; mkdir "$GOTMPDIR/go-build1"; echo "$GOTMPDIR" > "$0/tmp"; wait`
	startCtx, cancel := context.WithCancelCause(t.Context())
	noted := make(chan struct{})
	go func() {
		<-noted
		cancel(errors.New("interrupted"))
	}()
	start := time.Now()
	_, err := Start(context.WithoutCancel(t.Context()), WithCommand("sh", "-c", script, state), WithStartContext(startCtx),
		WithSlowStart(200*time.Millisecond, func() { close(noted) }), WithStopGrace(5*time.Second))
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("Start(abandoned) = %v, want the start context's cause", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Start took %s to give up; it should stop the child at once", d)
	}
	data, err := os.ReadFile(filepath.Join(state, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	for i := 0; processAlive(pid); i++ {
		if i > 500 {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the grandchild %d survived", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tmp, _ := os.ReadFile(filepath.Join(state, "tmp"))
	if dir := strings.TrimSpace(string(tmp)); dir == "" {
		t.Error("the child got no GOTMPDIR of its own")
	} else if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the child's GOTMPDIR %s is left: %v", dir, err)
	}
}

// processAlive reports whether pid runs; a zombie waiting for init to
// reap it does not count.
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return runtime.GOOS != "linux"
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// TestStartAbandonedWhileResolving: with a tool record, the first start
// asks the go command for the binary, which builds it; the slow-start note
// comes during that lookup and ending the start context ends it at once,
// leaving no GOTMPDIR. A go command that never answers stands in for a
// long first compile.
func TestStartAbandonedWhileResolving(t *testing.T) {
	needShell(t)
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte("#!/bin/sh\necho \"$GOTMPDIR\" > \"$HOIST_TEST_STATE/tmp\"\nexec sleep 300\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("HOIST_TEST_STATE", state)
	t.Setenv("TMPDIR", t.TempDir())
	t.Setenv("GOTMPDIR", "")
	startCtx, cancel := context.WithCancelCause(t.Context())
	noted := make(chan struct{})
	go func() {
		<-noted
		cancel(errors.New("interrupted"))
	}()
	start := time.Now()
	_, err := Start(context.WithoutCancel(t.Context()), WithDir(t.TempDir()), WithToolRecord(t.TempDir()), WithStartContext(startCtx),
		WithSlowStart(200*time.Millisecond, func() { close(noted) }))
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("Start(abandoned during the lookup) = %v, want the start context's cause", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Start took %s to give up", d)
	}
	tmp, _ := os.ReadFile(filepath.Join(state, "tmp"))
	if dir := strings.TrimSpace(string(tmp)); dir == "" {
		t.Error("the lookup got no GOTMPDIR of its own")
	} else if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the lookup's GOTMPDIR %s is left: %v", dir, err)
	}
}
