//go:build !unix

package registry

import (
	"os"
	"os/exec"
)

// setProcessGroup has no portable equivalent here; the child stays in the
// caller's group.
func setProcessGroup(*exec.Cmd) {}

// terminate kills outright: without Unix signals there is no graceful stop
// to ask for. The registry's writes are atomic renames, so its data survives.
func terminate(p *os.Process) error { return p.Kill() }

func killGroup(p *os.Process) { _ = p.Kill() }

// stoppedBySignal is false: without signals, terminate kills outright.
func stoppedBySignal(*os.ProcessState) bool { return false }
