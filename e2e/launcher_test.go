package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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
