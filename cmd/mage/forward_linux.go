package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// children lists this process's children by pid with their command
// names: the magefile binary, or the go command compiling it. Linux lists
// a process's children in /proc.
func children() map[int]string {
	self := os.Getpid()
	out := map[int]string{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(data)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err != nil || ppid != self {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
			out[pid] = s[open+1 : end]
		}
	}
	return out
}

// forward sends sig to this process's children.
func forward(sig syscall.Signal) {
	for pid := range children() {
		_ = syscall.Kill(pid, sig)
	}
}
