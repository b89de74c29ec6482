package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHelpAlias checks that -h resolves the aliases of hoist's own
// magefile, and through the real CLI that -h test prints go:test's help.
func TestHelpAlias(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	for _, tc := range []struct{ args, want []string }{
		{[]string{"-h", "test"}, []string{"-h", "go:test"}},
		{[]string{"-v", "-d", root, "-h", "BUILD"}, []string{"-v", "-d", root, "-h", "go:build"}},
		{[]string{"-d=" + root, "-h", "go:vet"}, []string{"-d=" + root, "-h", "go:vet"}},
		{[]string{"test"}, []string{"test"}},
		{[]string{"-h"}, []string{"-h"}},
	} {
		if got := helpAlias(tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("helpAlias(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
	if testing.Short() {
		return
	}
	exe := filepath.Join(t.TempDir(), "mage")
	if out, err := exec.Command("go", "build", "-o", exe, "./cmd/mage").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(exe, "-h", "test")
	cmd.Dir, cmd.Env = root, append(os.Environ(), "MAGEFILE_CACHE="+t.TempDir(), "MAGEFILE_HASHFAST=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "go:test") || !strings.Contains(string(out), "COVERAGE_MIN") {
		t.Errorf("mage -h test: %v\n%s", err, out)
	}
}

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

// TestAnnounceCompile: the note comes once when only a go command runs
// after the wait, and never once the magefile binary runs or the run ends.
func TestAnnounceCompile(t *testing.T) {
	for _, tc := range []struct {
		name string
		kids []map[int]string
		want bool
	}{
		{"compiling", []map[int]string{{7: "go"}}, true},
		{"already running the magefile", []map[int]string{{8: "a1b2c3d4e5f6a7b"}}, false},
		{"compile ends before it says anything", []map[int]string{{}, {}, {}, {}, {9: "a1b2c3d4e5f6a7b"}}, false},
		{"compile starts late", []map[int]string{{}, {7: "go"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			i := 0
			kids := func() map[int]string {
				k := tc.kids[min(i, len(tc.kids)-1)]
				i++
				return k
			}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { announceCompile(&out, stop, 4*time.Millisecond, kids); close(done) }()
			select {
			case <-done:
			case <-time.After(100 * time.Millisecond):
			}
			close(stop)
			<-done
			if got := strings.Contains(out.String(), "compiling the magefile"); got != tc.want {
				t.Errorf("announced = %v, want %v (%q)", got, tc.want, out.String())
			}
			if strings.Count(out.String(), "\n") > 1 {
				t.Errorf("announced more than once: %q", out.String())
			}
		})
	}
	// The run ends before the wait: nothing.
	var out strings.Builder
	stop := make(chan struct{})
	close(stop)
	announceCompile(&out, stop, time.Hour, func() map[int]string { return map[int]string{1: "go"} })
	if out.Len() != 0 {
		t.Errorf("announced after the run ended: %q", out.String())
	}
}
