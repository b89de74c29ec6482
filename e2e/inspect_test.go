package e2e

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// platformImage is what a test looks at in one image of the index: its
// config and the headers of the flattened filesystem, keyed by path
// without the leading slash.
type platformImage struct {
	cfg   *v1.ConfigFile
	files map[string]*tar.Header
}

// readLayout opens the OCI layout hoist wrote, finds the index tagged ref,
// validates it and every image in it, and returns the images by platform
// (os/arch[/variant]).
func readLayout(t *testing.T, dir, ref string) (v1.Hash, map[string]platformImage) {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatalf("layout.FromPath(%s): %v", dir, err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.ImageIndex
	var digest v1.Hash
	var refs []string
	for _, d := range tm.Manifests {
		name := d.Annotations["org.opencontainers.image.ref.name"]
		refs = append(refs, name)
		if name == ref {
			digest = d.Digest
			if idx, err = top.ImageIndex(d.Digest); err != nil {
				t.Fatal(err)
			}
		}
	}
	if idx == nil {
		t.Fatalf("layout %s has no index named %q, only %v", dir, ref, refs)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate.Index(%s) = %v", ref, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]platformImage{}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		out[platformKey(d.Platform)] = platformImage{cfg: cfg, files: flatten(t, img)}
	}
	return digest, out
}

func platformKey(p *v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// flatten reads the image's filesystem as a container would see it.
func flatten(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("read image filesystem: %v", err)
		}
		files[strings.TrimPrefix(path.Clean("/"+h.Name), "/")] = h
	}
}

// wantFile checks one path of an image: present, of the right type, mode
// and owner.
func wantFile(t *testing.T, plat string, img platformImage, name string, typ byte, mode int64, uid int) {
	t.Helper()
	h, ok := img.files[name]
	if !ok {
		t.Errorf("%s image: /%s missing", plat, name)
		return
	}
	if h.Typeflag != typ || h.Mode&0o7777 != mode || h.Uid != uid || h.Gid != uid {
		t.Errorf("%s image: /%s = type %c mode %o owner %d:%d, want type %c mode %o owner %d:%d",
			plat, name, h.Typeflag, h.Mode&0o7777, h.Uid, h.Gid, typ, mode, uid, uid)
	}
}

// releaseManifest is the part of dist/release.json the tests read.
type releaseManifest struct {
	Version   string `json:"version"`
	Tag       string `json:"tag"`
	Commit    string `json:"commit"`
	Snapshot  bool   `json:"snapshot"`
	Artifacts []struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Path     string `json:"path"`
		Platform string `json:"platform"`
		SHA256   string `json:"sha256"`
	} `json:"artifacts"`
	Images []struct {
		Ref    string `json:"ref"`
		Digest string `json:"digest"`
	} `json:"images"`
	Referrers []struct {
		Ref      string `json:"ref"`
		Kind     string `json:"kind"`
		Subject  string `json:"subject"`
		Platform string `json:"platform"`
	} `json:"referrers"`
	Stages []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"stages"`
}

func readManifest(t testing.TB, file string) releaseManifest {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read the release manifest: %v", err)
	}
	var m releaseManifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	return m
}

// checkChecksums verifies every line of dist/checksums.txt against the
// file it names, and returns the sums by file name.
func checkChecksums(t *testing.T, dist string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatalf("open checksums.txt: %v", err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("checksums.txt line %q is not in sha256sum format", sc.Text())
		}
		if got := sha256File(t, filepath.Join(dist, name)); got != sum {
			t.Errorf("checksums.txt says %s for %s, the file hashes to %s", sum, name, got)
		}
		sums[name] = sum
	}
	if len(sums) == 0 {
		t.Error("checksums.txt is empty")
	}
	return sums
}

func sha256File(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
