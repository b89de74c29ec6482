//go:build unix

package proc

import (
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
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
