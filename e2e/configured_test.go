package e2e

import (
	"archive/tar"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// guideMagefile returns the Go block that follows marker in the consumer
// guide, so that the guide's example is the code under test.
func guideMagefile(t *testing.T, marker string) string {
	t.Helper()
	return guideBlock(t, marker, "go")
}

// guideBlock returns the code block in lang (go, sh) that follows marker
// in docs/consumers.md.
func guideBlock(t *testing.T, marker, lang string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(hoistRoot, "docs", "consumers.md"))
	if err != nil {
		t.Fatalf("read the consumer guide: %v", err)
	}
	_, rest, ok := strings.Cut(string(doc), marker)
	if !ok {
		t.Fatalf("docs/consumers.md has no %s marker", marker)
	}
	_, rest, ok = strings.Cut(rest, "```"+lang+"\n")
	code, _, ok2 := strings.Cut(rest, "```\n")
	if !ok || !ok2 {
		t.Fatalf("docs/consumers.md has no %s block after %s", lang, marker)
	}
	return code
}

// newRegistry starts an in-process registry on loopback and returns its
// host:port.
func newRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// shopFiles is the repository the guide's configured magefile is written
// for: a module whose last element is not the product name, three
// commands of which two ship, stamp variables outside main, and a UI whose
// sources must not ship but whose build output must.
func shopFiles(t *testing.T) map[string]string {
	const cmd = `package main

import (
	"fmt"

	"example.com/acme/shop-api/internal/buildinfo"
)

func main() { fmt.Printf("version=%s commit=%s\n", buildinfo.Version, buildinfo.REVISION) }
`
	return map[string]string{
		"go.mod":                               "module example.com/acme/shop-api\n\ngo 1.26\n",
		"VERSION":                              "1.4.2\n",
		".gitignore":                           "/dist/\n",
		"cmd/shop/main.go":                     cmd,
		"cmd/shopctl/main.go":                  cmd,
		"cmd/devtool/main.go":                  cmd,
		"internal/buildinfo/buildinfo.go":      "// Package buildinfo holds what the build stamps.\npackage buildinfo\n\n// Set by the build.\nvar Version, REVISION = \"dev\", \"none\"\n\n// String is the one-line build description.\nfunc String() string { return Version + \" \" + REVISION }\n",
		"internal/buildinfo/buildinfo_test.go": "package buildinfo\n\nimport \"testing\"\n\nfunc TestString(t *testing.T) {\n\tif got := String(); got != \"dev none\" {\n\t\tt.Errorf(\"String() = %q, want dev none\", got)\n\t}\n}\n",
		"ui/dist/index.html":                   "<!doctype html><title>shop</title>\n",
		"ui/src/app.ts":                        "export {}\n",
		"magefiles/magefile.go":                guideMagefile(t, "<!-- e2e:configured-magefile -->"),
	}
}

// TestGuideConfiguredRelease runs the guide's fully configured magefile
// through an alias and a real release to two registries, then checks every
// convention the magefile overrides.
func TestGuideConfiguredRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("a full release with go test -race")
	}
	c := newConsumer(t, shopFiles(t))
	commit, _ := c.head()
	reg1, reg2 := newRegistry(t), newRegistry(t)
	registries := "REGISTRY=" + reg1 + "/acme," + reg2 + "/team"

	// The alias builds the configured mains for the configured platforms.
	out := c.mustMage(nil, "build")
	for _, p := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
		for _, b := range []string{"shop", "shopctl"} {
			if _, err := os.Stat(c.binary(b, p)); err != nil {
				t.Errorf("alias build for %s: %v\n%s", p, err, out)
			}
		}
		if _, err := os.Stat(c.binary("devtool", p)); err == nil {
			t.Errorf("devtool was built for %s although Mains leaves it out", p)
		}
	}

	out = c.mustMage([]string{registries, "COVERAGE_MIN=-1"}, "release")
	if tags := c.run(".", "git", "tag", "--list"); strings.TrimSpace(tags) != "v1.4.2" {
		t.Errorf("git tags after release = %q, want v1.4.2\n%s", tags, out)
	}
	m := readManifest(t, c.path("dist/release.json"))
	if m.Version != "1.4.2" || m.Tag != "v1.4.2" || m.Snapshot || m.Commit != commit {
		t.Errorf("release.json = version %s tag %s snapshot %v commit %s, want 1.4.2, v1.4.2, false, %s", m.Version, m.Tag, m.Snapshot, m.Commit, commit)
	}
	checkChecksums(t, c.path("dist"))
	var refs []string
	digests := map[string]bool{}
	for _, im := range m.Images {
		refs = append(refs, im.Ref)
		digests[im.Digest] = true
	}
	for _, repo := range []string{reg1 + "/acme/shop", reg2 + "/team/shop"} {
		for _, tag := range []string{"1.4.2", "1.4", "latest"} {
			if !slices.Contains(refs, repo+":"+tag) {
				t.Errorf("release.json images lack %s:%s; have %v", repo, tag, refs)
			}
		}
	}
	if len(digests) != 1 {
		t.Errorf("release.json images point at %d digests, want one index everywhere: %v", len(digests), m.Images)
	}

	// Pull the release back from the second registry by its floating tag.
	idx := pullIndex(t, reg2+"/team/shop:latest")
	d, _ := idx.Digest()
	if !digests[d.String()] {
		t.Errorf("%s/team/shop:latest = %s, want the digest in release.json", reg2, d)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, desc := range im.Manifests {
		plats = append(plats, platformKey(desc.Platform))
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		pi := platformImage{cfg: cfg, files: flatten(t, img)}
		plat := platformKey(desc.Platform)
		if !slices.Equal(cfg.Config.Entrypoint, []string{"/usr/local/bin/shop"}) {
			t.Errorf("%s entrypoint = %v, want /usr/local/bin/shop", plat, cfg.Config.Entrypoint)
		}
		wantFile(t, plat, pi, "usr/local/bin/shop", tar.TypeReg, 0o755, 0)
		wantFile(t, plat, pi, "usr/local/bin/shopctl", tar.TypeReg, 0o755, 0)
		wantFile(t, plat, pi, "srv/ui/index.html", tar.TypeReg, 0o440, 65532)
		for _, absent := range []string{"usr/local/bin/devtool", "home/nonroot/ui"} {
			if _, ok := pi.files[absent]; ok {
				t.Errorf("%s image holds /%s, want it left out", plat, absent)
			}
		}
		for f := range pi.files {
			if strings.HasSuffix(f, "app.ts") {
				t.Errorf("%s image holds the UI source /%s; only ui/dist belongs in it", plat, f)
			}
		}
	}
	if want := []string{"linux/amd64", "linux/arm/v7", "linux/arm64"}; !slices.Equal(sorted(plats), want) {
		t.Errorf("index platforms = %v, want %v", plats, want)
	}
	if slices.Contains([]string{"linux/amd64", "linux/arm64", "linux/arm/v7"}, hostPlatform()) {
		bin := c.binary("shop", hostPlatform())
		got, err := c.exec(nil, bin)
		if want := "version=1.4.2 commit=" + commit + "\n"; err != nil || got != want {
			t.Errorf("%s prints %q (%v), want %q from the configured VersionVars", bin, got, err, want)
		}
	}
}

// TestSplitAndMerge plays two CI runners that each build and push one
// platform by digest, and a merge job that joins them, as the guide shows.
func TestSplitAndMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("three checkouts")
	}
	c := newConsumer(t, shopFiles(t))
	reg := newRegistry(t)
	registry := "REGISTRY=" + reg + "/acme"
	merge := c.clone("merge")
	var want []string
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		runner := c.clone(strings.ReplaceAll(p, "/", "-"))
		out := runner.mustMage([]string{"PLATFORMS=" + p, registry}, "image:pushByDigest")
		files, _ := filepath.Glob(runner.path("dist/digests/*.digest"))
		if len(files) != 1 {
			t.Fatalf("runner %s wrote digests %v, want one file\n%s", p, files, out)
		}
		data, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, strings.TrimSpace(string(data)))
		writeTree(t, merge.dir, map[string]string{"dist/digests/" + filepath.Base(files[0]): string(data)})
	}
	out := merge.mustMage([]string{registry}, "image:merge")
	idx := pullIndex(t, reg+"/acme/shop:1.4.2")
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range im.Manifests {
		got = append(got, d.Digest.String())
	}
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("merged index holds %v, want the runners' digests %v\n%s", got, want, out)
	}
	for _, tag := range []string{"1.4", "latest"} {
		if other := pullIndex(t, reg+"/acme/shop:"+tag); digestOf(t, other) != digestOf(t, idx) {
			t.Errorf("shop:%s does not point at the merged index", tag)
		}
	}
}

// clone checks the consumer out again, as another CI runner would, sharing
// its environment and so its compiled magefile.
func (c *consumer) clone(name string) *consumer {
	c.t.Helper()
	dir := filepath.Join(c.t.TempDir(), name)
	c.run(".", "git", "clone", "-q", c.dir, dir)
	return &consumer{t: c.t, dir: dir, data: c.data, env: c.env}
}

func pullIndex(t *testing.T, ref string) v1.ImageIndex {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate.Index(%s) = %v", ref, err)
	}
	return idx
}

func digestOf(t *testing.T, idx v1.ImageIndex) string {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
