//go:build !linux

package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// children lists this process's children with their names, as pgrep -l
// shows them; where there is no pgrep it finds none.
func children() map[int]string {
	out, err := exec.Command("pgrep", "-l", "-P", strconv.Itoa(os.Getpid())).Output()
	if err != nil {
		return nil
	}
	kids := map[int]string{}
	for _, line := range strings.Split(string(out), "\n") {
		pidText, name, _ := strings.Cut(strings.TrimSpace(line), " ")
		if pid, err := strconv.Atoi(pidText); err == nil {
			kids[pid] = name
		}
	}
	return kids
}

// forward sends sig to this process's children; where pgrep is missing the
// signal only reaches this process, and mage's own handling applies.
func forward(sig syscall.Signal) {
	for pid := range children() {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Signal(sig)
		}
	}
}
