//go:build !unix

package proc

import "os/exec"

func ownGroup(*exec.Cmd) {}

// signalGroup kills cmd itself where there are no process groups.
func signalGroup(cmd *exec.Cmd, _ bool) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}
