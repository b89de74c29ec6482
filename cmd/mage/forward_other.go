//go:build !linux

package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// forward sends sig to this process's children, as pgrep lists them; where
// there is no pgrep the signal only reaches this process, and mage's own
// handling applies.
func forward(sig syscall.Signal) {
	out, err := exec.Command("pgrep", "-P", strconv.Itoa(os.Getpid())).Output()
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Signal(sig)
			}
		}
	}
}
