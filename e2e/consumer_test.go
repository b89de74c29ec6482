package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hoistdev/hoist/internal/giteatest"
)

// hoistRoot is the absolute path of this checkout, which every consumer's
// replace directive points at.
var hoistRoot string

// work holds what the tests share: the template magefiles module and the
// old mage CLI. It is removed when the tests end.
var work string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	hoistRoot = root
	if work, err = os.MkdirTemp("", "hoist-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(work)
	defer giteatest.StopShared()
	return m.Run()
}

var readCheckoutOnce sync.Once

// readCheckout reads every Go source and module file of the checkout. The
// tests drive hoist through child processes, which go test's result cache
// does not watch; files a test opens it does (from inside m.Run only), so
// reading them makes a change anywhere in hoist run the tests again
// instead of replaying a cached pass. Every consumer calls it.
func readCheckout(t testing.TB) {
	readCheckoutOnce.Do(func() {
		if err := walkCheckout(hoistRoot); err != nil {
			t.Fatalf("read the checkout: %v", err)
		}
	})
}

func walkCheckout(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "dist" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" {
			if _, err := os.ReadFile(path); err != nil {
				return err
			}
		}
		return nil
	})
}

// zeroConfig is the magefile every shape uses: hoist's targets and the
// release namespace, nothing configured: the guide's eight lines
// (TestGuideMagefile keeps them equal), which leaves a one-line
// targets.Set within the ten-line budget.
const zeroConfig = `//go:build mage

package main

import (
	_ "github.com/hoistdev/hoist/targets"         //mage:import
	_ "github.com/hoistdev/hoist/targets/release" //mage:import
)
`

// templateDeps imports every hoist package a consumer magefile may use, so
// that the template's go.mod and go.sum cover them all.
const templateDeps = `//go:build mage

package main

import (
	_ "github.com/hoistdev/hoist/config"
	_ "github.com/hoistdev/hoist/image"
	_ "github.com/hoistdev/hoist/project"
	_ "github.com/hoistdev/hoist/targets"
	_ "github.com/hoistdev/hoist/targets/release"
)
`

var (
	templateOnce sync.Once
	templateMod  []byte
	templateSum  []byte
	templateErr  error
)

// magefilesModule returns the go.mod and go.sum of a magefiles module made
// with the commands the guide gives, except that hoist comes from this
// checkout through a replace directive.
func magefilesModule(t testing.TB) ([]byte, []byte) {
	t.Helper()
	templateOnce.Do(func() {
		templateMod, templateSum, templateErr = makeTemplate(t.Context(), filepath.Join(work, "template"))
	})
	if templateErr != nil {
		t.Fatalf("create the magefiles module: %v", templateErr)
	}
	return templateMod, templateSum
}

// makeTemplate runs the guide's commands, each offline from the module
// cache first and through the module proxy only when that fails: go mod
// tidy, for one, wants the test-only dependencies of hoist's dependencies,
// which hoist's own go.sum need not list.
func makeTemplate(ctx context.Context, dir string) ([]byte, []byte, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "deps.go"), []byte(templateDeps), 0o644); err != nil {
		return nil, nil, err
	}
	gocmd := func(proxy string, args ...string) error {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if proxy != "" {
			cmd.Env = append(cmd.Env, "GOPROXY="+proxy)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s (GOPROXY=%q): %v\n%s", strings.Join(args, " "), proxy, err, out)
		}
		return nil
	}
	for _, args := range [][]string{
		{"mod", "init", "example.com/template/magefiles"},
		// go mod edit -tool, not go get -tool: go get asks the module proxy
		// for the newest hoist even though a replace directive points at
		// this checkout, and a proxy that answers 403 for unknown modules
		// makes that fatal.
		{"mod", "edit", "-require=github.com/hoistdev/hoist@v0.0.0", "-replace=github.com/hoistdev/hoist=" + hoistRoot,
			"-require=github.com/magefile/mage@v1.17.2", "-tool=github.com/hoistdev/hoist/cmd/mage", "-tool=github.com/hoistdev/hoist/cmd/hoist-registry",
			"-tool=github.com/hoistdev/hoist/cmd/hoist"},
		{"mod", "tidy"},
	} {
		if offline := gocmd("off", args...); offline != nil {
			if online := gocmd("", args...); online != nil {
				return nil, nil, errors.Join(offline, online)
			}
		}
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return nil, nil, err
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	return mod, sum, err
}

// consumer is one throwaway repository that imports hoist's targets.
type consumer struct {
	t    testing.TB
	dir  string
	data string   // the embedded registry's data directory
	env  []string // the environment of every command
}

// gitDate pins commit times so that versions, stamps and digests repeat.
const gitDate = "2025-06-07T08:09:10Z"

// newConsumer writes files (slash-separated paths) into a new repository,
// adds the magefiles module unless files has no magefiles/ entry, tidies
// it and commits everything.
func newConsumer(t testing.TB, files map[string]string) *consumer {
	t.Helper()
	readCheckout(t)
	c := &consumer{t: t, dir: filepath.Join(t.TempDir(), "repo"), data: t.TempDir()}
	// One mage cache for every consumer: mage names a compiled magefile
	// by its content, so consumers with the same magefile compile it once.
	c.env = append(consumerEnv(filepath.Join(work, "magecache"), c.data), "HOIST_VULN_DB="+emptyVulnDB(t))
	writeTree(t, c.dir, files)
	if _, ok := files["magefiles/magefile.go"]; ok {
		mod, sum := magefilesModule(t)
		mod = regexp.MustCompile(`(?m)^module .*$`).ReplaceAll(mod, []byte("module example.com/consumer/magefiles"))
		writeTree(t, c.dir, map[string]string{"magefiles/go.mod": string(mod), "magefiles/go.sum": string(sum)})
		c.run("magefiles", "go", "mod", "tidy")
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-qm", "feat: first"}} {
		c.run(".", "git", args...)
	}
	return c
}

var (
	vulnDBOnce sync.Once
	vulnDBURL  string
)

// emptyVulnDB is a vulnerability database in the v1 layout with no entry,
// for releases whose vulnerability gate must run offline; the gate's own
// tests use one with an entry.
func emptyVulnDB(t testing.TB) string {
	vulnDBOnce.Do(func() {
		dir := filepath.Join(work, "vulndb")
		writeTree(t, dir, map[string]string{"index/db.json": `{"modified":"2026-01-01T00:00:00Z"}`, "index/modules.json": "[]"})
		vulnDBURL = "file://" + filepath.ToSlash(dir)
	})
	return vulnDBURL
}

// privateCache gives the consumer a mage cache of its own, for tests that
// run in parallel (two mage runs must not compile into one cache file at
// once) or that look at what a first compile prints.
func (c *consumer) privateCache() {
	for i, kv := range c.env {
		if strings.HasPrefix(kv, "MAGEFILE_CACHE=") {
			c.env[i] = "MAGEFILE_CACHE=" + c.t.TempDir()
		}
	}
}

// consumerEnv is the caller's environment without anything that would
// change what hoist or mage do, plus a private mage cache, the embedded
// registry's data directory, no module proxy and a fixed git identity.
func consumerEnv(cache, data string) []string {
	drop := []string{"PLATFORMS", "REGISTRY", "CI", "SOURCE_DATE_EPOCH", "BUMP", "DIGESTS", "JSON", "SNAPSHOT", "TIDY",
		"COVERAGE_MIN", "TEST_ARGS", "RACE", "TEST_TIMEOUT", "GOPROXY", "GOWORK", "XDG_DATA_HOME", "COSIGN_KEY", "COSIGN_PASSWORD", "COSIGN_PUBLIC_KEY"}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(drop, k) || strings.HasPrefix(k, "HOIST_") || strings.HasPrefix(k, "MAGEFILE_") || strings.HasPrefix(k, "GIT_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOPROXY=off", "GOWORK=off", "MAGEFILE_CACHE="+cache, "MAGEFILE_HASHFAST=1", "HOIST_REGISTRY_DATA="+data,
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Consumer", "GIT_AUTHOR_EMAIL=consumer@example.com", "GIT_AUTHOR_DATE="+gitDate,
		"GIT_COMMITTER_NAME=Consumer", "GIT_COMMITTER_EMAIL=consumer@example.com", "GIT_COMMITTER_DATE="+gitDate)
}

func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// run runs a command in a directory of the consumer and fails the test if
// it fails.
func (c *consumer) run(dir, name string, args ...string) string {
	c.t.Helper()
	cmd := exec.CommandContext(c.t.Context(), name, args...)
	cmd.Dir, cmd.Env = filepath.Join(c.dir, dir), c.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// mage runs the mage CLI the way the guide says, from the repository root:
// go tool -C magefiles mage -w .. ARGS. env adds KEY=value pairs.
func (c *consumer) mage(env []string, args ...string) (string, error) {
	c.t.Helper()
	argv := append([]string{"tool", "-C", "magefiles", "mage", "-w", ".."}, args...)
	return c.exec(env, "go", argv...)
}

// exec runs a command at the repository root with the consumer's
// environment plus env and returns its combined output.
func (c *consumer) exec(env []string, name string, args ...string) (string, error) {
	c.t.Helper()
	cmd := exec.CommandContext(c.t.Context(), name, args...)
	cmd.Dir, cmd.Env = c.dir, append(slices.Clone(c.env), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// mustMage is mage for steps that have to succeed.
func (c *consumer) mustMage(env []string, args ...string) string {
	c.t.Helper()
	out, err := c.mage(env, args...)
	if err != nil {
		c.t.Fatalf("mage %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// head returns the full and the short hash of HEAD, as hoist abbreviates it.
func (c *consumer) head() (string, string) {
	c.t.Helper()
	f := strings.Fields(c.run(".", "git", "log", "-1", "--format=%H %h"))
	return f[0], f[1]
}

func (c *consumer) path(rel string) string { return filepath.Join(c.dir, filepath.FromSlash(rel)) }

// hostPlatform is the platform whose binaries the test can run.
func hostPlatform() string { return runtime.GOOS + "/" + runtime.GOARCH }

// platforms returns a PLATFORMS value: the host first, then the others,
// without repeats.
func platforms(others ...string) string {
	ps := []string{hostPlatform()}
	for _, p := range others {
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return strings.Join(ps, ",")
}

// lines counts the lines of a file's content.
func lines(content string) int {
	return strings.Count(strings.TrimSuffix(content, "\n"), "\n") + 1
}
