package launch

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeFiles writes slash-separated paths under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const taggedMagefile = "//go:build mage\n\npackage main\n\nfunc Build() {}\n"

func TestFind(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		".git/HEAD":              "ref: refs/heads/main\n",
		"go.mod":                 "module example.com/app\n",
		"main.go":                "package main\n\nfunc main() {}\n",
		"cmd/tool/main.go":       "package main\n\nfunc main() {}\n",
		"magefiles/go.mod":       "module example.com/app/magefiles\n",
		"magefiles/magefile.go":  taggedMagefile,
		"magefiles/helpers.go":   "package main\n",
		"magefiles/x_test.go":    "package main\n",
		"magefiles/windows.go":   "//go:build windows\n\npackage main\n",
		"magefiles/_ignored.go":  "package main\n",
		"magefiles/notes.txt":    "not go\n",
		"other/magefiles/README": "no go files here\n",
	})
	for _, start := range []string{".", "cmd/tool", "magefiles", "other/magefiles"} {
		p, err := Find(filepath.Join(root, start))
		if err != nil {
			t.Fatalf("Find(%s): %v", start, err)
		}
		if p.Root != root || p.Dir != filepath.Join(root, "magefiles") || p.Module != filepath.Join(root, "magefiles") {
			t.Errorf("Find(%s) = root %s dir %s module %s", start, p.Root, p.Dir, p.Module)
		}
		want := []string{filepath.Join(root, "magefiles", "helpers.go"), filepath.Join(root, "magefiles", "magefile.go")}
		if !slices.Equal(p.Files, want) {
			t.Errorf("Find(%s).Files = %v, want %v", start, p.Files, want)
		}
	}
}

func TestFindTaggedAtRoot(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		".git/HEAD":   "x\n",
		"go.mod":      "module example.com/app\n",
		"main.go":     "package main\n\nfunc main() {}\n",
		"magefile.go": taggedMagefile,
		"sub/a.go":    "package sub\n",
	})
	p, err := Find(filepath.Join(root, "sub"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Root != root || p.Dir != root || p.Module != root || !slices.Equal(p.Files, []string{filepath.Join(root, "magefile.go")}) {
		t.Errorf("Find = %+v: want the tagged magefile at the root only, not main.go", p)
	}
}

func TestFindNone(t *testing.T) {
	outer := t.TempDir()
	// A magefile above the repository must not be picked up.
	writeFiles(t, outer, map[string]string{"magefile.go": taggedMagefile, "go.mod": "module outer\n", "repo/.git/HEAD": "x\n", "repo/main.go": "package main\n"})
	_, err := Find(filepath.Join(outer, "repo"))
	if err == nil || !strings.Contains(err.Error(), "hoist init") || !strings.Contains(err.Error(), "no magefiles found") {
		t.Fatalf("Find outside any magefiles: %v, want ErrNoMagefiles naming hoist init", err)
	}
}

func TestFindNoModule(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{".git/HEAD": "x\n", "magefiles/magefile.go": taggedMagefile})
	_, err := Find(root)
	if err == nil || !strings.Contains(err.Error(), "go mod init") {
		t.Fatalf("Find without go.mod: %v, want a hint to go mod init", err)
	}
}

func TestAliases(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"magefile.go": `//go:build mage

package main

import (
	//mage:import
	"github.com/hoistdev/hoist/targets"
	//mage:import ops
	deploy "example.com/deploy"
	"example.com/plain"
)

type Docs mg.Namespace

var Aliases = map[string]any{
	"test":   targets.Go.Test,
	"Ship":   deploy.Ship,
	"up":     deploy.Stack.Up,
	"b":      Build,
	"serve":  Docs.Serve,
	"weird":  plain.Call(),
}
`})
	got, err := Aliases([]string{filepath.Join(dir, "magefile.go")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"test": "go:test", "ship": "ops:ship", "up": "ops:stack:up", "b": "build", "serve": "docs:serve"}
	if len(got) != len(want) {
		t.Errorf("Aliases = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("alias %q = %q, want %q", k, got[k], v)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		want  Invocation
		error string
	}{
		{args: []string{"release"}, want: Invocation{Args: []string{"release"}}},
		{args: []string{"-v", "-f", "-t", "5m", "go:build", "-x"}, want: Invocation{Force: true, Args: []string{"-v", "-t", "5m", "go:build", "-x"}}},
		{args: []string{"-t=5m", "-l"}, want: Invocation{Args: []string{"-t=5m", "-l"}}},
		{args: []string{"-h", "test"}, want: Invocation{Help: true, Args: []string{"-h", "test"}}},
		{args: []string{"-h"}, want: Invocation{Help: true, Usage: true, Args: []string{"-h"}}},
		{args: []string{"init", "-n"}, want: Invocation{Init: true, Args: []string{"-n"}}},
		{args: []string{"-debug", "--", "-odd"}, want: Invocation{Debug: true, Args: []string{"-odd"}}},
		{args: []string{"-compile", "x"}, error: "unknown flag -compile"},
		{args: []string{"-t"}, error: "needs a duration"},
	} {
		got, err := Parse(tc.args)
		if tc.error != "" {
			if err == nil || !strings.Contains(err.Error(), tc.error) {
				t.Errorf("Parse(%q) error = %v, want %q", tc.args, err, tc.error)
			}
			continue
		}
		if err != nil || got.Force != tc.want.Force || got.Debug != tc.want.Debug || got.Help != tc.want.Help || got.Usage != tc.want.Usage ||
			got.Init != tc.want.Init || !slices.Equal(got.Args, tc.want.Args) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
	if got := resolveHelp([]string{"-v", "-h", "-t", "1m", "Test", "x"}, map[string]string{"test": "go:test"}); !slices.Equal(got, []string{"-v", "-h", "-t", "1m", "go:test", "x"}) {
		t.Errorf("resolveHelp = %q", got)
	}
}

// project writes a repository whose magefiles live in the root module and
// import a package of that module and one of a module replaced by a local
// directory, the two kinds of source no go.sum covers.
func project(t *testing.T) *Project {
	t.Helper()
	sum, err := os.ReadFile("../../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	var mageSum []string
	for _, l := range strings.Split(string(sum), "\n") {
		if strings.HasPrefix(l, "github.com/magefile/mage ") {
			mageSum = append(mageSum, l)
		}
	}
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		".git/HEAD": "x\n",
		"go.mod": "module example.com/app\n\ngo 1.24\n\nrequire (\n\tgithub.com/magefile/mage v1.17.2\n\texample.com/lib v0.0.0\n)\n\n" +
			"replace example.com/lib => ./lib\n",
		"go.sum":                  strings.Join(mageSum, "\n") + "\n",
		"internal/greet/greet.go": "package greet\n\n// Word is the greeting.\nfunc Word() string { return \"hello\" }\n",
		"lib/go.mod":              "module example.com/lib\n\ngo 1.24\n",
		"lib/lib.go":              "package lib\n\n// Name is who is greeted.\nfunc Name() string { return \"world\" }\n",
		"magefiles/magefile.go": `//go:build mage

package main

import (
	"fmt"

	"example.com/app/internal/greet"
	"example.com/lib"
)

// Aliases are short names.
var Aliases = map[string]any{"hi": Hello}

// Hello prints a greeting.
func Hello() { fmt.Println(greet.Word(), lib.Name()) }
`,
	})
	p, err := Find(root)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testEnv(t *testing.T) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOFLAGS=") && !strings.HasPrefix(kv, "GOWORK=") && !strings.HasPrefix(kv, "GOPROXY=") && !strings.HasPrefix(kv, "MAGEFILE_") {
			env = append(env, kv)
		}
	}
	return append(env, "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod")
}

// ensure runs Ensure and returns the binary and the notes it printed.
func ensure(t *testing.T, c *Cache, p *Project, env []string) (*Binary, string) {
	t.Helper()
	var log bytes.Buffer
	b, err := c.Ensure(t.Context(), p, env, false, &log)
	if err != nil {
		t.Fatalf("Ensure: %v\n%s", err, log.String())
	}
	return b, log.String()
}

func runBinary(t *testing.T, b *Binary, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(b.Path, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", b.Path, args, err, out)
	}
	return string(out)
}

// TestEnsure compiles a real magefile with the mage its module requires
// and checks what reuses the binary and what compiles it again.
func TestEnsure(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles magefiles")
	}
	p := project(t)
	c := &Cache{Dir: t.TempDir()}
	env := testEnv(t)

	b, log := ensure(t, c, p, env)
	if !b.Compiled || !strings.Contains(log, "first run here") || !strings.Contains(log, "compiled in") {
		t.Fatalf("first Ensure: compiled=%v, log %q", b.Compiled, log)
	}
	if out := runBinary(t, b, p.Root, "hello"); strings.TrimSpace(out) != "hello world" {
		t.Fatalf("hello printed %q", out)
	}
	if b.Aliases["hi"] != "hello" {
		t.Errorf("aliases = %v", b.Aliases)
	}
	if _, err := os.Stat(filepath.Join(p.Dir, mageMainfile)); !os.IsNotExist(err) {
		t.Errorf("mage's main file is left beside the magefiles: %v", err)
	}

	steps := []struct {
		name    string
		change  func()
		compile string // "" when the binary must be reused
		greet   string
	}{
		{name: "nothing changed"},
		{name: "touched, same content", change: func() { touch(t, filepath.Join(p.Root, "internal/greet/greet.go")) }},
		{name: "environment that does not matter", change: func() { env = append(env, "GOPROXY=https://proxy.example") }},
		{name: "local package edited", change: func() {
			writeFiles(t, p.Root, map[string]string{"internal/greet/greet.go": "package greet\n\n// Word is the greeting.\nfunc Word() string { return \"howdy\" }\n"})
		}, compile: "internal/greet/greet.go changed", greet: "howdy world"},
		{name: "replaced module edited, mtime restored", change: func() {
			path := filepath.Join(p.Root, "lib/lib.go")
			fi, _ := os.Stat(path)
			writeFiles(t, p.Root, map[string]string{"lib/lib.go": "package lib\n\n// Name is who is greeted.\nfunc Name() string { return \"there\" }\n"})
			if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, compile: "lib/lib.go changed", greet: "howdy there"},
		{name: "file added to a local package", change: func() {
			writeFiles(t, p.Root, map[string]string{"internal/greet/more.go": "package greet\n\nconst more = 1\n"})
		}, compile: "files were added to or removed from internal/greet"},
		{name: "magefile edited", change: func() {
			data, _ := os.ReadFile(p.Files[0])
			writeFiles(t, p.Root, map[string]string{"magefiles/magefile.go": strings.Replace(string(data), "greet.Word(), lib.Name()", "greet.Word()+\"!\", lib.Name()", 1)})
		}, compile: "magefiles/magefile.go changed", greet: "howdy! there"},
		{name: "go.mod edited", change: func() {
			data, _ := os.ReadFile(filepath.Join(p.Root, "go.mod"))
			writeFiles(t, p.Root, map[string]string{"go.mod": string(data) + "\n// upgraded\n"})
		}, compile: "go.mod changed"},
		{name: "build flags changed", change: func() { env = append(env, "GOFLAGS=-mod=mod -trimpath") }, compile: "environment changed"},
	}
	for _, s := range steps {
		if s.change != nil {
			s.change()
		}
		b, log := ensure(t, c, p, env)
		switch {
		case s.compile == "" && b.Compiled:
			t.Errorf("%s: compiled again (%q), want the cached binary", s.name, log)
		case s.compile != "" && (!b.Compiled || !strings.Contains(log, s.compile)):
			t.Errorf("%s: compiled=%v, log %q, want a compile saying %q", s.name, b.Compiled, log, s.compile)
		}
		if s.greet != "" {
			if out := runBinary(t, b, p.Root, "hello"); strings.TrimSpace(out) != s.greet {
				t.Errorf("%s: hello printed %q, want %q", s.name, out, s.greet)
			}
		}
	}
	entries, _ := filepath.Glob(filepath.Join(c.Dir, "*", exeName()))
	if len(entries) > keepKeys {
		t.Errorf("cache keeps %d binaries, want at most %d: %v", len(entries), keepKeys, entries)
	}
}

// touch moves a file's times without changing its content.
func touch(t *testing.T, path string) {
	t.Helper()
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureReportsCompileErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles magefiles")
	}
	p := project(t)
	writeFiles(t, p.Root, map[string]string{"magefiles/magefile.go": "//go:build mage\n\npackage main\n\nfunc Hello() { undefined() }\n"})
	var log bytes.Buffer
	_, err := (&Cache{Dir: t.TempDir()}).Ensure(context.Background(), p, testEnv(t), false, &log)
	if err == nil || !strings.Contains(err.Error(), "compile the magefiles") || !strings.Contains(log.String(), "undefined") {
		t.Fatalf("Ensure with a broken magefile: %v\n%s", err, log.String())
	}
	if _, err := os.Stat(filepath.Join(p.Dir, mageMainfile)); !os.IsNotExist(err) {
		t.Errorf("mage's main file is left beside the magefiles: %v", err)
	}
}
