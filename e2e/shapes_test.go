package e2e

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoistdev/hoist/registry"
)

// stampMain is a main package that prints the three stamp variables of
// package main, the way the guide's examples do.
const stampMain = `package main

import "fmt"

var version, commit, date string

func main() { fmt.Printf("version=%s commit=%s date=%s\n", version, commit, date) }
`

// shape is one kind of repository hoist has to handle with no
// configuration beyond the ten-line magefile.
type shape struct {
	name     string
	files    map[string]string
	binaries []string // every binary go:build must produce
	main     string   // the binary the image's entrypoint runs
	name2    string   // the project name: archives and image repository
	extra    []string // platforms besides the host, linux/amd64 and linux/arm64
	// check inspects the built image of one platform for what the shape adds.
	check func(t *testing.T, plat string, img platformImage)
}

func shapes() []shape {
	return []shape{
		{
			name:     "root main",
			files:    map[string]string{"go.mod": "module example.com/acme/rootsvc\n\ngo 1.26\n", "main.go": stampMain},
			binaries: []string{"rootsvc"}, main: "rootsvc", name2: "rootsvc",
		},
		{
			// Two binaries, one named like the module, and a platform variant.
			name: "cmd a and b",
			files: map[string]string{
				"go.mod":        "module example.com/acme/a\n\ngo 1.26\n",
				"cmd/a/main.go": stampMain,
				"cmd/b/main.go": stampMain,
				"internal/x.go": "package internal\n",
			},
			binaries: []string{"a", "b"}, main: "a", name2: "a", extra: []string{"linux/arm/v7"},
			check: func(t *testing.T, plat string, img platformImage) {
				wantFile(t, plat, img, "usr/local/bin/b", tar.TypeReg, 0o755, 0)
			},
		},
		{
			// A major-version module: the name drops /v2, imports keep it.
			name: "v2 module",
			files: map[string]string{
				"go.mod":              "module example.com/acme/api/v2\n\ngo 1.26\n",
				"main.go":             "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/acme/api/v2/greet\"\n)\n\nvar version, commit, date string\n\nfunc main() { fmt.Printf(\"version=%s commit=%s date=%s %s\\n\", version, commit, date, greet.Hello()) }\n",
				"greet/greet.go":      "package greet\n\n// Hello proves the /v2 import path resolves.\nfunc Hello() string { return \"hello\" }\n",
				"greet/greet_test.go": "package greet\n\nimport \"testing\"\n\nfunc TestHello(t *testing.T) {\n\tif Hello() != \"hello\" {\n\t\tt.Fail()\n\t}\n}\n",
			},
			binaries: []string{"api"}, main: "api", name2: "api",
		},
		{
			// Static files next to the code: ui/ goes into the image under
			// the working directory; web/ is a Go package and stays out.
			name: "static files",
			files: map[string]string{
				"go.mod":            "module example.com/acme/site\n\ngo 1.26\n",
				"main.go":           stampMain,
				"ui/index.html":     "<!doctype html><title>site</title>\n",
				"ui/css/site.css":   "body { margin: 0 }\n",
				"ui/bin/warm.sh":    "#!/bin/sh\nexit 0\n",
				"web/handler.go":    "// Package web holds handlers, not assets.\npackage web\n",
				"assets/README.png": "not an image\n",
			},
			binaries: []string{"site"}, main: "site", name2: "site",
			check: func(t *testing.T, plat string, img platformImage) {
				wantFile(t, plat, img, "home/nonroot/ui", tar.TypeDir, 0o755, 0)
				wantFile(t, plat, img, "home/nonroot/ui/index.html", tar.TypeReg, 0o644, 0)
				wantFile(t, plat, img, "home/nonroot/ui/css/site.css", tar.TypeReg, 0o644, 0)
				wantFile(t, plat, img, "home/nonroot/ui/bin/warm.sh", tar.TypeReg, 0o755, 0)
				for name := range img.files {
					if strings.Contains(name, "handler.go") || strings.Contains(name, "README.png") {
						t.Errorf("%s image holds /%s, which is not a static directory", plat, name)
					}
				}
			},
		},
		{
			// The stamp variables live in pkg/version, named in upper case.
			name: "version outside main",
			files: map[string]string{
				"go.mod":             "module example.com/acme/vsvc\n\ngo 1.26\n",
				"cmd/vsvc/main.go":   "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/acme/vsvc/pkg/version\"\n)\n\nfunc main() {\n\tfmt.Printf(\"version=%s commit=%s date=%s\\n\", version.Version, version.REVISION, version.BuildDate)\n}\n",
				"pkg/version/v.go":   "// Package version holds what the build stamps.\npackage version\n\n// Stamped by the build.\nvar (\n\tVersion   = \"dev\"\n\tREVISION  = \"none\"\n\tBuildDate = \"unknown\"\n)\n",
				"cmd/vsvc/README.md": "vsvc\n",
			},
			binaries: []string{"vsvc"}, main: "vsvc", name2: "vsvc",
		},
	}
}

// TestShapes drives each shape through mage -l, go:build, image:build and
// release:snapshot with the real mage CLI and checks what they produce.
func TestShapes(t *testing.T) {
	for _, sh := range shapes() {
		t.Run(sh.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"VERSION": "0.3.0\n", ".gitignore": "/dist/\n", "magefiles/magefile.go": zeroConfig}
			for k, v := range sh.files {
				files[k] = v
			}
			c := newConsumer(t, files)
			c.privateCache() // the shapes run in parallel
			if n := lines(files["magefiles/magefile.go"]); n > 10 {
				t.Errorf("magefile has %d lines, want at most 10", n)
			}
			commit, short := c.head()
			plats := platforms(append([]string{"linux/amd64", "linux/arm64"}, sh.extra...)...)
			env := []string{"PLATFORMS=" + plats}

			list := c.mustMage(nil, "-l")
			for _, target := range []string{"go:build", "image:build", "image:push", "release", "release:snapshot", "release:level"} {
				if !strings.Contains(list, "\n  "+target+" ") {
					t.Errorf("mage -l lacks %s:\n%s", target, list)
				}
			}

			out := c.mustMage(env, "go:build")
			for _, p := range strings.Split(plats, ",") {
				for _, b := range sh.binaries {
					bin := c.binary(b, p)
					if _, err := os.Stat(bin); err != nil {
						t.Errorf("go:build for %s: %v\n%s", p, err, out)
					}
				}
			}
			for _, b := range sh.binaries {
				c.wantStamp(b, "0.3.0", commit)
			}

			out = c.mustMage(env, "image:build")
			indexDigest, images := readLayout(t, c.path("dist/image"), sh.name2+":0.3.0")
			// The layout names the index NAME:TAG: skopeo selects it so,
			// and podman load names the image localhost/NAME:TAG.
			if skopeo := lookSkopeo(t); skopeo != "" {
				raw, err := exec.Command(skopeo, "inspect", "--raw", "oci:"+c.path("dist/image")+":"+sh.name2+":0.3.0").Output()
				if err != nil {
					t.Errorf("skopeo inspect oci:dist/image:%s:0.3.0: %v", sh.name2, err)
				} else if got := (v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(raw))}); got != indexDigest {
					t.Errorf("skopeo read index %s, want %s", got, indexDigest)
				}
			}
			var linux []string
			for _, p := range strings.Split(plats, ",") {
				if strings.HasPrefix(p, "linux/") {
					linux = append(linux, p)
				}
			}
			if got := sortedKeys(images); !slices.Equal(got, sorted(linux)) {
				t.Errorf("image platforms = %v, want %v\n%s", got, sorted(linux), out)
			}
			for plat, img := range images {
				if got := img.cfg.Config.Entrypoint; !slices.Equal(got, []string{"/usr/local/bin/" + sh.main}) {
					t.Errorf("%s entrypoint = %v, want /usr/local/bin/%s", plat, got, sh.main)
				}
				if img.cfg.Config.User != "65532:65532" {
					t.Errorf("%s user = %q, want the nonroot 65532:65532", plat, img.cfg.Config.User)
				}
				wantFile(t, plat, img, "usr/local/bin/"+sh.main, tar.TypeReg, 0o755, 0)
				if _, ok := img.files["etc/ssl/certs/ca-certificates.crt"]; !ok {
					t.Errorf("%s image has no CA certificates", plat)
				}
				if sh.check != nil {
					sh.check(t, plat, img)
				}
			}

			out = c.mustMage(env, "release:snapshot")
			snap := "0.3.0-snapshot." + snapshotID(short)
			m := readManifest(t, c.path("dist/release.json"))
			if m.Version != snap || !m.Snapshot || m.Commit != commit || m.Tag != "" {
				t.Errorf("release.json = version %s snapshot %v commit %s tag %q, want %s, true, %s, no tag\n%s", m.Version, m.Snapshot, m.Commit, m.Tag, snap, commit, out)
			}
			sums := checkChecksums(t, c.path("dist"))
			archives := 0
			for _, a := range m.Artifacts {
				if a.Type != "archive" {
					continue
				}
				archives++
				if sums[a.Name] != a.SHA256 {
					t.Errorf("release.json gives %s sha256 %s, checksums.txt %s", a.Name, a.SHA256, sums[a.Name])
				}
				if !strings.HasPrefix(a.Name, sh.name2+"_"+snap+"_") {
					t.Errorf("archive %s is not named %s_%s_<platform>", a.Name, sh.name2, snap)
				}
			}
			if want := len(strings.Split(plats, ",")); archives != want {
				t.Errorf("release.json lists %d archives, want one per platform (%d)", archives, want)
			}
			ref := "localhost:5000/" + sh.name2 + ":" + snap
			var digest string
			for _, im := range m.Images {
				if im.Ref == ref {
					digest = im.Digest
				}
			}
			if digest == "" {
				t.Errorf("release.json images = %+v, want %s", m.Images, ref)
			} else if !registry.Holds(c.data, sh.name2, snap, digest) {
				t.Errorf("the embedded registry in %s does not hold %s at %s", c.data, ref, digest)
			}
			for _, b := range sh.binaries {
				c.wantStamp(b, snap, commit)
			}
		})
	}
}

// binary is where go:build puts a binary for a platform.
func (c *consumer) binary(name, plat string) string {
	exe := name
	if strings.HasPrefix(plat, "windows/") {
		exe += ".exe"
	}
	return c.path("dist/" + name + "_" + strings.ReplaceAll(plat, "/", "_") + "/" + exe)
}

// wantStamp runs the host binary and checks the version and commit that
// go:build stamped into it.
func (c *consumer) wantStamp(name, version, commit string) {
	c.t.Helper()
	bin := c.binary(name, hostPlatform())
	out, err := exec.CommandContext(c.t.Context(), bin).CombinedOutput()
	if err != nil {
		c.t.Fatalf("run %s: %v\n%s", bin, err, out)
	}
	want := "version=" + version + " commit=" + commit + " date=2025-06-07T08:09:10Z"
	if !strings.HasPrefix(string(out), want) {
		c.t.Errorf("%s prints %q, want it to start with %q", filepath.Base(bin), out, want)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return sorted(keys)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// snapshotID is how version.Snapshot spells a short commit hash in a
// prerelease: an all-digit hash gets a "g" prefix so that it stays an
// alphanumeric identifier, as git describe does.
func snapshotID(short string) string {
	if strings.Trim(short, "0123456789") == "" {
		return "g" + short
	}
	return short
}

// lookSkopeo finds skopeo, or skips the check where it is not installed;
// with HOIST_REQUIRE_SKOPEO=1 (CI) a missing skopeo fails the test.
func lookSkopeo(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("skopeo")
	if err != nil {
		if os.Getenv("HOIST_REQUIRE_SKOPEO") == "1" {
			t.Fatal("skopeo not on PATH and HOIST_REQUIRE_SKOPEO=1")
		}
		t.Log("skopeo not on PATH: skipping the skopeo check")
		return ""
	}
	return path
}
