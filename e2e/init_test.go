package e2e

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestInit adopts hoist in a repository that ships with GoReleaser and a
// Dockerfile today and tags plain versions (2.4.0): hoist init carries the
// settings over and says what it could not, and the first release from
// the generated magefiles publishes what the old setup did: the next
// plain tag, the images with their floating tags on the configured
// registry, the carried image settings and archive file.
func TestInit(t *testing.T) {
	if testing.Short() {
		t.Skip("a full release")
	}
	magefilesModule(t) // fills the module cache with what the magefiles module needs
	reg := newRegistry(t)
	c := newConsumer(t, map[string]string{
		"go.mod":    "module example.com/acme/gadget\n\ngo 1.26\n",
		"main.go":   stampMain,
		"NOTES.txt": "read me too\n",
		".goreleaser.yaml": `version: 2
builds:
  - env: [CGO_ENABLED=0]
    goos: [linux]
    goarch: [amd64, arm64]
    ldflags: ["-s -w -X main.version={{.Version}} -X main.commit={{.Commit}} -X main.date={{.Date}}"]
archives:
  - formats: [tar.gz]
    files: [LICENSE*, NOTES.txt]
dockers:
  - image_templates:
      - "` + reg + `/acme/gadget:{{ .Version }}"
      - "` + reg + `/acme/gadget:latest"
      - "` + reg + `/acme/gadget:{{ .Major }}.{{ .Minor }}"
release:
  github: {owner: acme, name: gadget}
`,
		"Dockerfile": `FROM gcr.io/distroless/static-debian12:nonroot
COPY gadget /usr/local/bin/gadget
WORKDIR /srv
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/gadget"]
`,
	})
	c.run(".", "git", "tag", "2.4.0")
	writeTree(t, c.dir, map[string]string{"more.go": "package main\n"})
	c.run(".", "git", "add", ".")
	c.run(".", "git", "commit", "-qm", "feat: more")

	// Online: go mod tidy wants test-only modules of hoist's dependencies
	// that the module cache may lack; hoist itself comes from the checkout.
	out := c.mustHoist(".", []string{"GOPROXY=" + os.Getenv("GOPROXY")}, "init", "-replace", hoistRoot)
	for _, want := range []string{
		"platforms linux/amd64, linux/arm64", "registry " + reg + "/acme", "floating tags latest and MAJOR.MINOR",
		"working directory /srv", "port 8080/tcp", "archive file NOTES.txt", "stamp main.version (version; hoist finds it)",
		"base gcr.io/distroless/static-debian12:nonroot → hoist's built-in static base",
		"forge release on github", "from .goreleaser.yaml release.github",
		"tags: X.Y.Z, as tag 2.4.0", "VERSION (2.4.0: the latest release, tag 2.4.0)", ".gitignore (/dist/)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("hoist init output lacks %q:\n%s", want, out)
		}
	}
	magefile, err := os.ReadFile(c.path("magefiles/magefile.go"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated magefile:\n%s", magefile)
	if data, _ := os.ReadFile(c.path("VERSION")); string(data) != "2.4.0\n" {
		t.Errorf("VERSION = %q", data)
	}
	if out, err := c.hoist(".", nil, "init"); err == nil || !strings.Contains(out, "already exists") {
		t.Errorf("a second init: %v\n%s", err, out)
	}
	c.run(".", "git", "add", "-A")
	c.run(".", "git", "commit", "-qm", "build: release with hoist")

	if !strings.Contains(string(magefile), `targets.Forge("github")`) || !strings.Contains(string(magefile), `targets.ForgeRepository("acme/gadget")`) {
		t.Errorf("the magefile does not carry the GitHub release")
	}
	// This repository has no GitHub remote: the release is refused, naming
	// the fix, until the forge release is switched off for the run.
	if out, err := c.hoist(".", []string{"COVERAGE_MIN=-1"}, "release"); err == nil || !strings.Contains(out, `the git remote "origin" does not exist`) {
		t.Errorf("release without a remote for the forge = %v\n%s", err, out)
	}
	out = c.mustHoist(".", []string{"COVERAGE_MIN=-1", "HOIST_FORGE=off"}, "release")
	if tags := strings.Fields(c.run(".", "git", "tag", "--list")); !slices.Equal(tags, []string{"2.4.0", "2.5.0"}) {
		t.Fatalf("tags after the release = %v, want 2.4.0 and the plain 2.5.0\n%s", tags, out)
	}
	m := readManifest(t, c.path("dist/release.json"))
	if m.Version != "2.5.0" || m.Tag != "2.5.0" {
		t.Errorf("release.json: version %s tag %s, want 2.5.0 and 2.5.0", m.Version, m.Tag)
	}
	for _, tag := range []string{"2.5.0", "2.5", "latest"} {
		idx := pullIndex(t, reg+"/acme/gadget:"+tag)
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		var plats []string
		for _, desc := range im.Manifests {
			plats = append(plats, platformKey(desc.Platform))
			if tag != "latest" {
				continue
			}
			img, err := idx.Image(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := cfg.Config.ExposedPorts["8080/tcp"]; !ok || cfg.Config.WorkingDir != "/srv" ||
				!slices.Equal(cfg.Config.Entrypoint, []string{"/usr/local/bin/gadget"}) {
				t.Errorf("%s config: ports %v, workdir %q, entrypoint %v; want 8080/tcp, /srv, /usr/local/bin/gadget",
					platformKey(desc.Platform), cfg.Config.ExposedPorts, cfg.Config.WorkingDir, cfg.Config.Entrypoint)
			}
		}
		if !slices.Equal(sorted(plats), []string{"linux/amd64", "linux/arm64"}) {
			t.Errorf("%s platforms = %v", tag, plats)
		}
	}
	var archives []string
	for _, a := range m.Artifacts {
		if a.Type == "archive" {
			archives = append(archives, a.Name)
			if names := tarGzNames(t, c.path(a.Path)); !slices.Contains(names, "NOTES.txt") {
				t.Errorf("%s holds %v, want NOTES.txt carried over from the archive files", a.Name, names)
			}
		}
	}
	if !slices.Equal(sorted(archives), []string{"gadget_2.5.0_linux_amd64.tar.gz", "gadget_2.5.0_linux_arm64.tar.gz"}) {
		t.Errorf("archives = %v, want the two linux platforms only", archives)
	}
}

// tarGzNames lists the file names in a .tar.gz.
func tarGzNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name[strings.LastIndex(h.Name, "/")+1:])
	}
}
