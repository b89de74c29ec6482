package e2e

import (
	"archive/tar"
	"debug/macho"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/registry"
)

// adopterMagefile shapes the outputs the way a repository that publishes
// with GoReleaser already does: v-prefixed and per-architecture image
// tags, a server that ships only as a linux image at /app, a CLI with
// archives of its own for every platform and a universal macOS binary,
// and a source archive. The coverage gate is the default ratchet.
const adopterMagefile = `//go:build mage

package main

import (
	"github.com/hoistdev/hoist/config"
	//mage:import
	"github.com/hoistdev/hoist/targets"
	//mage:import
	_ "github.com/hoistdev/hoist/targets/release"
)

func init() {
	targets.Set(targets.ImageTagPrefix("v"), targets.ArchTags, targets.BinaryPath("shopd", "/app"), targets.Universal, targets.SourceArchive)
	targets.Configure(func(c *config.Config) {
		c.Binaries = map[string]config.Binary{
			"shopctl": {OwnArchive: true, NoImage: true},
			"shopd":   {Platforms: []string{"linux/amd64", "linux/arm64"}, NoArchive: true},
		}
	})
}
`

// calc is a package whose tests cover half of it.
const (
	calcSrc  = "package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n\n// Sub subtracts.\nfunc Sub(a, b int) int { return a - b }\n"
	calcTest = "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fail()\n\t}\n}\n"
)

// TestAdopterShapes releases a repository shaped like one that publishes
// with GoReleaser today, through go tool mage, and checks every name and
// shape its users pin; then a commit that lowers coverage is refused by
// the ratchet the first release recorded, before anything changes.
func TestAdopterShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four platforms and releases")
	}
	c := newConsumer(t, map[string]string{
		"go.mod":                     "module example.com/acme/shop\n\ngo 1.26\n",
		"VERSION":                    "0.1.0\n",
		".gitignore":                 "/dist/\n",
		"cmd/shopctl/main.go":        stampMain,
		"cmd/shopd/main.go":          stampMain,
		"internal/calc/calc.go":      calcSrc,
		"internal/calc/calc_test.go": calcTest,
		"magefiles/magefile.go":      adopterMagefile,
	})
	env := []string{"PLATFORMS=linux/amd64,linux/arm64,darwin/amd64,darwin/arm64"}
	out := c.mustMage(env, "release")
	if !strings.Contains(out, "coverage ratchet: no release tag yet") {
		t.Errorf("the first release does not say the ratchet has nothing to hold it to:\n%s", out)
	}
	if msg := c.run(".", "git", "tag", "-l", "--format=%(contents)", "v0.1.0"); !strings.Contains(msg, "hoist-coverage: ") {
		t.Errorf("the tag records no coverage:\n%s", msg)
	}

	// Archives: the CLI's own, for every platform and darwin/all; none of
	// the server, none named after the project.
	var archives []string
	m := readManifest(t, c.path("dist/release.json"))
	for _, a := range m.Artifacts {
		if a.Type == "archive" || a.Type == "sbom" {
			archives = append(archives, a.Name)
		}
	}
	for _, want := range []string{"shopctl_0.1.0_linux_amd64.tar.gz", "shopctl_0.1.0_darwin_arm64.tar.gz", "shopctl_0.1.0_darwin_all.tar.gz",
		"shopctl_0.1.0_darwin_all.spdx.json", "shop_0.1.0_source.tar.gz", "shop_0.1.0_source.spdx.json"} {
		if !slices.Contains(archives, want) {
			t.Errorf("release lacks %s: %v", want, archives)
		}
	}
	for _, a := range archives {
		if strings.HasPrefix(a, "shopd_") || (strings.HasPrefix(a, "shop_") && !strings.Contains(a, "_source.")) {
			t.Errorf("release has %s, which the configuration leaves out", a)
		}
	}
	sums := c.read("dist/checksums.txt")
	if !strings.Contains(sums, "shop_0.1.0_source.tar.gz") || !strings.Contains(sums, "shopctl_0.1.0_darwin_all.tar.gz") {
		t.Errorf("checksums.txt:\n%s", sums)
	}
	ff, err := macho.OpenFat(c.path("dist/shopctl_darwin_all/shopctl"))
	if err != nil {
		t.Fatalf("the universal binary: %v", err)
	}
	if len(ff.Arches) != 2 || ff.Arches[0].Cpu != macho.CpuAmd64 || ff.Arches[1].Cpu != macho.CpuArm64 {
		t.Errorf("universal binary arches: %+v", ff.Arches)
	}
	ff.Close()

	// The image: the server alone, at /app, which the entrypoint runs;
	// v-prefixed tags and one per architecture on that platform's
	// manifest.
	_, images := readLayout(t, c.path("dist/image"), "shop:v0.1.0")
	for plat, img := range images {
		if !slices.Equal(img.cfg.Config.Entrypoint, []string{"/app"}) {
			t.Errorf("%s entrypoint %v", plat, img.cfg.Config.Entrypoint)
		}
		wantFile(t, plat, img, "app", tar.TypeReg, 0o755, 0)
		for name := range img.files {
			if strings.Contains(name, "shopctl") {
				t.Errorf("%s image holds /%s", plat, name)
			}
		}
	}
	var list struct{ Artifacts []artifact.Artifact }
	data, err := os.ReadFile(c.path("dist/artifacts.json"))
	if err == nil {
		err = json.Unmarshal(data, &list)
	}
	if err != nil {
		t.Fatalf("artifacts.json: %v", err)
	}
	var platforms int
	for _, a := range list.Artifacts {
		if a.Type != artifact.Image {
			continue
		}
		platforms++
		arch := strings.ReplaceAll(strings.TrimPrefix(a.Platform, "linux/"), "/", "")
		if !registry.Holds(c.data, "shop", "v0.1.0-"+arch, a.Digest) {
			t.Errorf("shop:v0.1.0-%s does not name the %s manifest", arch, a.Platform)
		}
	}
	if platforms != 2 || !strings.Contains(out, "shop:v0.1.0") {
		t.Errorf("%d platform images; output:\n%s", platforms, out)
	}

	// Less coverage: the ratchet refuses the next release, and nothing
	// moves.
	writeTree(t, c.dir, map[string]string{"internal/calc/more.go": "package calc\n\n// Mul multiplies.\nfunc Mul(a, b int) int { return a * b }\n\n// Div divides.\nfunc Div(a, b int) int { return a / b }\n"})
	c.run(".", "git", "add", ".")
	c.run(".", "git", "commit", "-qm", "feat: more arithmetic")
	before := c.state()
	out, err = c.mage(env, "release")
	if err == nil || !strings.Contains(out, "coverage ratchet: at least") || !strings.Contains(out, "below") || !strings.Contains(out, "COVERAGE_MIN") {
		t.Fatalf("a release with less coverage = %v:\n%s", err, out)
	}
	if after := c.state(); after.Head != before.Head || after.Tags != before.Tags {
		t.Errorf("the refused release changed the repository")
	}
}

// TestImpossibleEntrypoint: an entrypoint the image will not hold is
// refused before anything is built, naming Image.Paths; a binary placed
// in the working directory and run as ./shopd is accepted and lands there.
func TestImpossibleEntrypoint(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles magefiles")
	}
	magefile := func(paths string) string {
		return `//go:build mage

package main

import (
	"github.com/hoistdev/hoist/config"
	//mage:import
	"github.com/hoistdev/hoist/targets"
)

func init() {
	targets.Configure(func(c *config.Config) {
		c.Image.Entrypoint = []string{"` + map[bool]string{true: "./shopd", false: "/app"}[paths != ""] + `"}
		` + paths + `
	})
}
`
	}
	c := newConsumer(t, map[string]string{
		"go.mod":                "module example.com/acme/shopd\n\ngo 1.26\n",
		"VERSION":               "0.1.0\n",
		"main.go":               stampMain,
		"magefiles/magefile.go": magefile(""),
	})
	out, err := c.mage([]string{"PLATFORMS=linux/amd64"}, "image:build")
	if err == nil || !strings.Contains(out, "Image.Entrypoint runs /app") || !strings.Contains(out, "Image.Paths") {
		t.Fatalf("image:build with Entrypoint /app = %v:\n%s", err, out)
	}
	if _, err := os.Stat(c.path("dist/shopd_linux_amd64")); err == nil {
		t.Error("the refused run built the binary")
	}
	writeTree(t, c.dir, map[string]string{"magefiles/magefile.go": magefile(`c.Image.Paths = map[string]string{"shopd": "shopd"}`)})
	c.mustMage([]string{"PLATFORMS=linux/amd64"}, "image:build")
	_, images := readLayout(t, c.path("dist/image"), "shopd:0.1.0")
	for plat, img := range images {
		wantFile(t, plat, img, "home/nonroot/shopd", tar.TypeReg, 0o755, 0)
		if !slices.Equal(img.cfg.Config.Entrypoint, []string{"./shopd"}) || img.cfg.Config.WorkingDir != "/home/nonroot" {
			t.Errorf("%s: entrypoint %v in %s", plat, img.cfg.Config.Entrypoint, img.cfg.Config.WorkingDir)
		}
	}
}
