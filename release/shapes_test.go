package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/macho"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/registry"
)

// TestImageTagShapes: a v prefix on the version and MAJOR.MINOR tags (not
// on latest), no floating tags for a prerelease, and a Tags function that
// replaces the whole scheme.
func TestImageTagShapes(t *testing.T) {
	r := svcRepo(t)
	v := semver.MustParse("1.11.0")
	for _, c := range []struct {
		name string
		pub  config.Publish
		v    string
		want []string
	}{
		{"default", config.Publish{}, "1.11.0", []string{"1.11.0"}},
		{"v prefix", config.Publish{TagPrefix: "v", Latest: true, MinorTag: true}, "1.11.0", []string{"v1.11.0", "v1.11", "latest"}},
		{"v prefix, prerelease", config.Publish{TagPrefix: "v", Latest: true, MinorTag: true}, "1.12.0-rc.1", []string{"v1.12.0-rc.1"}},
		{"a function", config.Publish{Tags: func(v *semver.Version) []string {
			return []string{"release-" + v.String(), "stable"}
		}}, "1.11.0", []string{"release-1.11.0", "stable"}},
	} {
		w, _ := open(t, r.dir, nil, func(cfg *config.Config) { cfg.Publish = c.pub })
		if c.v != "" {
			v = semver.MustParse(c.v)
		}
		if got := w.ImageTags(v); !slices.Equal(got, c.want) {
			t.Errorf("%s: ImageTags(%s) = %v, want %v", c.name, v, got, c.want)
		}
		if got := w.VersionTag(v); got != c.want[0] {
			t.Errorf("%s: VersionTag = %q, want %q", c.name, got, c.want[0])
		}
	}
	if err := checkTags(nil); err == nil || !strings.Contains(err.Error(), "Publish.Tags") {
		t.Errorf("checkTags(nil) = %v", err)
	}
}

// TestOpenRefusesImpossibleEntrypoint: an entrypoint the image will not
// hold is refused when the workspace opens, before any target builds,
// in the configuration's own words.
func TestOpenRefusesImpossibleEntrypoint(t *testing.T) {
	r := svcRepo(t)
	cfg := config.Defaults()
	cfg.Dir = r.dir
	cfg.Image.Entrypoint = []string{"/app"}
	_, err := Open(cfg, config.Env{}, nil)
	if err == nil || !strings.Contains(err.Error(), "Image.Entrypoint runs /app") || !strings.Contains(err.Error(), "Image.Paths") {
		t.Fatalf("Open with Entrypoint /app = %v", err)
	}
	cfg.Image.Paths = map[string]string{"svc": "/app"}
	if _, err := Open(cfg, config.Env{}, nil); err != nil {
		t.Fatalf("Open with the binary at /app = %v", err)
	}
}

// TestPerBinaryShapes releases a CLI as archives for every platform beside
// a server that ships only as a linux image, at /app: the plan and the
// run agree, no archive or SBOM of the server exists, the CLI is not in
// the image.
func TestPerBinaryShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and releases")
	}
	r := svcRepo(t)
	r.write("cmd/server/main.go", "package main\n\nvar version string\n\nfunc main() { println(version) }\n")
	r.change("feat: a server")
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64,darwin/arm64"},
		edit: func(c *config.Config) {
			c.Binaries = map[string]config.Binary{
				"server": {Platforms: []string{"linux/amd64"}, NoArchive: true},
				"svc":    {NoImage: true, OwnArchive: true},
			}
			c.Image.Paths = map[string]string{"server": "/app"}
			c.Name = "acme" // the project's archives would be acme_…; svc has its own
		}}
	rl.embedded(t.TempDir())
	p := rl.plan(ModeRelease, nil)
	out, err := rl.run(ModeRelease, nil, okGates)
	if err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	m := rl.manifest()
	samePlanAndRun(t, p, m)
	var files []string
	for _, a := range m.Artifacts {
		files = append(files, string(a.Type)+" "+a.Name+" "+a.Platform)
	}
	for _, want := range []string{"binary server linux/amd64", "binary svc darwin/arm64", "binary svc linux/amd64",
		"archive svc_1.4.0_linux_amd64.tar.gz linux/amd64", "archive svc_1.4.0_darwin_arm64.tar.gz darwin/arm64",
		"sbom svc_1.4.0_linux_amd64.spdx.json linux/amd64"} {
		if !slices.Contains(files, want) {
			t.Errorf("release.json lacks %q:\n%s", want, strings.Join(files, "\n"))
		}
	}
	for _, f := range files {
		if strings.Contains(f, "server_") || strings.Contains(f, "acme_") || strings.HasPrefix(f, "binary server darwin") {
			t.Errorf("release.json has %q, which the configuration leaves out", f)
		}
	}
	if !strings.Contains(out, "image: ") && len(m.Images) == 0 {
		t.Fatalf("no image pushed:\n%s", out)
	}
	w, _ := open(t, r.dir, rl.env, rl.edit)
	bins, cfg, err := w.imageInputs("image:build", Stamp{Version: semver.MustParse("1.4.0")}, w.Arts.All(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) != 1 || bins[0].Name != "server" || cfg.Main != "server" || cfg.BinaryPath("server") != "/app" {
		t.Errorf("image inputs: %+v, main %s", bins, cfg.Main)
	}
}

// TestSourceArchive: the release carries the released commit's files,
// only those, under <project>-<version>/, in checksums.txt, and the same
// bytes when packed again from scratch.
func TestSourceArchive(t *testing.T) {
	r := svcRepo(t)
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64"},
		edit: func(c *config.Config) { c.Image.Skip, c.Release.SourceArchive = true, true }}
	p := rl.plan(ModeRelease, nil)
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	m := rl.manifest()
	samePlanAndRun(t, p, m)
	file := filepath.Join(r.dir, "dist", "svc_1.4.0_source.tar.gz")
	first, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	for _, want := range []string{"svc-1.4.0/go.mod", "svc-1.4.0/cmd/svc/main.go", "svc-1.4.0/VERSION"} {
		if !slices.Contains(names, want) {
			t.Errorf("source archive lacks %s: %v", want, names)
		}
	}
	sums, _ := os.ReadFile(filepath.Join(r.dir, "dist", ChecksumsFile))
	if !strings.Contains(string(sums), "svc_1.4.0_source.tar.gz") || !strings.Contains(string(sums), "svc_1.4.0_source.spdx.json") {
		t.Errorf("checksums.txt does not list the source archive and its SBOM:\n%s", sums)
	}
	doc, err := os.ReadFile(filepath.Join(r.dir, "dist", "svc_1.4.0_source.spdx.json"))
	sum := sha256.Sum256(first)
	if err != nil || !strings.Contains(string(doc), "pkg:golang/example.com/acme/svc@v1.4.0") || !strings.Contains(string(doc), hex.EncodeToString(sum[:])) {
		t.Errorf("the source SBOM does not name the module and the archive's digest (%v):\n%s", err, doc)
	}
	// Packed again from scratch, with an untracked file in the tree.
	r.write("scratch.txt", "not committed\n")
	if err := os.RemoveAll(filepath.Join(r.dir, "dist")); err != nil {
		t.Fatal(err)
	}
	w, _ := open(t, r.dir, rl.env, rl.edit)
	st, err := w.CurrentStamp(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.BuildBinaries(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Pack(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(file)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("the source archive differs when packed again (%v)", err)
	}
}

// TestUniversalDarwin releases a universal macOS binary beside (and then
// instead of) the two it is made of, as the plan says.
func TestUniversalDarwin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds for two darwin platforms")
	}
	r := svcRepo(t)
	replace := false
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "darwin/amd64,darwin/arm64"},
		edit: func(c *config.Config) {
			c.Image.Skip, c.Release.Universal, c.Release.UniversalReplace = true, true, replace
		}}
	p := rl.plan(ModeRelease, nil)
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	samePlanAndRun(t, p, rl.manifest())
	fat := filepath.Join(r.dir, "dist", "svc_darwin_all", "svc")
	ff, err := macho.OpenFat(fat)
	if err != nil {
		t.Fatalf("the universal binary: %v", err)
	}
	ff.Close()
	if len(ff.Arches) != 2 {
		t.Fatalf("arches: %d", len(ff.Arches))
	}
	for _, f := range []string{"svc_1.4.0_darwin_all.tar.gz", "svc_1.4.0_darwin_all.spdx.json", "svc_1.4.0_darwin_amd64.tar.gz"} {
		if _, err := os.Stat(filepath.Join(r.dir, "dist", f)); err != nil {
			t.Errorf("dist lacks %s", f)
		}
	}
	r.change("fix: again")
	replace = true
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	var archives []string
	for _, a := range rl.manifest().Artifacts {
		if a.Type == "archive" {
			archives = append(archives, a.Name)
		}
	}
	if !slices.Equal(archives, []string{"svc_1.4.1_darwin_all.tar.gz"}) {
		t.Errorf("with UniversalReplace the archives are %v", archives)
	}
}

// TestArchiveName names the archives without the version and the checksum
// list after the project and version, as some repositories publish them,
// in the plan and the run alike.
func TestArchiveName(t *testing.T) {
	r := svcRepo(t)
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64,windows/amd64"},
		edit: func(c *config.Config) {
			c.Image.Skip = true
			c.Release.ArchiveName = func(name, _, os, arch, variant string) string { return name + "-" + os + "-" + arch + variant }
			c.Release.ChecksumsName = func(project, version string) string { return project + "_" + version + "_checksums.txt" }
		}}
	p := rl.plan(ModeRelease, nil)
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	samePlanAndRun(t, p, rl.manifest())
	for _, f := range []string{"svc-linux-amd64.tar.gz", "svc-windows-amd64.zip", "svc_1.4.0_checksums.txt"} {
		if _, err := os.Stat(filepath.Join(r.dir, "dist", f)); err != nil {
			t.Errorf("dist lacks %s", f)
		}
	}
}

// TestArchTags releases with v-prefixed tags and per-architecture tags to
// the embedded registry: each TAG-ARCH names that platform's manifest.
func TestArchTags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and pushes")
	}
	r := svcRepo(t)
	data := t.TempDir()
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64,linux/arm64"},
		edit: func(c *config.Config) { c.Publish.TagPrefix, c.Publish.ArchTags, c.Publish.MinorTag = "v", true, true }}
	rl.embedded(data)
	p := rl.plan(ModeRelease, nil)
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	m := rl.manifest()
	samePlanAndRun(t, p, m)
	w, _ := open(t, r.dir, rl.env, rl.edit)
	var images int
	for _, a := range artifact.Select(w.Arts.All(), artifact.ByType(artifact.Image)) {
		images++
		arch := strings.ReplaceAll(strings.TrimPrefix(a.Platform, "linux/"), "/", "")
		for _, tag := range []string{"v1.4.0-" + arch, "v1.4-" + arch} {
			if !registry.Holds(data, "svc", tag, a.Digest) {
				t.Errorf("svc:%s does not name the %s manifest %s", tag, a.Platform, a.Digest)
			}
		}
	}
	if images != 2 {
		t.Fatalf("%d platform images recorded", images)
	}
	for _, i := range m.Images {
		if strings.HasSuffix(i.Ref, ":v1.4.0") && !registry.Holds(data, "svc", "v1.4.0", i.Digest) {
			t.Errorf("svc:v1.4.0 does not name the index %s", i.Digest)
		}
	}
}

// TestRenamedBinary builds cmd/svc as svcd: the file, the archive entry,
// the SBOM and the image's binary take the new name, and the workspace's
// own configuration opens again (as release:verify's clones do).
func TestRenamedBinary(t *testing.T) {
	r := svcRepo(t)
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64"},
		edit: func(c *config.Config) { c.Binaries = map[string]config.Binary{"svc": {Name: "svcd"}} }}
	rl.embedded(t.TempDir())
	p := rl.plan(ModeRelease, nil)
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	samePlanAndRun(t, p, rl.manifest())
	for _, f := range []string{"svcd_linux_amd64/svcd", "svcd_1.4.0_linux_amd64.spdx.json"} {
		if _, err := os.Stat(filepath.Join(r.dir, "dist", f)); err != nil {
			t.Errorf("dist lacks %s", f)
		}
	}
	w, _ := open(t, r.dir, rl.env, rl.edit)
	if _, err := Open(w.Cfg, w.Env, nil); err != nil {
		t.Fatalf("opening the workspace's configuration again: %v", err)
	}
	if main, err := w.imageMain(); err != nil || main != "svcd" {
		t.Errorf("image main = %q, %v", main, err)
	}
	cfg := config.Defaults()
	cfg.Dir = r.dir
	cfg.Binaries = map[string]config.Binary{"svc": {Name: "x/y"}}
	if _, err := Open(cfg, config.Env{}, nil); err == nil || !strings.Contains(err.Error(), "plain file name") {
		t.Errorf("a path as a binary name: %v", err)
	}
}
