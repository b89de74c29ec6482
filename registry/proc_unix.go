//go:build unix

package registry

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup puts the child in its own process group so that killing
// the group also reaches the hoist-registry that `go tool` starts beneath
// it, and so that a terminal's Ctrl-C reaches only the parent, which then
// stops the child in order.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminate asks for a graceful stop; `go tool` forwards the signal.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
