package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// hoistProxy is a module proxy in a directory (GOPROXY=file://…) that
// serves the tracked files of this checkout as the hoist release
// v0.99.0, so the guide's go get of a released hoist can run here.
func hoistProxy(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	files, err := exec.Command("git", "-C", hoistRoot, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("this checkout is not a git work tree: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(hoistRoot, f))
		if err != nil {
			continue // deleted in the work tree
		}
		dst := filepath.Join(src, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proxy := t.TempDir()
	dir := filepath.Join(proxy, "github.com", "hoistdev", "hoist", "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const v = "v0.99.0"
	zf, err := os.Create(filepath.Join(dir, v+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := modzip.CreateFromDir(zf, module.Version{Path: "github.com/hoistdev/hoist", Version: v}, src); err != nil {
		t.Fatalf("zip the checkout as a module: %v", err)
	}
	zf.Close()
	mod, _ := os.ReadFile(filepath.Join(src, "go.mod"))
	info, _ := json.Marshal(map[string]any{"Version": v, "Time": time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	for name, data := range map[string][]byte{"list": []byte(v + "\n"), v + ".mod": mod, v + ".info": info} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return proxy
}

// TestGuideSetup runs the consumer guide's setup commands exactly as
// written, for a released hoist (served by a module proxy made from this
// checkout) and for a local checkout, then lists and runs a target the
// way the guide says.
func TestGuideSetup(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the magefiles twice")
	}
	proxy := hoistProxy(t)
	goproxy := "file://" + filepath.ToSlash(proxy) + "," + cmpOr(os.Getenv("GOPROXY"), "https://proxy.golang.org")
	for _, c := range []struct {
		marker string
		env    []string
		want   string // in magefiles/go.mod
	}{
		// The checksum database cannot know a module made here.
		{"<!-- e2e:setup -->", []string{"GOPROXY=" + goproxy, "GOSUMDB=off", "GOFLAGS=-mod=mod"}, "github.com/hoistdev/hoist v0.99.0"},
		// go mod tidy looks at the tests of dependencies without go.mod,
		// whose modules a warm cache may lack: the proxy serves them.
		{"<!-- e2e:setup-local -->", []string{"HOIST=" + hoistRoot, "GOPROXY=" + cmpOr(os.Getenv("GOPROXY"), "https://proxy.golang.org")}, "replace github.com/hoistdev/hoist => " + hoistRoot},
	} {
		t.Run(strings.Trim(c.marker, "<!-> "), func(t *testing.T) {
			c2 := newConsumer(t, map[string]string{
				"go.mod":  "module example.com/acme/shop\n\ngo 1.26\n",
				"main.go": stampMain,
			})
			c2.privateCache()
			writeTree(t, c2.dir, map[string]string{"magefiles/magefile.go": guideMagefile(t, "<!-- e2e:magefile -->")})
			script := guideBlock(t, c.marker, "sh")
			if out, err := c2.exec(c.env, "sh", "-ec", script); err != nil {
				t.Fatalf("the guide's setup failed: %v\n%s\n%s", err, script, out)
			}
			if mod := c2.read("magefiles/go.mod"); !strings.Contains(mod, "tool (") || !strings.Contains(mod, "github.com/hoistdev/hoist/cmd/hoist-registry") || !strings.Contains(mod, c.want) {
				t.Errorf("magefiles/go.mod:\n%s", mod)
			}
			out, err := c2.exec(c.env, "go", "tool", "-C", "magefiles", "mage", "-l")
			if err != nil || !strings.Contains(out, "go:build") || !strings.Contains(out, "release") {
				t.Fatalf("mage -l after the setup: %v\n%s", err, out)
			}
			if _, err := os.Stat(c2.path("VERSION")); err != nil {
				t.Error("the setup wrote no VERSION")
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" && a != "off" {
		return a
	}
	return b
}
