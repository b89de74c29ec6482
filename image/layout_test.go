package image

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func blobNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// wantBlobs lists every blob the layout of res must hold: the index, and
// each image's manifest, config and layers.
func wantBlobs(t *testing.T, res *Result) []string {
	t.Helper()
	set := map[string]bool{res.Digest.Hex: true}
	for _, pi := range res.Images {
		m := manifestOf(t, pi.Image)
		set[pi.Digest.Hex] = true
		set[m.Config.Digest.Hex] = true
		for _, l := range m.Layers {
			set[l.Digest.Hex] = true
		}
	}
	return sortedKeys(set)
}

func TestWriteLayoutRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dist", "image")
	first, err := Build(t.Context(), fakeBinaries(t, "web"), Config{Version: "0.1.0", Created: commitTime})
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if err := WriteLayout(t.Context(), dir, first, "0.1.0"); err != nil {
		t.Fatalf("WriteLayout() error = %v", err)
	}
	idx, err := ReadLayout(t.Context(), dir, "0.1.0")
	if err != nil {
		t.Fatalf("ReadLayout() error = %v", err)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("validate.Index(ReadLayout()) = %v", err)
	}
	if got := mustDigest(t, idx); got != first.Digest {
		t.Errorf("ReadLayout() digest = %s, want %s", got, first.Digest)
	}
	if got, want := blobNames(t, dir), wantBlobs(t, first); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("blobs = %v, want %v", got, want)
	}
	// Shared with tools running as other users: 0755 directories, 0644 files.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		want := fs.FileMode(0o644)
		if d.IsDir() {
			want = 0o755
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var top v1.IndexManifest
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	if len(top.Manifests) != 1 || top.Manifests[0].Annotations[AnnotationRefName] != "0.1.0" || top.Manifests[0].Digest != first.Digest {
		t.Errorf("index.json manifests = %+v, want one entry for %s named 0.1.0", top.Manifests, first.Digest)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("layout dir mode = %v, %v, want 0755", fi.Mode(), err)
	}

	// A second build replaces the layout: no stale blobs, no temp dirs.
	second, err := Build(t.Context(), fakeBinaries(t, "web"), Config{Version: "0.2.0", Created: commitTime})
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if err := WriteLayout(t.Context(), dir, second, "0.2.0"); err != nil {
		t.Fatalf("WriteLayout() again error = %v", err)
	}
	if got, want := blobNames(t, dir), wantBlobs(t, second); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("blobs after rewrite = %v, want only %v", got, want)
	}
	siblings, _ := os.ReadDir(filepath.Dir(dir))
	if len(siblings) != 1 {
		var names []string
		for _, s := range siblings {
			names = append(names, s.Name())
		}
		t.Errorf("layout parent holds %v, want only image", names)
	}
	if _, err := ReadLayout(t.Context(), dir, "0.1.0"); err == nil || !containsAll(err.Error(), `"0.1.0"`, "it has: 0.2.0", "image:build") {
		t.Errorf("ReadLayout(old ref) error = %v, want one listing 0.2.0", err)
	}
}

func TestLayoutErrors(t *testing.T) {
	res, err := Build(t.Context(), fakeBinaries(t, "web")[:1], Config{})
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	dir := t.TempDir()
	tests := []struct {
		name string
		run  func() error
		want []string
	}{
		{"bad ref name", func() error { return WriteLayout(t.Context(), filepath.Join(dir, "a"), res, "v 1") }, []string{`"v 1"`, "0.1.0"}},
		{"empty ref name", func() error { return WriteLayout(t.Context(), filepath.Join(dir, "a"), res, "") }, []string{`""`}},
		{"nil result", func() error { return WriteLayout(t.Context(), filepath.Join(dir, "a"), nil, "1") }, []string{"call Build first"}},
		{"read missing layout", func() error { _, err := ReadLayout(t.Context(), filepath.Join(dir, "none"), "1"); return err }, []string{"run image:build first"}},
		{"parent is a file", func() error {
			f := filepath.Join(dir, "file")
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return WriteLayout(t.Context(), filepath.Join(f, "image"), res, "1")
		}, []string{"write image layout"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !containsAll(err.Error(), tc.want...) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Errorf("failed WriteLayout left %s behind (stat error %v)", filepath.Join(dir, "a"), err)
	}
}

// TestLayoutWithSkopeo checks that an independent OCI implementation reads
// the layout by ref name.
func TestLayoutWithSkopeo(t *testing.T) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		if os.Getenv("HOIST_REQUIRE_SKOPEO") == "1" {
			t.Fatalf("skopeo not on PATH and HOIST_REQUIRE_SKOPEO=1")
		}
		t.Skip("skopeo not on PATH")
	}
	res, err := Build(t.Context(), fakeBinaries(t, "web"), Config{Version: "0.1.0", Created: commitTime})
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	dir := filepath.Join(t.TempDir(), "image")
	if err := WriteLayout(t.Context(), dir, res, "0.1.0"); err != nil {
		t.Fatalf("WriteLayout() error = %v", err)
	}
	skopeo := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), "skopeo", args...)
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}

	raw := skopeo("inspect", "--raw", "oci:"+dir+":0.1.0")
	var im v1.IndexManifest
	if err := json.Unmarshal(raw, &im); err != nil {
		t.Fatalf("skopeo inspect --raw output is not an index: %v\n%s", err, raw)
	}
	if h, _, _ := v1.SHA256(strings.NewReader(string(raw))); h != res.Digest {
		t.Errorf("skopeo inspect --raw digest = %s, want %s", h, res.Digest)
	}
	if len(im.Manifests) != 2 || im.Annotations[AnnotationVersion] != "0.1.0" {
		t.Errorf("skopeo inspect --raw = %d manifests, annotations %v, want 2 and version 0.1.0", len(im.Manifests), im.Annotations)
	}

	for _, pi := range res.Images {
		out := skopeo("--override-os", "linux", "--override-arch", pi.Platform.Architecture, "inspect", "oci:"+dir+":0.1.0")
		var got struct {
			Digest       string
			Architecture string
			Os           string
			Labels       map[string]string
			Layers       []string
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("skopeo inspect output: %v\n%s", err, out)
		}
		// skopeo reports the digest of what the ref names (the index) and the
		// layers of the platform it picked.
		var wantLayers []string
		for _, l := range manifestOf(t, pi.Image).Layers {
			wantLayers = append(wantLayers, l.Digest.String())
		}
		if got.Digest != res.Digest.String() || got.Architecture != pi.Platform.Architecture || got.Os != "linux" ||
			strings.Join(got.Layers, " ") != strings.Join(wantLayers, " ") || got.Labels[AnnotationVersion] != "0.1.0" {
			t.Errorf("skopeo inspect (%s) = %+v, want digest %s, layers %v, version label", pi.Platform.Architecture, got, res.Digest, wantLayers)
		}
	}
}
