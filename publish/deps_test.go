package publish

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoMageDependency keeps the core free of the mage layer: targets import
// publish, never the other way round.
func TestNoMageDependency(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/magefile/mage") {
			t.Errorf("publish depends on %s, want no mage imports in the core", dep)
		}
	}
	if !strings.Contains(string(out), "github.com/google/go-containerregistry/pkg/v1/remote") {
		t.Errorf("go list -deps output lacks go-containerregistry; the check is not looking at the right package:\n%s", out)
	}
}
