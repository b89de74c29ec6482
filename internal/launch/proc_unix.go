//go:build unix

package launch

import (
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in a process group of its own, so that a terminal's
// Ctrl-C reaches the launcher alone and the launcher decides.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills cmd and everything it started.
func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
