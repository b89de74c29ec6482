//go:build unix

package proc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOwnGroup(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no process groups")
	}
	cmd := exec.Command("sh", "-c", "ps -o pgid= -p $$")
	OwnGroup(cmd)
	out, err := cmd.Output()
	if err != nil {
		t.Skip("no sh or ps:", err)
	}
	pgid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("ps printed %q", out)
	}
	if pgid != cmd.Process.Pid || pgid == syscall.Getpgrp() {
		t.Errorf("child's group = %d, want its own (pid %d), not ours (%d)", pgid, cmd.Process.Pid, syscall.Getpgrp())
	}
}

// TestContain cancels a command whose child started a grandchild and
// wrote into GOTMPDIR, as an interrupted go build leaves things: once the
// cleanup ran, neither may be left.
func TestContain(t *testing.T) {
	state := t.TempDir()
	t.Setenv("TMPDIR", t.TempDir())
	t.Setenv("GOTMPDIR", "") // go test under hoist's go:test runs with one
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", `sleep 300 & echo $! > "$0/pid"; mkdir "$GOTMPDIR/go-build1"; echo "$GOTMPDIR" > "$0/tmp"; wait`, state)
	cleanup := Contain(cmd)
	if err := cmd.Start(); err != nil {
		t.Skip("no sh:", err)
	}
	var pid int
	var tmp string
	for i := 0; ; i++ {
		data, err1 := os.ReadFile(filepath.Join(state, "pid"))
		dir, err2 := os.ReadFile(filepath.Join(state, "tmp"))
		if err1 == nil && err2 == nil && len(dir) > 0 {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
			tmp = strings.TrimSpace(string(dir))
			break
		}
		if i > 500 {
			t.Fatal("the child never started its grandchild")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	start := time.Now()
	if err := cmd.Wait(); err == nil {
		t.Error("a cancelled command reported success")
	}
	cleanup()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the group took %s to stop; SIGTERM should end it at once", d)
	}
	for i := 0; alive(pid); i++ {
		if i > 500 {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("grandchild %d survived the cancel", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("GOTMPDIR %s is left: %v", tmp, err)
	}

	// A GOTMPDIR of the caller's is used and kept.
	mine := t.TempDir()
	cmd = exec.CommandContext(t.Context(), "sh", "-c", `echo "$GOTMPDIR"`)
	cmd.Env = append(os.Environ(), "GOTMPDIR="+mine)
	cleanup = Contain(cmd)
	out, err := cmd.Output()
	cleanup()
	if err != nil || strings.TrimSpace(string(out)) != mine {
		t.Errorf("with GOTMPDIR set the child saw %q (%v), want %s", out, err, mine)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("the caller's GOTMPDIR was removed: %v", err)
	}
}

// alive reports whether pid runs; a zombie waiting for init to reap it
// does not count.
func alive(pid int) bool {
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
