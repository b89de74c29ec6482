package sbom_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/sbom"
)

// These tests describe images exactly as hoist builds them, from the real
// cmd/web service on the built-in base. They live in an external test
// package so that sbom's own tests never import the image builder.

var releaseTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// buildWeb compiles cmd/web for linux/goarch the way a release does.
func buildWeb(tb testing.TB, goarch string) string {
	tb.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		tb.Skip("go toolchain not on PATH")
	}
	out := filepath.Join(tb.TempDir(), "web_linux_"+goarch, "web")
	cmd := exec.CommandContext(tb.Context(), "go", "build", "-trimpath", "-ldflags=-s -w -X main.version=0.3.0", "-o", out, "./cmd/web")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build ./cmd/web for %s: %v\n%s", goarch, err, b)
	}
	return out
}

func buildWebImage(tb testing.TB, goarchs ...string) (*image.Result, map[string]string) {
	tb.Helper()
	var bins []image.Binary
	paths := map[string]string{}
	for _, arch := range goarchs {
		p := buildWeb(tb, arch)
		paths[arch] = p
		bins = append(bins, image.Binary{Name: "web", Platform: v1.Platform{OS: "linux", Architecture: arch}, Path: p})
	}
	res, err := image.Build(tb.Context(), bins, image.Config{Version: "0.3.0", Created: releaseTime})
	if err != nil {
		tb.Fatalf("image.Build() = %v", err)
	}
	return res, paths
}

// caRoots is how a release would name the CA bundle of the built-in base.
var caRoots = sbom.Component{
	Name:    "golang.org/x/crypto/x509roots/fallback",
	Version: "v0.0.0-20261030153154-30a33513ff6d",
	PURL:    "pkg:golang/golang.org/x/crypto/x509roots/fallback@v0.0.0-20261030153154-30a33513ff6d",
	License: "MPL-2.0", // the roots are Mozilla NSS data
	Files:   []string{image.CACertsPath},
	Comment: "NSS trusted roots, written by hoist's built-in base.",
}

func imageOpts() []sbom.Option {
	return []sbom.Option{
		sbom.WithCreated(releaseTime),
		sbom.WithRepository("ghcr.io/hoistdev/web"),
		sbom.WithOwnBinaries(image.BinDir + "/web"),
		sbom.WithLicense("Apache-2.0"),
		sbom.WithComponents(caRoots),
	}
}

func pkgByID(t *testing.T, doc *v2_3.Document, id string) *v2_3.Package {
	t.Helper()
	for _, p := range doc.Packages {
		if string(p.PackageSPDXIdentifier) == id {
			return p
		}
	}
	t.Fatalf("SBOM has no package %s", id)
	return nil
}

func purlsOf(p *v2_3.Package) []string {
	var out []string
	for _, r := range p.PackageExternalReferences {
		out = append(out, r.Locator)
	}
	return out
}

func TestGenerateIndexOfHoistImage(t *testing.T) {
	res, bins := buildWebImage(t, "amd64", "arm64")
	doc, err := sbom.GenerateIndex(t.Context(), res.Index, imageOpts()...)
	if err != nil {
		t.Fatalf("GenerateIndex(hoist image) = %v, want nil", err)
	}
	if doc.DocumentName != "web-0.3.0" {
		t.Errorf("GenerateIndex() name = %q, want web-0.3.0 (repository and version annotation)", doc.DocumentName)
	}
	if got, want := purlsOf(pkgByID(t, doc, "Index")), []string{"pkg:oci/web@" + res.Digest.String() + "?repository_url=ghcr.io%2Fhoistdev%2Fweb"}; !gocmp.Equal(got, want) {
		t.Errorf("index PURLs = %q, want %q", got, want)
	}
	if got, want := purlsOf(pkgByID(t, doc, "Base-index")), []string{"pkg:oci/static@" + res.BaseDigest.String() + "?repository_url=hoist.dev%2Fstatic"}; !gocmp.Equal(got, want) {
		t.Errorf("base index PURLs = %q, want %q", got, want)
	}
	for _, pi := range res.Images {
		arch := pi.Platform.Architecture
		scope := "linux-" + arch
		img := pkgByID(t, doc, "Image-"+scope)
		if got, want := purlsOf(img), []string{"pkg:oci/web@" + pi.Digest.String() + "?arch=" + arch + "&os=linux&repository_url=ghcr.io%2Fhoistdev%2Fweb"}; !gocmp.Equal(got, want) {
			t.Errorf("%s image PURLs = %q, want %q", scope, got, want)
		}
		if got, want := purlsOf(pkgByID(t, doc, "Base-"+scope)), []string{"pkg:oci/static@" + pi.BaseDigest.String() + "?arch=" + arch + "&os=linux&repository_url=hoist.dev%2Fstatic"}; !gocmp.Equal(got, want) {
			t.Errorf("%s base PURLs = %q, want %q", scope, got, want)
		}
		ca := pkgByID(t, doc, "Component-"+scope+"-golang.org-x-crypto-x509roots-fallback")
		if ca.PackageLicenseDeclared != "MPL-2.0" || !ca.FilesAnalyzed {
			t.Errorf("%s CA component license, filesAnalyzed = %q, %v, want MPL-2.0, true", scope, ca.PackageLicenseDeclared, ca.FilesAnalyzed)
		}

		// The binary reads the same as in its per-binary SBOM, apart from
		// the ids the image scopes and the file it CONTAINS.
		perBinary, err := sbom.Generate(t.Context(), bins[arch], sbom.WithCreated(releaseTime), sbom.WithVersion("0.3.0"), sbom.WithName("web"), sbom.WithLicense("Apache-2.0"))
		if err != nil {
			t.Fatal(err)
		}
		var inImage []*v2_3.Package
		for _, p := range doc.Packages {
			id := string(p.PackageSPDXIdentifier)
			if id == "Binary-"+scope+"-web" || strings.HasPrefix(id, "Module-"+scope+"-web-") || id == "Stdlib-"+scope+"-web" {
				inImage = append(inImage, p)
			}
		}
		ignore := gocmp.FilterPath(func(p gocmp.Path) bool {
			switch p.Last().String() {
			case ".PackageSPDXIdentifier", ".AnnotationSPDXIdentifier", ".FilesAnalyzed", ".PackageVerificationCode":
				return true
			}
			return false
		}, gocmp.Ignore())
		if diff := gocmp.Diff(perBinary.Packages, inImage, ignore, gocmp.AllowUnexported(v2_3.Package{})); diff != "" {
			t.Errorf("%s binary packages differ from Generate's (-per-binary +image):\n%s", scope, diff)
		}
	}

	// Every file of the built-in base and the binary, nothing else.
	var names []string
	for _, f := range doc.Files {
		if strings.HasPrefix(string(f.FileSPDXIdentifier), "File-linux-amd64-") {
			names = append(names, f.FileName)
		}
	}
	want := []string{"/etc/group", "/etc/nsswitch.conf", "/etc/passwd", image.CACertsPath, image.BinDir + "/web"}
	if !gocmp.Equal(names, want) {
		t.Errorf("linux/amd64 files = %q, want %q", names, want)
	}
	raw, err := os.ReadFile(bins["amd64"])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	for _, f := range doc.Files {
		if f.FileName == image.BinDir+"/web" && f.FileSPDXIdentifier == "File-linux-amd64-usr-local-bin-web" {
			if !gocmp.Equal(f.Checksums[1], common.Checksum{Algorithm: common.SHA256, Value: hex.EncodeToString(sum[:])}) {
				t.Errorf("web file SHA256 = %v, want %x", f.Checksums, sum)
			}
		}
	}
}

// BenchmarkGenerateImage measures the SBOM of hoist's own cmd/web image
// (a 6-7 MB static binary on the built-in base), the one the release adds
// for every image it pushes. Encoding is included, since the attestation
// needs the bytes.
func BenchmarkGenerateImage(b *testing.B) {
	res, bins := buildWebImage(b, "amd64")
	st, err := os.Stat(bins["amd64"])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	img := res.Images[0].Image
	opts := imageOpts()
	for b.Loop() {
		doc, err := sbom.GenerateImage(b.Context(), img, opts...)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sbom.EncodeJSON(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateIndex2Platform is the same for a linux/amd64 +
// linux/arm64 index, whose images are read in parallel.
func BenchmarkGenerateIndex2Platform(b *testing.B) {
	res, _ := buildWebImage(b, "amd64", "arm64")
	opts := imageOpts()
	for b.Loop() {
		doc, err := sbom.GenerateIndex(b.Context(), res.Index, opts...)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sbom.EncodeJSON(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// fromLayout writes res as the OCI layout the release reads its image
// from, and reads it back: the layers are then files, opened and
// decompressed the way the release's are.
func fromLayout(tb testing.TB, res *image.Result) (v1.ImageIndex, []v1.Image) {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "image")
	if err := image.WriteLayout(tb.Context(), dir, res, "0.3.0"); err != nil {
		tb.Fatalf("image.WriteLayout() = %v", err)
	}
	idx, err := image.ReadLayout(tb.Context(), dir, "0.3.0")
	if err != nil {
		tb.Fatalf("image.ReadLayout() = %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		tb.Fatal(err)
	}
	var imgs []v1.Image
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			tb.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	return idx, imgs
}

// releaseSBOMs makes what the release's sign stage makes for each
// registry: the index SBOM, then one SBOM per platform image, encoded.
func releaseSBOMs(tb testing.TB, idx v1.ImageIndex, imgs []v1.Image, opts ...sbom.Option) [][]byte {
	tb.Helper()
	opts = append(imageOpts(), opts...)
	doc, err := sbom.GenerateIndex(tb.Context(), idx, opts...)
	if err != nil {
		tb.Fatalf("GenerateIndex(hoist image) = %v, want nil", err)
	}
	docs := []*v2_3.Document{doc}
	for i, img := range imgs {
		doc, err := sbom.GenerateImage(tb.Context(), img, opts...)
		if err != nil {
			tb.Fatalf("GenerateImage(hoist image %d) = %v, want nil", i, err)
		}
		docs = append(docs, doc)
	}
	var out [][]byte
	for _, d := range docs {
		raw, err := sbom.EncodeJSON(d)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}

func TestScannerSameBytesHoistImage(t *testing.T) {
	res, _ := buildWebImage(t, "amd64", "arm64")
	idx, imgs := fromLayout(t, res)
	want := releaseSBOMs(t, idx, imgs)
	dir := filepath.Join(t.TempDir(), "sbom")
	for _, tt := range []struct {
		name string
		s    *sbom.Scanner
	}{
		{name: "in memory", s: sbom.NewScanner("")},
		{name: "cold disk cache", s: sbom.NewScanner(dir)},
		{name: "warm disk cache", s: sbom.NewScanner(dir)},
	} {
		got := releaseSBOMs(t, idx, imgs, sbom.WithScanner(tt.s))
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("%s: SBOM %d differs from the one made without a scanner", tt.name, i)
			}
		}
	}
	// The built-in base layer is the same on both platforms: three layers.
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) != 3 {
		t.Errorf("cache files = %q, want 3: the shared base layer and one per binary", m)
	}
	// And the in-memory image gives the same documents as its layout.
	if got := releaseSBOMs(t, res.Index, []v1.Image{res.Images[0].Image, res.Images[1].Image}); !gocmp.Equal(got, want) {
		t.Errorf("SBOMs of the image read from its layout differ from those of the image in memory")
	}
}

// BenchmarkReleaseSBOMs measures releaseSBOMs on cmd/web's linux/amd64 +
// linux/arm64 image, read from an OCI layout as the release reads it.
// "unshared" is every call on its own, as without WithScanner; "cold"
// shares a Scanner whose directory starts empty each time (a release with
// new binaries on a new base); "warm" one whose directory an earlier run
// filled (a rerun).
func BenchmarkReleaseSBOMs(b *testing.B) {
	res, _ := buildWebImage(b, "amd64", "arm64")
	idx, imgs := fromLayout(b, res)
	b.Run("unshared", func(b *testing.B) {
		for b.Loop() {
			releaseSBOMs(b, idx, imgs)
		}
	})
	b.Run("cold", func(b *testing.B) {
		root := b.TempDir()
		n := 0
		for b.Loop() {
			n++
			releaseSBOMs(b, idx, imgs, sbom.WithScanner(sbom.NewScanner(filepath.Join(root, strconv.Itoa(n)))))
		}
	})
	b.Run("warm", func(b *testing.B) {
		dir := b.TempDir()
		releaseSBOMs(b, idx, imgs, sbom.WithScanner(sbom.NewScanner(dir)))
		for b.Loop() {
			releaseSBOMs(b, idx, imgs, sbom.WithScanner(sbom.NewScanner(dir)))
		}
	})
}
