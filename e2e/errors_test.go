package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConsumerErrors walks one repository through the mistakes a new
// consumer makes, in the order they are usually made, and checks that each
// fails through the mage CLI with a message naming the fix.
func TestConsumerErrors(t *testing.T) {
	c := newConsumer(t, map[string]string{
		"go.mod":                "module example.com/acme/early\n\ngo 1.26\n",
		"VERSION":               "0.1.0\n",
		"pkg/lib/lib.go":        "// Package lib is all this repository has so far.\npackage lib\n",
		"magefiles/magefile.go": zeroConfig,
	})
	fails := func(t *testing.T, out string, err error, wants ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("the target succeeded, want a failure naming %q:\n%s", wants, out)
		}
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}

	t.Run("no main package", func(t *testing.T) {
		out, err := c.mage(nil, "go:build")
		fails(t, out, err, "no main package in "+c.dir, "cmd/<name>/")
	})

	t.Run("go.mod missing", func(t *testing.T) {
		gomod := c.path("go.mod")
		os.WriteFile(c.path("main.go"), []byte(stampMain), 0o644)
		os.Rename(gomod, gomod+".off")
		defer os.Rename(gomod+".off", gomod)
		out, err := c.mage(nil, "go:build")
		fails(t, out, err, "no go.mod in "+c.dir, "go mod init")
	})

	t.Run("run inside magefiles without -w", func(t *testing.T) {
		out, err := c.exec(nil, "go", "tool", "-C", "magefiles", "mage", "go:build")
		fails(t, out, err, "-w ..", filepath.Join(c.dir, "magefiles"))
	})

	t.Run("run from the root without -C", func(t *testing.T) {
		// mage's own message: the service's module does not know hoist. A
		// fresh cache, because with a compiled magefile at hand mage would
		// skip parsing and never notice.
		out, err := c.exec([]string{"MAGEFILE_CACHE=" + t.TempDir()}, "go", "tool", "-modfile=magefiles/go.mod", "mage", "go:build")
		fails(t, out, err, "github.com/hoistdev/hoist/targets")
	})

	tests := []struct {
		name  string
		env   []string
		wants []string
	}{
		{name: "registry written as a URL", env: []string{"REGISTRY=https://ghcr.io/acme"}, wants: []string{"hoist configuration", `"ghcr.io/acme"`}},
		{name: "registry with a tag", env: []string{"REGISTRY=ghcr.io/acme/app:latest"}, wants: []string{"tag or digest"}},
		{name: "insecure host no registry uses", env: []string{"REGISTRY=10.0.0.5:5000/team", "HOIST_INSECURE_REGISTRIES=10.0.0.6:5000"}, wants: []string{"HOIST_INSECURE_REGISTRIES", "10.0.0.5"}},
		{name: "tarball of a platform not built", env: []string{"PLATFORMS=linux/amd64", "HOIST_IMAGE_TARBALL=linux/arm64"}, wants: []string{"Image.Tarball", "PLATFORMS"}},
		{name: "bad platform", env: []string{"PLATFORMS=linux"}, wants: []string{"PLATFORMS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.RemoveAll(c.path("dist"))
			out, err := c.mage(tt.env, "go:build")
			fails(t, out, err, tt.wants...)
			if _, statErr := os.Stat(c.path("dist")); statErr == nil {
				t.Errorf("dist/ exists: the conflict was found after building, want before")
			}
		})
	}

	t.Run("hoist-registry not a tool", func(t *testing.T) {
		c.run("magefiles", "go", "mod", "edit", "-droptool=github.com/hoistdev/hoist/cmd/hoist-registry")
		defer c.run("magefiles", "go", "mod", "edit", "-tool=github.com/hoistdev/hoist/cmd/hoist-registry")
		out, err := c.mage([]string{"PLATFORMS=linux/amd64"}, "image:push")
		fails(t, out, err, `no such tool "hoist-registry"`, "cd magefiles && go get -tool github.com/hoistdev/hoist/cmd/hoist-registry")
	})
}

// TestConfigConflictInMagefile checks that settings contradicting each
// other in the magefile stop every target before it builds anything.
func TestConfigConflictInMagefile(t *testing.T) {
	c := newConsumer(t, map[string]string{
		"go.mod":  "module example.com/acme/clock\n\ngo 1.26\n",
		"VERSION": "0.1.0\n",
		"main.go": stampMain,
		"magefiles/magefile.go": `//go:build mage

package main

import (
	"github.com/hoistdev/hoist/config"
	//mage:import
	"github.com/hoistdev/hoist/targets"
)

func init() {
	targets.Configure(func(c *config.Config) {
		c.Image.TZData = true
		c.Image.Base = "gcr.io/distroless/static:nonroot"
		c.Image.Main = "clockd"
	})
}
`,
	})
	out, err := c.mage(nil, "go:build")
	if err == nil {
		t.Fatalf("go:build succeeded with contradicting settings:\n%s", out)
	}
	for _, want := range []string{"hoist configuration", "Image.TZData", "gcr.io/distroless/static:nonroot", "drop TZData"} {
		if !strings.Contains(out, want) {
			t.Errorf("go:build output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(c.path("dist")); err == nil {
		t.Error("dist/ exists: the conflict was found after building, want before")
	}
	// With the base fixed, the entrypoint naming no binary is next.
	edited := strings.Replace(c.read("magefiles/magefile.go"), "\t\tc.Image.Base = \"gcr.io/distroless/static:nonroot\"\n", "", 1)
	os.WriteFile(c.path("magefiles/magefile.go"), []byte(edited), 0o644)
	out, err = c.mage(nil, "go:build")
	if err == nil || !strings.Contains(out, `Image.Main = "clockd"`) || !strings.Contains(out, "clock") {
		t.Errorf("go:build with Image.Main clockd = %v, want an error naming Image.Main and the binary clock:\n%s", err, out)
	}
}

func (c *consumer) read(rel string) string {
	c.t.Helper()
	data, err := os.ReadFile(c.path(rel))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(data)
}

// TestOldMageCLI runs a mage CLI from before typed target arguments, as a
// globally installed mage can be, against the recommended layout.
func TestOldMageCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("installs mage v1.10.0")
	}
	old := oldMage(t)
	c := newConsumer(t, map[string]string{
		"go.mod":                "module example.com/acme/legacy\n\ngo 1.26\n",
		"VERSION":               "0.1.0\n",
		"main.go":               stampMain,
		"magefiles/magefile.go": leadingImports,
	})
	oldMageRun := func(args ...string) (string, error) {
		cmd := exec.CommandContext(t.Context(), old, args...)
		cmd.Dir, cmd.Env = c.path("magefiles"), append(c.env, "PLATFORMS="+hostPlatform())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	list, err := oldMageRun("-l")
	if err != nil {
		t.Fatalf("mage v1.10.0 -l: %v\n%s", err, list)
	}
	if !strings.Contains(list, "release:snapshot") || strings.Contains(list, "release:level") {
		t.Errorf("mage v1.10.0 -l = %s\nwant release:snapshot listed and release:level dropped", list)
	}

	out, err := oldMageRun("-w", "..", "go:build")
	if err != nil {
		t.Fatalf("mage v1.10.0 go:build: %v\n%s", err, out)
	}
	for _, want := range []string{"mage CLI is v1.10.0", "release:level is missing", "upgrade mage: go get -tool github.com/hoistdev/hoist/cmd/mage"} {
		if !strings.Contains(out, want) {
			t.Errorf("mage v1.10.0 go:build output lacks %q:\n%s", want, out)
		}
	}

	out, err = oldMageRun("-w", "..", "release:level", "patch")
	if err == nil || !strings.Contains(out, "Unknown targets specified: release:level, patch") {
		t.Errorf("mage v1.10.0 release:level patch = %v, want the failure the guide documents:\n%s", err, out)
	}

	// The pinned CLI of the same repository lists and runs it.
	if list := c.mustMage(nil, "-l"); !strings.Contains(list, "release:level") {
		t.Errorf("go tool mage -l lacks release:level:\n%s", list)
	}
	if out := c.mustMage([]string{"PLATFORMS=" + hostPlatform()}, "go:build"); strings.Contains(out, "warning") {
		t.Errorf("go tool mage go:build warns:\n%s", out)
	}
}

// oldMage installs mage v1.10.0, the last CLI without typed target
// arguments, from the module cache or the module proxy.
func oldMage(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(work, "mage-v1.10.0")
	exe := filepath.Join(bin, "mage")
	if _, err := os.Stat(exe); err == nil {
		return exe
	}
	var errs []string
	for _, proxy := range []string{"off", os.Getenv("GOPROXY")} {
		cmd := exec.CommandContext(t.Context(), "go", "install", "github.com/magefile/mage@v1.10.0")
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=", "GOWORK=off")
		if proxy != "" {
			cmd.Env = append(cmd.Env, "GOPROXY="+proxy)
		}
		out, err := cmd.CombinedOutput()
		if err == nil {
			return exe
		}
		errs = append(errs, string(out))
	}
	t.Skipf("cannot install mage v1.10.0 from the module cache or proxy:\n%s", strings.Join(errs, "\n"))
	return ""
}

// leadingImports is the ten-line magefile with the //mage:import markers
// above the imports: old mage CLIs (v1.10 among them) read no trailing
// marker, so a magefile written for one has this form.
const leadingImports = `//go:build mage

package main

import (
	//mage:import
	_ "github.com/hoistdev/hoist/targets"
	//mage:import
	_ "github.com/hoistdev/hoist/targets/release"
)
`
