package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		code int
		sig  any
		want int
	}{
		{"success", 0, nil, 0},
		{"failure", 1, nil, 1},
		{"success despite a signal", 0, syscall.SIGTERM, 0},
		{"terminated", 143, syscall.SIGTERM, 143},
		{"interrupted, passed on as SIGTERM", 143, os.Interrupt, 130},
		{"mage gave up waiting", 1, os.Interrupt, 130},
	}
	for _, tt := range tests {
		if got := exitCode(tt.code, tt.sig); got != tt.want {
			t.Errorf("%s: exitCode(%d, %v) = %d, want %d", tt.name, tt.code, tt.sig, got, tt.want)
		}
	}
}

// TestForward starts a child, as mage starts the magefile binary, and
// checks that forward reaches it.
func TestForward(t *testing.T) {
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	forward(syscall.SIGTERM)
	select {
	case <-done:
		ws, ok := child.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
			t.Errorf("child ended with %v, want SIGTERM", child.ProcessState)
		}
	case <-time.After(10 * time.Second):
		child.Process.Kill()
		t.Fatal("forward did not reach the child")
	}
}
