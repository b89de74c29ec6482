package sbom

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/spdxlib"
)

var (
	linuxAMD64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	linuxARM64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

// tarEntry is one entry of a test layer; typ defaults to a regular file.
type tarEntry struct {
	name, body, link string
	typ              byte
}

func reg(name, body string) tarEntry   { return tarEntry{name: name, body: body} }
func dir(name string) tarEntry         { return tarEntry{name: name, typ: tar.TypeDir} }
func symlink(name, to string) tarEntry { return tarEntry{name: name, link: to, typ: tar.TypeSymlink} }
func hardlink(name, to string) tarEntry {
	return tarEntry{name: name, link: to, typ: tar.TypeLink}
}

// tarLayer writes entries into an uncompressed tar, in the given order, and
// wraps it as a gzip layer the way go-containerregistry does for a tarball.
func tarLayer(t testing.TB, entries ...tarEntry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: cmp.Or(e.typ, tar.TypeReg), Linkname: e.link, Mode: 0o644, ModTime: commitTime, Format: tar.FormatPAX}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testImage stacks layers on an empty OCI image for plat, with manifest
// annotations and config labels.
func testImage(t testing.TB, plat v1.Platform, anns, labels map[string]string, layers ...v1.Layer) v1.Image {
	t.Helper()
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Config.Labels = labels
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	if anns != nil {
		img = mutate.Annotations(img, anns).(v1.Image)
	}
	return img
}

// compileHello compiles the hello module for linux/goarch, stripped and
// without VCS stamping, as a release builds its binaries.
func compileHello(t testing.TB, goarch string) []byte {
	t.Helper()
	p := buildModule(t, helloModule, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goarch}, "-trimpath", "-ldflags=-s -w")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const dpkgStatusFile = `Package: base-files
Status: install ok installed
Priority: required
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy of a Debian system.

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Depends: libgcc-s1

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
`

const debianOSRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
`

func sums(body string) (string, string) {
	s1, s256 := sha1.Sum([]byte(body)), sha256.Sum256([]byte(body))
	return hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:])
}

func fileSums(f *v2_3.File) (string, string) {
	var s1, s256 string
	for _, c := range f.Checksums {
		switch c.Algorithm {
		case common.SHA1:
			s1 = c.Value
		case common.SHA256:
			s256 = c.Value
		}
	}
	return s1, s256
}

// verificationCode computes SPDX's package verification code the long
// way, from the contents.
func verificationCode(bodies ...string) string {
	var hexes []string
	for _, b := range bodies {
		s1, _ := sums(b)
		hexes = append(hexes, s1)
	}
	slices.Sort(hexes)
	s := sha1.Sum([]byte(strings.Join(hexes, "")))
	return hex.EncodeToString(s[:])
}

func findID(t *testing.T, doc *v2_3.Document, id common.ElementID) *v2_3.Package {
	t.Helper()
	for _, p := range doc.Packages {
		if p.PackageSPDXIdentifier == id {
			return p
		}
	}
	t.Fatalf("SBOM has no package with id %s", id)
	return nil
}

// encodeAndReadBack encodes doc as the attestation would carry it, parses
// it back with tools-golang's reader and checks what SPDX 2.3 requires of
// an image SBOM: what readBack checks of a binary's, plus files.
func encodeAndReadBack(t *testing.T, doc *v2_3.Document) []byte {
	t.Helper()
	raw, err := EncodeJSON(doc)
	if err != nil {
		t.Fatalf("EncodeJSON() = %v, want nil", err)
	}
	got, err := spdxjson.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("spdxjson.Read(EncodeJSON()) = %v, want nil", err)
	}
	if err := spdxlib.ValidateDocument(got); err != nil {
		t.Errorf("spdxlib.ValidateDocument(image SBOM) = %v, want nil", err)
	}
	if got.SPDXVersion != "SPDX-2.3" || got.DataLicense != "CC0-1.0" || got.SPDXIdentifier != "DOCUMENT" || got.DocumentName == "" || got.CreationInfo == nil {
		t.Errorf("image SBOM header = %q %q %q %q %v, want SPDX-2.3 CC0-1.0 DOCUMENT, a name and creation info",
			got.SPDXVersion, got.DataLicense, got.SPDXIdentifier, got.DocumentName, got.CreationInfo)
	}
	if u, err := url.Parse(got.DocumentNamespace); err != nil || !u.IsAbs() || strings.Contains(got.DocumentNamespace, "#") {
		t.Errorf("image SBOM namespace %q is not an absolute URI without '#'", got.DocumentNamespace)
	}
	ids := map[common.ElementID]bool{"DOCUMENT": true}
	use := func(id common.ElementID) {
		if ids[id] {
			t.Errorf("image SBOM id %s is used twice", id)
		}
		ids[id] = true
	}
	for _, p := range got.Packages {
		use(p.PackageSPDXIdentifier)
		if p.PackageName == "" || p.PackageDownloadLocation == "" {
			t.Errorf("image SBOM package %s lacks a name or download location", p.PackageSPDXIdentifier)
		}
		// SPDX: a package with files analyzed carries a verification code.
		if p.FilesAnalyzed && (p.PackageVerificationCode == nil || len(p.PackageVerificationCode.Value) != 40) {
			t.Errorf("image SBOM package %s has filesAnalyzed but verification code %+v", p.PackageSPDXIdentifier, p.PackageVerificationCode)
		}
	}
	for _, f := range got.Files {
		use(f.FileSPDXIdentifier)
		if s1, s256 := fileSums(f); len(s1) != 40 || len(s256) != 64 || !strings.HasPrefix(f.FileName, "/") || f.FileCopyrightText == "" {
			t.Errorf("image SBOM file %s = name %q, SHA1 %q, SHA256 %q, copyright %q; want an absolute name, both checksums and a copyright text",
				f.FileSPDXIdentifier, f.FileName, s1, s256, f.FileCopyrightText)
		}
	}
	for _, r := range got.Relationships {
		if !ids[r.RefA.ElementRefID] || !ids[r.RefB.ElementRefID] {
			t.Errorf("image SBOM relationship %s %s %s refers to an unknown id", r.RefA.ElementRefID, r.Relationship, r.RefB.ElementRefID)
		}
	}
	// And a package that contains files must say its files were analyzed.
	for _, p := range got.Packages {
		for _, r := range got.Relationships {
			if r.RefA.ElementRefID == p.PackageSPDXIdentifier && r.Relationship == common.TypeRelationshipContains && strings.HasPrefix(string(r.RefB.ElementRefID), "File-") && !p.FilesAnalyzed {
				t.Errorf("image SBOM package %s CONTAINS file %s but has filesAnalyzed false", p.PackageSPDXIdentifier, r.RefB.ElementRefID)
			}
		}
	}
	return raw
}

func TestGenerateImage(t *testing.T) {
	hello := compileHello(t, "amd64")
	const (
		passwd = "root:x:0:0:root:/root:/sbin/nologin\n"
		certs  = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
		tzUTC  = "TZif2\x00\x00fake zone"
		baseD  = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	)
	base := tarLayer(t,
		dir("etc/"),
		reg("etc/passwd", passwd),
		reg("etc/os-release", debianOSRelease),
		reg("etc/ssl/certs/ca-certificates.crt", certs),
		reg("var/lib/dpkg/status", dpkgStatusFile),
		reg("usr/share/doc/old.txt", "deleted by the next layer\n"),
		dir("usr/bin/"),
		symlink("bin", "usr/bin"),
		reg("usr/share/zoneinfo/UTC", tzUTC),
		hardlink("usr/share/zoneinfo/Etc/UTC", "usr/share/zoneinfo/UTC"),
	)
	app := tarLayer(t,
		reg("usr/share/doc/.wh.old.txt", ""),
		reg("usr/local/bin/hello", string(hello)),
	)
	img := testImage(t, linuxAMD64, map[string]string{
		annotationBaseName:   "gcr.io/distroless/base-debian12:nonroot",
		annotationBaseDigest: baseD,
		annotationTitle:      "ignored-title",
	}, nil, base, app)
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}

	doc, err := GenerateImage(t.Context(), img,
		WithRepository("ghcr.io/hoistdev/hello"),
		WithVersion("1.2.3"),
		WithCreated(commitTime),
		WithOwnBinaries("/usr/local/bin/hello"),
		WithComponents(Component{
			Name:    "ca-certificates",
			Version: "v0.0.0-20250101000000-abcdefabcdef",
			PURL:    "pkg:golang/golang.org/x/crypto/x509roots/fallback@v0.0.0-20250101000000-abcdefabcdef",
			Files:   []string{"/etc/ssl/certs/ca-certificates.crt"},
			Comment: "NSS roots written by hoist's built-in base.",
		}),
	)
	if err != nil {
		t.Fatalf("GenerateImage() = %v, want nil", err)
	}
	doc2 := readBackDoc(t, encodeAndReadBack(t, doc))

	if want := "hello-1.2.3"; doc.DocumentName != want {
		t.Errorf("GenerateImage() name = %q, want %q", doc.DocumentName, want)
	}
	if want := "https://hoist.dev/spdx/hello-1.2.3-" + digest.Hex[:12]; doc.DocumentNamespace != want {
		t.Errorf("GenerateImage() namespace = %q, want %q", doc.DocumentNamespace, want)
	}
	if doc.CreationInfo.Created != "2024-05-17T13:45:10Z" {
		t.Errorf("GenerateImage() created = %q, want the WithCreated time", doc.CreationInfo.Created)
	}

	// Files: regular files only, the whited-out one gone, the hard link
	// with its target's content.
	wantFiles := map[string]string{
		"/etc/os-release":                    debianOSRelease,
		"/etc/passwd":                        passwd,
		"/etc/ssl/certs/ca-certificates.crt": certs,
		"/usr/local/bin/hello":               string(hello),
		"/usr/share/zoneinfo/Etc/UTC":        tzUTC,
		"/usr/share/zoneinfo/UTC":            tzUTC,
		"/var/lib/dpkg/status":               dpkgStatusFile,
	}
	var gotNames []string
	for _, f := range doc2.Files {
		gotNames = append(gotNames, f.FileName)
		body, ok := wantFiles[f.FileName]
		if !ok {
			continue
		}
		w1, w256 := sums(body)
		if g1, g256 := fileSums(f); g1 != w1 || g256 != w256 {
			t.Errorf("GenerateImage() checksums of %s = SHA1 %s SHA256 %s, want %s %s", f.FileName, g1, g256, w1, w256)
		}
	}
	wantNames := slices.Sorted(func(yield func(string) bool) {
		for k := range wantFiles {
			if !yield(k) {
				return
			}
		}
	})
	if diff := gocmp.Diff(wantNames, gotNames); diff != "" {
		t.Errorf("GenerateImage() files mismatch (-want +got):\n%s", diff)
	}

	image := findID(t, doc2, "Image")
	if got, want := purls(image), []string{"pkg:oci/hello@sha256:" + digest.Hex + "?arch=amd64&os=linux&repository_url=ghcr.io%2Fhoistdev%2Fhello"}; !gocmp.Equal(got, want) {
		t.Errorf("image PURLs = %q, want %q", got, want)
	}
	if image.PackageVersion != "1.2.3" || image.PrimaryPackagePurpose != "CONTAINER" {
		t.Errorf("image version, purpose = %q, %q, want 1.2.3, CONTAINER", image.PackageVersion, image.PrimaryPackagePurpose)
	}
	if want := []common.Checksum{{Algorithm: common.SHA256, Value: digest.Hex}}; !gocmp.Equal(image.PackageChecksums, want) {
		t.Errorf("image checksums = %v, want the manifest digest %v", image.PackageChecksums, want)
	}
	var bodies []string
	for _, b := range wantFiles {
		bodies = append(bodies, b)
	}
	if got, want := image.PackageVerificationCode, verificationCode(bodies...); !image.FilesAnalyzed || got == nil || got.Value != want {
		t.Errorf("image filesAnalyzed, verification code = %v, %+v, want true, %s", image.FilesAnalyzed, got, want)
	}

	baseImg := findID(t, doc2, "Base")
	if got, want := purls(baseImg), []string{"pkg:oci/base-debian12@" + baseD + "?arch=amd64&os=linux&repository_url=gcr.io%2Fdistroless%2Fbase-debian12&tag=nonroot"}; !gocmp.Equal(got, want) {
		t.Errorf("base PURLs = %q, want %q", got, want)
	}
	if got := findID(t, doc2, "OS"); got.PackageName != "debian" || got.PackageVersion != "12" || got.PrimaryPackagePurpose != "OPERATING-SYSTEM" {
		t.Errorf("OS package = %s %s %s, want debian 12 OPERATING-SYSTEM", got.PackageName, got.PackageVersion, got.PrimaryPackagePurpose)
	}
	libc := findID(t, doc2, "Deb-libc6")
	if got, want := purls(libc), []string{"pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12"}; !gocmp.Equal(got, want) {
		t.Errorf("libc6 PURLs = %q, want %q", got, want)
	}
	if want := "built from the deb source package glibc 2.36-9+deb12u4"; libc.PackageSourceInfo != want {
		t.Errorf("libc6 source info = %q, want %q", libc.PackageSourceInfo, want)
	}

	bin := findID(t, doc2, "Binary-hello")
	_, helloSum := sums(string(hello))
	if bin.PackageVersion != "1.2.3" || bin.PackageChecksums[0].Value != helloSum {
		t.Errorf("binary version, checksum = %q, %v, want 1.2.3, %s", bin.PackageVersion, bin.PackageChecksums, helloSum)
	}
	if got, want := bin.PackageVerificationCode, verificationCode(string(hello)); got == nil || got.Value != want {
		t.Errorf("binary verification code = %+v, want %s", got, want)
	}
	if got, want := purls(findID(t, doc2, "Module-hello-example.com-hello")), []string{"pkg:golang/example.com/hello@v1.2.3"}; !gocmp.Equal(got, want) {
		t.Errorf("main module PURLs = %q, want %q (the WithVersion of an own binary)", got, want)
	}
	if !strings.HasPrefix(findID(t, doc2, "Stdlib-hello").PackageVersion, "go1.") {
		t.Errorf("stdlib version = %q, want a Go version", findID(t, doc2, "Stdlib-hello").PackageVersion)
	}
	comp := findID(t, doc2, "Component-ca-certificates")
	if got, want := purls(comp), []string{"pkg:golang/golang.org/x/crypto/x509roots/fallback@v0.0.0-20250101000000-abcdefabcdef"}; !gocmp.Equal(got, want) {
		t.Errorf("component PURLs = %q, want %q", got, want)
	}

	files := func(ids ...string) []string {
		var out []string
		for _, id := range ids {
			out = append(out, "SPDXRef-Image CONTAINS SPDXRef-File-"+id)
		}
		return out
	}
	wantRels := append([]string{
		"SPDXRef-DOCUMENT DESCRIBES SPDXRef-Image",
		"SPDXRef-Image DESCENDANT_OF SPDXRef-Base",
		"SPDXRef-Image CONTAINS SPDXRef-OS",
		"SPDXRef-Image CONTAINS SPDXRef-Binary-hello",
		"SPDXRef-Binary-hello CONTAINS SPDXRef-File-usr-local-bin-hello",
		"SPDXRef-Binary-hello GENERATED_FROM SPDXRef-Module-hello-example.com-hello",
		"SPDXRef-Module-hello-example.com-hello DEPENDS_ON SPDXRef-Stdlib-hello",
		"SPDXRef-Image CONTAINS SPDXRef-Component-ca-certificates",
		"SPDXRef-Component-ca-certificates CONTAINS SPDXRef-File-etc-ssl-certs-ca-certificates.crt",
		"SPDXRef-Image CONTAINS SPDXRef-Deb-base-files",
		"SPDXRef-Image CONTAINS SPDXRef-Deb-libc6",
	}, files("etc-os-release", "etc-passwd", "etc-ssl-certs-ca-certificates.crt", "usr-local-bin-hello",
		"usr-share-zoneinfo-Etc-UTC", "usr-share-zoneinfo-UTC", "var-lib-dpkg-status")...)
	if diff := gocmp.Diff(wantRels, relationships(doc)); diff != "" {
		t.Errorf("GenerateImage() relationships mismatch (-want +got):\n%s", diff)
	}
}

// readBackDoc parses SPDX JSON that readBack has already checked.
func readBackDoc(t *testing.T, raw []byte) *v2_3.Document {
	t.Helper()
	doc, err := spdxjson.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("spdxjson.Read() = %v", err)
	}
	return doc
}

func TestGenerateImageOwnAndForeignBinaries(t *testing.T) {
	hello := string(compileHello(t, "amd64"))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	testBin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	img := testImage(t, linuxAMD64, nil, nil, tarLayer(t,
		reg("usr/local/bin/hello", hello),
		reg("opt/tools/hello", hello), // a second binary with the same name
		reg("usr/bin/sbom.test", string(testBin)),
		reg("usr/bin/script", "#!/bin/sh\necho MZ\n"),
		reg("usr/lib/libfake.so", "\x7fELF not really a library"),
	))
	doc, err := GenerateImage(t.Context(), img, WithOwnBinaries("/usr/local/bin/hello"), WithVersion("2.0.0"), WithLicense("Apache-2.0"), WithName("svc"))
	if err != nil {
		t.Fatalf("GenerateImage() = %v, want nil", err)
	}
	raw, err := EncodeJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	got := readBackDoc(t, raw)

	tests := []struct {
		name         string
		id           common.ElementID
		wantVersion  string
		wantLicense  string
		wantFileName string
	}{
		// /opt sorts first, so the foreign copy takes the plain ids.
		{name: "foreign copy, same name", id: "Binary-hello", wantVersion: "", wantLicense: "NOASSERTION", wantFileName: "hello"},
		{name: "foreign copy's module", id: "Module-hello-example.com-hello", wantVersion: "", wantLicense: "NOASSERTION"},
		{name: "own binary", id: "Binary-hello-2", wantVersion: "2.0.0", wantLicense: "Apache-2.0", wantFileName: "hello"},
		{name: "own main module", id: "Module-hello-example.com-hello-2", wantVersion: "v2.0.0", wantLicense: "Apache-2.0"},
		{name: "test binary", id: "Binary-sbom.test", wantVersion: "", wantLicense: "NOASSERTION", wantFileName: "sbom.test"},
		{name: "test binary's module", id: "Module-sbom.test-github.com-hoistdev-hoist", wantVersion: "", wantLicense: "NOASSERTION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := findID(t, got, tt.id)
			if p.PackageVersion != tt.wantVersion || p.PackageLicenseDeclared != tt.wantLicense || p.PackageFileName != tt.wantFileName {
				t.Errorf("package %s = version %q, license %q, file %q; want %q, %q, %q", tt.id,
					p.PackageVersion, p.PackageLicenseDeclared, p.PackageFileName, tt.wantVersion, tt.wantLicense, tt.wantFileName)
			}
		})
	}
	// Files that merely look like executables are files, not packages.
	var binaries []string
	for _, p := range got.Packages {
		if strings.HasPrefix(string(p.PackageSPDXIdentifier), "Binary-") {
			binaries = append(binaries, string(p.PackageSPDXIdentifier))
		}
	}
	if want := []string{"Binary-hello", "Binary-sbom.test", "Binary-hello-2"}; !gocmp.Equal(binaries, want) {
		t.Errorf("binary packages = %q, want %q (in path order)", binaries, want)
	}
	for _, f := range got.Files {
		wantTypes := []string(nil)
		if f.FileName != "/usr/bin/script" {
			wantTypes = []string{"BINARY"}
		}
		if !gocmp.Equal(f.FileTypes, wantTypes) {
			t.Errorf("file %s types = %q, want %q", f.FileName, f.FileTypes, wantTypes)
		}
	}
	ids := map[common.ElementID]bool{}
	for _, p := range got.Packages {
		if ids[p.PackageSPDXIdentifier] {
			t.Errorf("package id %s is used twice", p.PackageSPDXIdentifier)
		}
		ids[p.PackageSPDXIdentifier] = true
	}
}

func TestGenerateImageOSDatabases(t *testing.T) {
	const apkDB = `C:Q1abc=
P:musl
V:1.2.5-r0
A:x86_64
S:383152
o:musl
L:MIT
F:lib
R:ld-musl-x86_64.so.1

C:Q1def=
P:busybox-binsh
V:1.36.1-r29
A:x86_64
o:busybox
L:GPL-2.0-only

`
	const alpineRelease = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n"
	const tzdataStanza = "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n"
	tests := []struct {
		name      string
		layers    [][]tarEntry
		wantPURLs map[common.ElementID]string
		wantOS    string
		wantNot   []common.ElementID
	}{
		{
			name: "alpine",
			layers: [][]tarEntry{{
				reg("etc/os-release", alpineRelease),
				reg("lib/apk/db/installed", apkDB),
			}},
			wantPURLs: map[common.ElementID]string{
				"Apk-musl":          "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3",
				"Apk-busybox-binsh": "pkg:apk/alpine/busybox-binsh@1.36.1-r29?arch=x86_64&distro=alpine-3.20.3",
			},
			wantOS: "alpine 3.20.3",
		},
		{
			name: "distroless status.d with os-release behind a symlink",
			layers: [][]tarEntry{{
				symlink("etc/os-release", "../usr/lib/os-release"),
				reg("usr/lib/os-release", debianOSRelease),
				reg("var/lib/dpkg/status.d/tzdata", tzdataStanza),
				reg("var/lib/dpkg/status.d/tzdata.md5sums", "0123 usr/share/zoneinfo/UTC\n"),
				reg("var/lib/dpkg/status.d/netbase", "Package: netbase\nVersion: 6.4\nArchitecture: all\n"),
			}},
			wantPURLs: map[common.ElementID]string{
				"Deb-tzdata":  "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12",
				"Deb-netbase": "pkg:deb/debian/netbase@6.4?arch=all&distro=debian-12",
			},
			wantOS: "debian 12",
		},
		{
			name: "database without os-release",
			layers: [][]tarEntry{{
				reg("var/lib/dpkg/status", dpkgStatusFile),
			}},
			wantPURLs: map[common.ElementID]string{
				"Deb-base-files": "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64",
				"Deb-libc6":      "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64",
			},
			wantNot: []common.ElementID{"Deb-removed-pkg", "OS"},
		},
		{
			name: "database deleted by an upper layer",
			layers: [][]tarEntry{
				{reg("var/lib/dpkg/status", dpkgStatusFile), reg("etc/os-release", debianOSRelease)},
				{reg("var/lib/.wh.dpkg", "")},
			},
			wantOS:  "debian 12",
			wantNot: []common.ElementID{"Deb-libc6", "Deb-base-files"},
		},
		{
			name:    "no database at all",
			layers:  [][]tarEntry{{reg("etc/passwd", "root:x:0:0::/:/bin/false\n")}},
			wantNot: []common.ElementID{"OS"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var layers []v1.Layer
			for _, l := range tt.layers {
				layers = append(layers, tarLayer(t, l...))
			}
			doc, err := GenerateImage(t.Context(), testImage(t, linuxAMD64, nil, nil, layers...))
			if err != nil {
				t.Fatalf("GenerateImage() = %v, want nil", err)
			}
			got := readBackDoc(t, encodeAndReadBack(t, doc))
			for id, want := range tt.wantPURLs {
				if p := findID(t, got, id); !gocmp.Equal(purls(p), []string{want}) {
					t.Errorf("GenerateImage() PURLs of %s = %q, want %q", id, purls(p), want)
				}
			}
			if tt.wantOS != "" {
				if p := findID(t, got, "OS"); p.PackageName+" "+p.PackageVersion != tt.wantOS {
					t.Errorf("GenerateImage() OS = %s %s, want %s", p.PackageName, p.PackageVersion, tt.wantOS)
				}
			}
			for _, p := range got.Packages {
				if slices.Contains(tt.wantNot, p.PackageSPDXIdentifier) {
					t.Errorf("GenerateImage() has package %s, want none", p.PackageSPDXIdentifier)
				}
			}
			var deb, apk int
			for _, p := range got.Packages {
				switch {
				case strings.HasPrefix(string(p.PackageSPDXIdentifier), "Deb-"):
					deb++
				case strings.HasPrefix(string(p.PackageSPDXIdentifier), "Apk-"):
					apk++
				}
			}
			if deb+apk != len(tt.wantPURLs) {
				t.Errorf("GenerateImage() has %d deb and %d apk packages, want %d in all", deb, apk, len(tt.wantPURLs))
			}
		})
	}
}

func TestGenerateImageApkLicense(t *testing.T) {
	img := testImage(t, linuxARM64, nil, nil, tarLayer(t, reg("lib/apk/db/installed", "P:zlib\nV:1.3.1-r1\nA:aarch64\nL:Zlib\no:zlib\n")))
	doc, err := GenerateImage(t.Context(), img)
	if err != nil {
		t.Fatalf("GenerateImage() = %v, want nil", err)
	}
	p := findID(t, doc, "Apk-zlib")
	// The database's license is not an SPDX expression anyone checked, so
	// it is reported, not declared.
	if p.PackageLicenseDeclared != "NOASSERTION" || p.PackageLicenseComments != "The package database states the license as: Zlib" {
		t.Errorf("zlib license declared, comment = %q, %q, want NOASSERTION and the database's statement", p.PackageLicenseDeclared, p.PackageLicenseComments)
	}
	if p.PackageSourceInfo != "" {
		t.Errorf("zlib source info = %q, want none when the origin is the package itself", p.PackageSourceInfo)
	}
	if got, want := purls(p), []string{"pkg:apk/alpine/zlib@1.3.1-r1?arch=aarch64"}; !gocmp.Equal(got, want) {
		t.Errorf("zlib PURLs = %q, want %q", got, want)
	}
}

func TestGenerateImageDeterministic(t *testing.T) {
	hello := string(compileHello(t, "amd64"))
	build := func() v1.Image {
		return testImage(t, linuxAMD64, map[string]string{annotationBaseName: "debian:12", annotationBaseDigest: "sha256:2222222222222222222222222222222222222222222222222222222222222222"}, nil,
			tarLayer(t, reg("var/lib/dpkg/status", dpkgStatusFile), reg("etc/os-release", debianOSRelease), reg("etc/b", "b"), reg("etc/a", "a"), reg("etc/a_b", "x"), reg("etc/a-b", "y")),
			tarLayer(t, reg("app/hello", hello), reg("app/hello2", hello)))
	}
	opts := []Option{WithCreated(commitTime), WithVersion("1.0.0"), WithOwnBinaries("/app/hello"), WithRepository("registry.example.com/team/app")}
	var outs [][]byte
	for range 3 {
		doc, err := GenerateImage(t.Context(), build(), opts...)
		if err != nil {
			t.Fatalf("GenerateImage() = %v, want nil", err)
		}
		raw, err := EncodeJSON(doc)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, raw)
	}
	if !bytes.Equal(outs[0], outs[1]) || !bytes.Equal(outs[0], outs[2]) {
		t.Errorf("GenerateImage() three times gave different JSON:\n%s\nvs\n%s", outs[0], outs[1])
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, outs[0]); err != nil || !bytes.Equal(compact.Bytes(), outs[0]) {
		t.Errorf("EncodeJSON() = %.200s..., want compact JSON (json.Compact changes it: %v)", outs[0], err)
	}
	// The base on Docker Hub is written the way purl users write it.
	doc := readBackDoc(t, outs[0])
	if got, want := purls(findID(t, doc, "Base")), []string{"pkg:oci/debian@sha256:2222222222222222222222222222222222222222222222222222222222222222?arch=amd64&os=linux&repository_url=docker.io%2Flibrary%2Fdebian&tag=12"}; !gocmp.Equal(got, want) {
		t.Errorf("base PURLs = %q, want %q", got, want)
	}
	// Paths that fold to the same id keep apart.
	var ids []string
	for _, f := range doc.Files {
		if strings.HasPrefix(f.FileName, "/etc/a") {
			ids = append(ids, f.FileName+"="+string(f.FileSPDXIdentifier))
		}
	}
	if want := []string{"/etc/a=File-etc-a", "/etc/a-b=File-etc-a-b", "/etc/a_b=File-etc-a-b-2"}; !gocmp.Equal(ids, want) {
		t.Errorf("file ids = %q, want %q", ids, want)
	}
}

func TestEncodeJSON(t *testing.T) {
	doc, err := GenerateImage(t.Context(), testImage(t, linuxAMD64, nil, nil, tarLayer(t, reg("etc/motd", "<hi & bye>\n"))))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := EncodeJSON(doc)
	if err != nil {
		t.Fatalf("EncodeJSON() = %v, want nil", err)
	}
	var viaWrite bytes.Buffer
	if err := spdxjson.Write(doc, &viaWrite); err != nil {
		t.Fatal(err)
	}
	if want := bytes.TrimSuffix(viaWrite.Bytes(), []byte("\n")); !bytes.Equal(raw, want) {
		t.Errorf("EncodeJSON() = %s, want spdxjson.Write's bytes without the newline %s", raw, want)
	}
	if !json.Valid(raw) || bytes.HasSuffix(raw, []byte("\n")) {
		t.Errorf("EncodeJSON() = %q, want valid JSON without a trailing newline", raw)
	}
}

func TestGenerateIndex(t *testing.T) {
	amd, arm := string(compileHello(t, "amd64")), string(compileHello(t, "arm64"))
	const baseIndex = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
	imgFor := func(p v1.Platform, bin, baseDigest string) v1.Image {
		return testImage(t, p, map[string]string{annotationBaseName: "hoist.dev/static", annotationBaseDigest: baseDigest, annotationVersion: "0.9.0"}, nil,
			tarLayer(t, reg("etc/passwd", "root:x:0:0::/:/bin/false\n")),
			tarLayer(t, reg("usr/local/bin/hello", bin)))
	}
	amdImg := imgFor(linuxAMD64, amd, "sha256:4444444444444444444444444444444444444444444444444444444444444444")
	armImg := imgFor(linuxARM64, arm, "sha256:5555555555555555555555555555555555555555555555555555555555555555")
	// An attestation manifest as BuildKit adds one: not a platform image.
	attest := testImage(t, v1.Platform{OS: "unknown", Architecture: "unknown"}, nil, nil, tarLayer(t, reg("statement.json", "{}")))
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amdImg, Descriptor: v1.Descriptor{Platform: &linuxAMD64}},
		mutate.IndexAddendum{Add: armImg, Descriptor: v1.Descriptor{Platform: &linuxARM64}},
		mutate.IndexAddendum{Add: attest, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{dockerReferenceType: "attestation-manifest"},
		}},
	)
	idx = mutate.Annotations(idx, map[string]string{annotationBaseName: "hoist.dev/static", annotationBaseDigest: baseIndex, annotationVersion: "0.9.0", annotationTitle: "hello"}).(v1.ImageIndex)
	idxDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}

	doc, err := GenerateIndex(t.Context(), idx, WithCreated(commitTime), WithOwnBinaries("/usr/local/bin/hello"))
	if err != nil {
		t.Fatalf("GenerateIndex() = %v, want nil", err)
	}
	raw := encodeAndReadBack(t, doc)
	got := readBackDoc(t, raw)

	if want := "https://hoist.dev/spdx/hello-0.9.0-" + idxDigest.Hex[:12]; got.DocumentNamespace != want {
		t.Errorf("GenerateIndex() namespace = %q, want %q", got.DocumentNamespace, want)
	}
	index := findID(t, got, "Index")
	if want := []string{"pkg:oci/hello@sha256:" + idxDigest.Hex}; !gocmp.Equal(purls(index), want) {
		t.Errorf("index PURLs = %q, want %q", purls(index), want)
	}
	for _, tt := range []struct {
		plat     v1.Platform
		img      v1.Image
		bin      string
		baseHash string
	}{
		{linuxAMD64, amdImg, amd, "sha256:4444444444444444444444444444444444444444444444444444444444444444"},
		{linuxARM64, armImg, arm, "sha256:5555555555555555555555555555555555555555555555555555555555555555"},
	} {
		scope := "linux-" + tt.plat.Architecture
		d, err := tt.img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		img := findID(t, got, common.ElementID("Image-"+scope))
		if want := []string{"pkg:oci/hello@" + d.String() + "?arch=" + tt.plat.Architecture + "&os=linux"}; !gocmp.Equal(purls(img), want) {
			t.Errorf("%s image PURLs = %q, want %q", scope, purls(img), want)
		}
		base := findID(t, got, common.ElementID("Base-"+scope))
		if want := []string{"pkg:oci/static@" + tt.baseHash + "?arch=" + tt.plat.Architecture + "&os=linux&repository_url=hoist.dev%2Fstatic"}; !gocmp.Equal(purls(base), want) {
			t.Errorf("%s base PURLs = %q, want %q", scope, purls(base), want)
		}
		bin := findID(t, got, common.ElementID("Binary-"+scope+"-hello"))
		_, wantSum := sums(tt.bin)
		if bin.PackageChecksums[0].Value != wantSum || !strings.Contains(bin.PackageComment, "linux/"+tt.plat.Architecture) {
			t.Errorf("%s binary = %v %q, want checksum %s and a comment naming the platform", scope, bin.PackageChecksums, bin.PackageComment, wantSum)
		}
		if v := findID(t, got, common.ElementID("Module-"+scope+"-hello-example.com-hello")).PackageVersion; v != "v0.9.0" {
			t.Errorf("%s main module version = %q, want v0.9.0 from the index's version annotation", scope, v)
		}
	}
	wantTop := []string{
		"SPDXRef-DOCUMENT DESCRIBES SPDXRef-Index",
		"SPDXRef-Index DESCENDANT_OF SPDXRef-Base-index",
	}
	rels := relationships(doc)
	if diff := gocmp.Diff(wantTop, rels[:2]); diff != "" {
		t.Errorf("GenerateIndex() first relationships mismatch (-want +got):\n%s", diff)
	}
	for _, want := range []string{
		"SPDXRef-Index CONTAINS SPDXRef-Image-linux-amd64",
		"SPDXRef-Index CONTAINS SPDXRef-Image-linux-arm64",
		"SPDXRef-Image-linux-arm64 CONTAINS SPDXRef-File-linux-arm64-etc-passwd",
		"SPDXRef-Image-linux-amd64 CONTAINS SPDXRef-File-linux-amd64-etc-passwd",
	} {
		if !slices.Contains(rels, want) {
			t.Errorf("GenerateIndex() relationships lack %q", want)
		}
	}
	if bytes.Contains(raw, []byte("statement.json")) {
		t.Errorf("GenerateIndex() describes the attestation manifest, want it skipped")
	}

	again, err := GenerateIndex(t.Context(), idx, WithCreated(commitTime), WithOwnBinaries("/usr/local/bin/hello"))
	if err != nil {
		t.Fatal(err)
	}
	if raw2, _ := EncodeJSON(again); !bytes.Equal(raw, raw2) {
		t.Errorf("GenerateIndex() twice gave different JSON")
	}
}

// failingLayer is a layer whose content cannot be read.
type failingLayer struct{ v1.Layer }

func (failingLayer) Compressed() (io.ReadCloser, error) {
	return nil, errors.New("blob unavailable")
}

func (failingLayer) Uncompressed() (io.ReadCloser, error) {
	return nil, errors.New("blob unavailable")
}

func TestGenerateImageErrors(t *testing.T) {
	good := tarLayer(t, reg("etc/passwd", "root:x:0:0::/:/bin/false\n"))
	img := testImage(t, linuxAMD64, nil, nil, good)
	broken, err := mutate.AppendLayers(img, failingLayer{good})
	if err != nil {
		t.Fatal(err)
	}
	nested := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: empty.Index})
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		img     v1.Image
		idx     v1.ImageIndex
		opts    []Option
		wantErr string
	}{
		{name: "own binary missing", img: img, opts: []Option{WithOwnBinaries("/usr/local/bin/web")}, wantErr: "names /usr/local/bin/web, which is not a Go binary in the linux/amd64 image"},
		{name: "own binary not Go", img: img, opts: []Option{WithOwnBinaries("/etc/passwd")}, wantErr: "/etc/passwd, which is not a Go binary"},
		{name: "unclean own binary", img: img, opts: []Option{WithOwnBinaries("/usr/../bin/web")}, wantErr: "want the clean absolute path"},
		{name: "relative own binary", img: img, opts: []Option{WithOwnBinaries("usr/bin/web")}, wantErr: "want the clean absolute path"},
		{name: "component file missing", img: img, opts: []Option{WithComponents(Component{Name: "roots", Files: []string{"/etc/ssl/cert.pem"}})}, wantErr: "component roots lists /etc/ssl/cert.pem, which is not a regular file"},
		{name: "component without name", img: img, opts: []Option{WithComponents(Component{Files: []string{"/etc/passwd"}})}, wantErr: "has no Name"},
		{name: "component relative file", img: img, opts: []Option{WithComponents(Component{Name: "x", Files: []string{"etc/passwd"}})}, wantErr: "use the clean absolute path"},
		{name: "component bad purl", img: img, opts: []Option{WithComponents(Component{Name: "x", PURL: "golang/x"})}, wantErr: "starts with pkg:"},
		{name: "repository with tag", img: img, opts: []Option{WithRepository("ghcr.io/a/b:1.0")}, wantErr: "WithRepository(\"ghcr.io/a/b:1.0\")"},
		{name: "repository with scheme", img: img, opts: []Option{WithRepository("https://ghcr.io/a/b")}, wantErr: "without scheme"},
		{name: "unreadable layer", img: broken, wantErr: "read layer 1 (sha256:"},
		{name: "cancelled", ctx: cancelled, img: img, wantErr: context.Canceled.Error()},
		{name: "nested index", idx: nested, wantErr: "is itself an index"},
		{name: "empty index", idx: empty.Index, wantErr: "no platform images"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			var err error
			if tt.idx != nil {
				_, err = GenerateIndex(ctx, tt.idx, tt.opts...)
			} else {
				_, err = GenerateImage(ctx, tt.img, tt.opts...)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Generate(%s) = %v, want an error containing %q", tt.name, err, tt.wantErr)
			}
		})
	}
	if _, err := GenerateImage(cancelled, img); !errors.Is(err, context.Canceled) {
		t.Errorf("GenerateImage(cancelled ctx) = %v, want context.Canceled", err)
	}
}

func TestGenerateImageNames(t *testing.T) {
	layer := tarLayer(t, reg("etc/hostname", "box\n"))
	tests := []struct {
		name         string
		anns, labels map[string]string
		opts         []Option
		wantDoc      string
		wantPURL     string // up to the "@"
		wantNSPrefix string
	}{
		{name: "nothing known", wantDoc: "image-devel", wantPURL: "pkg:oci/image", wantNSPrefix: "https://hoist.dev/spdx/image-devel-"},
		{name: "title and version annotations", anns: map[string]string{annotationTitle: "Hello", annotationVersion: "0.1.0"}, wantDoc: "Hello-0.1.0", wantPURL: "pkg:oci/hello", wantNSPrefix: "https://hoist.dev/spdx/Hello-0.1.0-"},
		{name: "config labels when the manifest has none", labels: map[string]string{annotationTitle: "lbl", annotationVersion: "2.0"}, wantDoc: "lbl-2.0", wantPURL: "pkg:oci/lbl", wantNSPrefix: "https://hoist.dev/spdx/lbl-2.0-"},
		{name: "repository beats annotations", anns: map[string]string{annotationTitle: "Hello"}, opts: []Option{WithRepository("localhost:5000/team/api")}, wantDoc: "api-devel", wantPURL: "pkg:oci/api", wantNSPrefix: "https://hoist.dev/spdx/api-devel-"},
		{name: "repository-style name", opts: []Option{WithName("team/web"), WithVersion("1.0"), WithNamespaceBase("https://example.com/sboms/")}, wantDoc: "team/web-1.0", wantPURL: "pkg:oci/web", wantNSPrefix: "https://example.com/sboms/teamweb-1.0-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := GenerateImage(t.Context(), testImage(t, linuxAMD64, tt.anns, tt.labels, layer), tt.opts...)
			if err != nil {
				t.Fatalf("GenerateImage() = %v, want nil", err)
			}
			u := purls(findID(t, doc, "Image"))
			if doc.DocumentName != tt.wantDoc || len(u) != 1 || !strings.HasPrefix(u[0], tt.wantPURL+"@sha256:") || !strings.HasPrefix(doc.DocumentNamespace, tt.wantNSPrefix) {
				t.Errorf("GenerateImage() = name %q, purl %q, namespace %q; want %q, %s@sha256:..., %s...", doc.DocumentName, u, doc.DocumentNamespace, tt.wantDoc, tt.wantPURL, tt.wantNSPrefix)
			}
		})
	}
}
