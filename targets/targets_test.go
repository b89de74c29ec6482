package targets

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/magefile/mage/mage"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestMageList pins the `mage -l` output of hoist's own magefile, through
// mage's API, so that no target is renamed or lost by accident.
func TestMageList(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := mage.Invoke(mage.Invocation{
		Dir:      filepath.Join(root, "magefiles"),
		WorkDir:  root,
		List:     true,
		Stdout:   &stdout,
		Stderr:   &stderr,
		CacheDir: t.TempDir(),
	})
	if code != 0 {
		t.Fatalf("mage -l exited %d: %s", code, stderr.String())
	}
	golden := filepath.Join("testdata", "mage-list.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run go test ./targets -run TestMageList -update to create it): %v", err)
	}
	if got := stdout.String(); got != string(want) {
		t.Errorf("mage -l output changed; if intended, rerun with -update.\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// TestDependencyDirection enforces the layering: the core never imports
// mage, and the heavy dependencies stay in the one package that needs them.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "github.com/hoistdev/hoist/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		deps[f[0]] = f[1:]
	}
	const self = "github.com/hoistdev/hoist/"
	// heavy maps a dependency prefix to the packages allowed to pull it in.
	heavy := map[string][]string{
		"github.com/magefile/mage":                {"targets", "cmd/mage"},
		"github.com/moby/moby":                    {"dockerengine", "targets/docker", "internal/dockertest"},
		"github.com/distribution/distribution/v3": {"registry/server", "cmd/hoist-registry"},
	}
	checked := 0
	for pkg, ds := range deps {
		rel, ok := strings.CutPrefix(pkg, self)
		if !ok {
			continue
		}
		checked++
		for prefix, allowed := range heavy {
			if allowedFor(rel, allowed) {
				continue
			}
			for _, d := range ds {
				if strings.HasPrefix(d, prefix) {
					t.Errorf("%s imports %s (through its dependencies); only %v may", rel, d, allowed)
					break
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d hoist packages; go list output looks wrong", checked)
	}
}

func allowedFor(rel string, allowed []string) bool {
	for _, a := range allowed {
		if rel == a || strings.HasPrefix(rel, a+"/") {
			return true
		}
	}
	return false
}
