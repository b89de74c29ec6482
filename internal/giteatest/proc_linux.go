package giteatest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the server exit when the test binary does, even
// when it is killed.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
