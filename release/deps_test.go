package release

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoMageDependency keeps the release core free of the mage layer and of
// the Docker Engine client: the targets import release, never the other way
// round.
func TestNoMageDependency(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, dep := range deps {
		for _, banned := range []string{"github.com/magefile/mage", "github.com/moby/moby", "github.com/hoistdev/hoist/targets"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("release depends on %s, want no %s imports in the core", dep, banned)
			}
		}
	}
	if !strings.Contains(string(out), "github.com/hoistdev/hoist/version") {
		t.Errorf("go list -deps output lacks hoist/version; the check is not looking at the right package:\n%s", out)
	}
}
