//go:build unix

package launch

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildCLI compiles cmd/hoist.
func buildCLI(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "hoist")
	out, err := exec.Command("go", "build", "-o", exe, "../../cmd/hoist").CombinedOutput()
	if err != nil {
		t.Fatalf("build cmd/hoist: %v\n%s", err, out)
	}
	return exe
}

// TestCLI runs the hoist command from a subdirectory: it compiles once,
// runs a target from the repository root, resolves an alias for -h and
// reuses the binary on the next run.
func TestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles magefiles")
	}
	exe := buildCLI(t)
	p := project(t)
	env := append(testEnv(t), "MAGEFILE_CACHE="+t.TempDir())
	run := func(args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(exe, args...)
		cmd.Dir, cmd.Env = filepath.Join(p.Root, "internal", "greet"), env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("hoist %q: %v\n%s%s", args, err, stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	out, notes := run("hello")
	if strings.TrimSpace(out) != "hello world" || !strings.Contains(notes, "compiling the magefiles in magefiles/ (first run here)") {
		t.Fatalf("first run: stdout %q, stderr %q", out, notes)
	}
	out, notes = run("-h", "hi")
	if !strings.Contains(out, "Hello prints a greeting.") || !strings.Contains(out, "hoist hello") || notes != "" {
		t.Errorf("-h for an alias: stdout %q, stderr %q; want hello's help and no compile", out, notes)
	}
	out, _ = run("-l")
	if !strings.Contains(out, "hello") {
		t.Errorf("-l printed %q", out)
	}
	if out, err := exec.Command(exe, "-version").Output(); err != nil || !strings.HasPrefix(string(out), "hoist ") {
		t.Errorf("-version: %q, %v", out, err)
	}
}

// TestCLIInterruptedCompile sends SIGINT and SIGTERM to the hoist command
// while it compiles. The go command is replaced by a script that stands
// for a compile in progress (a real one finishes too fast to hit on
// purpose): it starts a long-running child, writes into its temporary
// directory and leaves mage's main file beside the magefiles, as mage does
// mid-compile. Afterwards nothing may be running or left behind, and one
// line says what happened.
func TestCLIInterruptedCompile(t *testing.T) {
	exe := buildCLI(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			p := project(t)
			state, tmp, cache := t.TempDir(), t.TempDir(), t.TempDir()
			script := filepath.Join(state, "go")
			writeFiles(t, state, map[string]string{"go": `#!/bin/sh
sleep 300 &
echo $! > "` + state + `/child.pid"
mkdir -p "$GOTMPDIR/go-build123/b001"
: > "` + p.Dir + `/mage_output_file.go"
: > "` + state + `/ready"
wait
`})
			if err := os.Chmod(script, 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(exe, "hello")
			cmd.Dir = p.Root
			cmd.Env = append(testEnv(t), "MAGEFILE_GOCMD="+script, "MAGEFILE_CACHE="+cache, "TMPDIR="+tmp)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stderr, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := os.Stat(filepath.Join(state, "ready")); err == nil {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("the compile never started:\n%s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			want := map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143}[sig]
			if !errors.As(err, &exit) || exit.ExitCode() != want {
				t.Errorf("exit: %v, want status %d", err, want)
			}
			if n := strings.Count(stderr.String(), "interrupted by"); n != 1 || !strings.Contains(stderr.String(), "while compiling the magefiles") {
				t.Errorf("output says the interruption %d times, want once:\n%s", n, stderr.String())
			}
			data, err := os.ReadFile(filepath.Join(state, "child.pid"))
			if err != nil {
				t.Fatal(err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			for i := 0; syscall.Kill(pid, 0) == nil; i++ {
				if i > 100 {
					t.Errorf("the compile's child %d still runs", pid)
					syscall.Kill(pid, syscall.SIGKILL)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("temporary files left in TMPDIR: %v", left)
			}
			if _, err := os.Stat(filepath.Join(p.Dir, mageMainfile)); !os.IsNotExist(err) {
				t.Errorf("mage's main file is left beside the magefiles: %v", err)
			}
			if left, _ := filepath.Glob(filepath.Join(cache, "hoist", "*", ".partial-*")); len(left) != 0 {
				t.Errorf("partial binaries left in the cache: %v", left)
			}
		})
	}
}
