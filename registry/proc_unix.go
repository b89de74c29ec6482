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
	setDeathSignal(cmd.SysProcAttr)
}

// terminate asks for a graceful stop. The signal goes to the whole group:
// `go tool` relays signals to the registry, but only once it has set up its
// relay after starting the child, so a stop that comes right after the
// ready line could otherwise kill the go command alone and orphan the
// registry. The registry ignores the relayed duplicate.
func terminate(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGTERM) }

// stoppedBySignal reports whether the process ended from the SIGTERM that
// terminate sent, which counts as a clean stop: the go command dies of it
// when the signal beat its relay, while the registry still shuts down.
func stoppedBySignal(ps *os.ProcessState) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM
}

func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
