package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	launcherOnce sync.Once
	launcherExe  string
	launcherErr  error
)

// launcher builds the hoist command from this checkout, as go install
// would from a release.
func launcher(t testing.TB) string {
	t.Helper()
	launcherOnce.Do(func() {
		launcherExe = filepath.Join(work, "bin", "hoist")
		cmd := exec.Command("go", "build", "-o", launcherExe, "./cmd/hoist")
		cmd.Dir = hoistRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			launcherErr = err
			t.Logf("%s", out)
		}
	})
	if launcherErr != nil {
		t.Fatalf("build cmd/hoist: %v", launcherErr)
	}
	return launcherExe
}

// hoist runs the hoist command in a directory of the consumer.
func (c *consumer) hoist(dir string, env []string, args ...string) (string, error) {
	c.t.Helper()
	cmd := exec.CommandContext(c.t.Context(), launcher(c.t), args...)
	cmd.Dir, cmd.Env = c.path(dir), append(append([]string(nil), c.env...), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *consumer) mustHoist(dir string, env []string, args ...string) string {
	c.t.Helper()
	out, err := c.hoist(dir, env, args...)
	if err != nil {
		c.t.Fatalf("hoist %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return out
}

// TestLauncher drives a consumer in the recommended layout with the short
// command from the root and from a subdirectory: one compile, then the
// cached binary; a magefile change is picked up on the next run.
func TestLauncher(t *testing.T) {
	c := newConsumer(t, map[string]string{
		"go.mod":                "module example.com/acme/shop\n\ngo 1.26\n",
		"VERSION":               "0.1.0\n",
		".gitignore":            "/dist/\n",
		"cmd/shop/main.go":      stampMain,
		"internal/cart/cart.go": "package cart\n",
		"magefiles/magefile.go": zeroConfig,
	})
	// Another test may already have compiled zeroConfig into the shared
	// mage cache; this one looks at what a first compile prints.
	c.privateCache()
	out := c.mustHoist(".", nil, "-l")
	if !strings.Contains(out, "compiling the magefiles in magefiles/ (first run here)") || !strings.Contains(out, "release:snapshot") {
		t.Fatalf("first hoist -l: want the one-time compile announced and the targets listed:\n%s", out)
	}
	out = c.mustHoist("internal/cart", []string{"PLATFORMS=" + hostPlatform()}, "go:build")
	if strings.Contains(out, "compiling") {
		t.Errorf("second run compiled again:\n%s", out)
	}
	if _, err := os.Stat(c.path("dist/shop_" + strings.ReplaceAll(hostPlatform(), "/", "_") + "/shop")); err != nil {
		t.Errorf("go:build from a subdirectory did not build at the root: %v\n%s", err, out)
	}
	// Pinned as a tool of the magefiles module, as CI runs it.
	out = c.mustHoist(".", nil, "-l")
	if cmd := exec.CommandContext(t.Context(), "go", "tool", "-C", "magefiles", "hoist", "-l"); true {
		cmd.Dir, cmd.Env = c.dir, c.env
		if got, err := cmd.CombinedOutput(); err != nil || string(got) != out {
			t.Errorf("go tool -C magefiles hoist -l: %v\n%s\nwant the same as hoist -l:\n%s", err, got, out)
		}
	}
	out = c.mustHoist(".", nil, "-h", "release:snapshot")
	if !strings.Contains(out, "HOIST_SNAPSHOT_CHECKS") {
		t.Errorf("-h release:snapshot does not list its environment:\n%s", out)
	}

	// A new target in the magefile.
	writeTree(t, c.dir, map[string]string{"magefiles/magefile.go": strings.Replace(zeroConfig, "import (", "import (\n\t\"fmt\"\n", 1) +
		"\n// Hello proves the new magefile runs.\nfunc Hello() { fmt.Println(\"hello from the new magefile\") }\n"})
	out = c.mustHoist("magefiles", nil, "hello")
	if !strings.Contains(out, "magefiles/magefile.go changed") || !strings.Contains(out, "hello from the new magefile") {
		t.Errorf("a changed magefile was not picked up:\n%s", out)
	}
	if out := c.mustHoist(".", nil, "hello"); strings.Contains(out, "compiling") {
		t.Errorf("the run after the change compiled again:\n%s", out)
	}
	if _, err := os.Stat(c.path("magefiles/mage_output_file.go")); !os.IsNotExist(err) {
		t.Errorf("mage's main file was left in magefiles/: %v", err)
	}
	if st := c.run(".", "git", "status", "--porcelain", "--untracked-files=all"); strings.Contains(st, "mage_output") {
		t.Errorf("the tree is dirty with mage's files:\n%s", st)
	}
}

// TestInterruptDuringRegistryStart sends SIGINT to `hoist release:snapshot`
// while the embedded registry is still starting. The registry command is a
// script standing for the first `go tool hoist-registry` (a real compile
// is over before a test could aim at it): it starts a grandchild and
// writes into its GOTMPDIR, then never reports ready. The run must say why
// it waits, stop at once when interrupted, say so in one error, and leave
// no process and no temporary directory behind.
func TestInterruptDuringRegistryStart(t *testing.T) {
	c := newConsumer(t, map[string]string{
		"go.mod":                "module example.com/acme/shop\n\ngo 1.26\n",
		"VERSION":               "0.1.0\n",
		".gitignore":            "/dist/\n",
		"main.go":               stampMain,
		"magefiles/magefile.go": zeroConfig,
	})
	c.mustHoist(".", nil, "-l") // the one-time compile, outside the timing
	state, tmp := t.TempDir(), t.TempDir()
	writeTree(t, state, map[string]string{"registry.sh": `#!/bin/sh
sleep 300 &
echo $! > "` + state + `/pid"
mkdir -p "$GOTMPDIR/go-build1/b001"
: > "` + state + `/ready"
wait
`})
	if err := os.Chmod(filepath.Join(state, "registry.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), launcher(t), "release:snapshot")
	cmd.Dir = c.dir
	cmd.Env = append(append([]string(nil), c.env...), "PLATFORMS="+hostPlatform(), "TMPDIR="+tmp,
		"HOIST_REGISTRY_COMMAND="+filepath.Join(state, "registry.sh"))
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, func() bool { return strings.Contains(out.String(), "still starting the embedded registry") }, &out)
	if _, err := os.Stat(filepath.Join(state, "ready")); err != nil {
		t.Fatalf("the registry command never ran: %v\n%s", err, out.String())
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("exit: %v, want status 130\n%s", err, out.String())
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the run took %s to stop after SIGINT", d)
	}
	text := out.String()
	t.Logf("output:\n%s", text)
	if strings.Contains(text, "cleanup timeout exceeded") || strings.Count(text, "interrupted by") != 1 {
		t.Errorf("want one interruption error and no mage cleanup timeout:\n%s", text)
	}
	data, _ := os.ReadFile(filepath.Join(state, "pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	for i := 0; pid > 0 && processAlive(pid); i++ {
		if i > 500 {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the registry command's child %d survived", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary directories left behind: %v", left)
	}
}

// syncBuffer is a bytes.Buffer that a running command writes to while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool, out fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting; output so far:\n%s", d, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processAlive reports whether pid runs; a zombie waiting for init to
// reap it does not count.
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return runtime.GOOS != "linux"
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// TestGuideMagefile keeps the guide's magefile and the one the shapes use
// the same.
func TestGuideMagefile(t *testing.T) {
	if got := guideMagefile(t, "<!-- e2e:magefile -->"); got != zeroConfig {
		t.Errorf("docs/consumers.md's magefile:\n%s\nwant zeroConfig:\n%s", got, zeroConfig)
	}
}
