package image

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestBuildRealBinaries compiles a program for two platforms with the real
// toolchain and reads every part of the resulting index back.
func TestBuildRealBinaries(t *testing.T) {
	dist := t.TempDir()
	bins := []Binary{
		{Name: "hello", Platform: arm64, Path: goBuild(t, dist, "arm64")},
		{Name: "hello", Platform: amd64, Path: goBuild(t, dist, "amd64")},
	}
	cfg := Config{
		Version:      "0.1.0",
		Revision:     "0123456789abcdef0123456789abcdef01234567",
		Source:       "https://example.com/hello",
		Created:      commitTime,
		ExposedPorts: []string{"8080"},
	}
	res, err := Build(t.Context(), bins, cfg)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if err := validate.Index(res.Index); err != nil {
		t.Fatalf("validate.Index() = %v, want nil", err)
	}
	if got := mustDigest(t, res.Index); got != res.Digest {
		t.Errorf("Result.Digest = %s, want index digest %s", res.Digest, got)
	}
	if mt, _ := res.Index.MediaType(); mt != types.OCIImageIndex {
		t.Errorf("Index.MediaType() = %s, want %s", mt, types.OCIImageIndex)
	}
	im, err := res.Index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, d := range im.Manifests {
		plats = append(plats, platformString(*d.Platform))
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("index entry %s media type = %s, want %s", d.Digest, d.MediaType, types.OCIManifestSchema1)
		}
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, plats); diff != "" {
		t.Errorf("index platforms (-want +got):\n%s", diff)
	}
	wantAnn := map[string]string{
		AnnotationVersion:    "0.1.0",
		AnnotationRevision:   cfg.Revision,
		AnnotationSource:     cfg.Source,
		AnnotationCreated:    "2025-03-14T15:09:26Z",
		AnnotationTitle:      "hello",
		AnnotationBaseName:   BuiltinBaseName,
		AnnotationBaseDigest: res.BaseDigest.String(),
	}
	if diff := cmp.Diff(wantAnn, im.Annotations); diff != "" {
		t.Errorf("index annotations (-want +got):\n%s", diff)
	}

	for i, pi := range res.Images {
		plat := platformString(pi.Platform)
		img := pi.Image
		if err := validate.Image(img); err != nil {
			t.Errorf("validate.Image(%s) = %v, want nil", plat, err)
		}
		if d := mustDigest(t, img); d != pi.Digest || d != im.Manifests[i].Digest {
			t.Errorf("%s digest = %s, want %s (index entry %s)", plat, pi.Digest, d, im.Manifests[i].Digest)
		}
		m := manifestOf(t, img)
		if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
			t.Errorf("%s media types = %s, %s, want OCI manifest and config", plat, m.MediaType, m.Config.MediaType)
		}
		raw, _ := img.RawManifest()
		wantSize := m.Config.Size + int64(len(raw))
		for _, l := range m.Layers {
			wantSize += l.Size
			if l.MediaType != types.OCILayer {
				t.Errorf("%s layer %s media type = %s, want %s", plat, l.Digest, l.MediaType, types.OCILayer)
			}
		}
		if pi.Size != wantSize {
			t.Errorf("%s Size = %d, want %d", plat, pi.Size, wantSize)
		}
		wantAnn[AnnotationBaseDigest] = pi.BaseDigest.String()
		if diff := cmp.Diff(wantAnn, m.Annotations); diff != "" {
			t.Errorf("%s manifest annotations (-want +got):\n%s", plat, diff)
		}

		cf := configOf(t, img)
		if cf.OS != "linux" || cf.Architecture != pi.Platform.Architecture {
			t.Errorf("%s config platform = %s/%s", plat, cf.OS, cf.Architecture)
		}
		if !cf.Created.Time.Equal(commitTime) {
			t.Errorf("%s config created = %v, want %v", plat, cf.Created.Time, commitTime)
		}
		for _, h := range cf.History {
			if !h.Created.Time.Equal(commitTime) {
				t.Errorf("%s history %q created = %v, want %v", plat, h.CreatedBy, h.Created.Time, commitTime)
			}
		}
		c := cf.Config
		if c.User != "65532:65532" {
			t.Errorf("%s config User = %q, want %q", plat, c.User, "65532:65532")
		}
		if diff := cmp.Diff([]string{"/usr/local/bin/hello"}, c.Entrypoint); diff != "" {
			t.Errorf("%s Entrypoint (-want +got):\n%s", plat, diff)
		}
		if c.WorkingDir != "/home/nonroot" {
			t.Errorf("%s WorkingDir = %q, want /home/nonroot", plat, c.WorkingDir)
		}
		if !slices.Contains(c.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") || !slices.ContainsFunc(c.Env, func(s string) bool { return strings.HasPrefix(s, "PATH=") }) {
			t.Errorf("%s Env = %q, want PATH and SSL_CERT_FILE", plat, c.Env)
		}
		if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 1 {
			t.Errorf("%s ExposedPorts = %v, want 8080/tcp", plat, c.ExposedPorts)
		}
		for k, v := range wantAnn {
			if c.Labels[k] != v {
				t.Errorf("%s label %s = %q, want %q", plat, k, c.Labels[k], v)
			}
		}

		layers := layersOf(t, img)
		if len(layers) != 2 {
			t.Fatalf("%s has %d layers, want 2 (base, binaries)", plat, len(layers))
		}
		checkStaticBase(t, layers[0])
		names, files := readLayer(t, layers[1])
		if diff := cmp.Diff([]string{"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/hello"}, names); diff != "" {
			t.Errorf("%s binaries layer entries (-want +got):\n%s", plat, diff)
		}
		bin := files["usr/local/bin/hello"]
		want, _ := os.ReadFile(bins[1-i].Path)
		if !bytes.Equal(bin.data, want) {
			t.Errorf("%s /usr/local/bin/hello differs from %s", plat, bins[1-i].Path)
		}
		for _, n := range names {
			h := files[n].hdr
			if h.Mode != 0o755 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(commitTime) {
				t.Errorf("%s %s header = mode %o uid %d gid %d %q/%q mtime %v, want 0755 0:0 no names %v", plat, n, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime, commitTime)
			}
			if !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
				t.Errorf("%s %s has atime/ctime %v/%v, want none", plat, n, h.AccessTime, h.ChangeTime)
			}
		}
	}
}

// checkStaticBase reads the built-in base layer back.
func checkStaticBase(t *testing.T, l v1.Layer) {
	t.Helper()
	names, files := readLayer(t, l)
	want := []string{"etc/", "etc/group", "etc/nsswitch.conf", "etc/passwd", "etc/ssl/", "etc/ssl/certs/",
		"etc/ssl/certs/ca-certificates.crt", "home/", "home/nonroot/", "root/", "tmp/"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Fatalf("base layer entries (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name     string
		mode     int64
		uid, gid int
	}{
		{"tmp/", 0o1777, 0, 0},
		{"home/nonroot/", 0o755, 65532, 65532},
		{"root/", 0o700, 0, 0},
		{"etc/passwd", 0o644, 0, 0},
		{"etc/ssl/certs/ca-certificates.crt", 0o644, 0, 0},
	} {
		h := files[tc.name].hdr
		if h.Mode != tc.mode || h.Uid != tc.uid || h.Gid != tc.gid {
			t.Errorf("base %s = mode %o %d:%d, want %o %d:%d", tc.name, h.Mode, h.Uid, h.Gid, tc.mode, tc.uid, tc.gid)
		}
	}
	if p := string(files["etc/passwd"].data); !strings.Contains(p, "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n") || !strings.HasPrefix(p, "root:x:0:0:") {
		t.Errorf("base /etc/passwd = %q, want root and nonroot entries", p)
	}
	if g := string(files["etc/group"].data); !strings.Contains(g, "nonroot:x:65532:") {
		t.Errorf("base /etc/group = %q, want a nonroot group", g)
	}
	pool := x509.NewCertPool()
	rest := files["etc/ssl/certs/ca-certificates.crt"].data
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("parse CA certificate %d: %v", n, err)
		}
		pool.AddCert(c)
		n++
	}
	if _, included, _ := caBundle(); n != included || n < 100 {
		t.Errorf("base CA bundle has %d certificates, want %d (and at least 100)", n, included)
	}
}

func TestCABundleExcludesConstrainedRoots(t *testing.T) {
	pemBytes, included, excluded := caBundle()
	again, _, _ := caBundle()
	if !bytes.Equal(pemBytes, again) {
		t.Errorf("caBundle() is not deterministic")
	}
	if excluded < 1 {
		t.Logf("caBundle() excluded = %d: this bundle version has no constrained roots", excluded)
	}
	if included+excluded < 100 {
		t.Errorf("caBundle() = %d included + %d excluded, want about the NSS set (>100)", included, excluded)
	}
}

func TestBuildReproducible(t *testing.T) {
	bins := fakeBinaries(t, "web")
	extra := t.TempDir()
	if err := os.WriteFile(extra+"/app.conf", []byte("listen=:8080\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Version: "1.2.3", Created: commitTime, Files: []File{{Src: extra, Dst: "/etc/web"}},
		Dirs: []Dir{{Path: "/var/lib/web", UID: NonrootUID, GID: NonrootUID}}, Labels: map[string]string{"a": "1", "b": "2"}}
	first, err := Build(t.Context(), bins, cfg)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	reversed := []Binary{bins[1], bins[0]}
	second, err := Build(t.Context(), reversed, cfg, WithJobs(1))
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if first.Digest != second.Digest {
		t.Errorf("Build() twice = %s, %s, want the same digest", first.Digest, second.Digest)
	}
	later := cfg
	later.Created = commitTime.Add(time.Second)
	third, err := Build(t.Context(), bins, later)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if third.Digest == first.Digest {
		t.Errorf("Build() with Created+1s = %s, want a digest different from %s", third.Digest, first.Digest)
	}
	// Created below a second does not count: a commit time has none, and
	// tar headers would otherwise need PAX records for it.
	frac := cfg
	frac.Created = commitTime.Add(300 * time.Millisecond)
	fourth, err := Build(t.Context(), bins, frac)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if fourth.Digest != first.Digest {
		t.Errorf("Build() with Created+300ms = %s, want %s", fourth.Digest, first.Digest)
	}
}

func TestBuildDefaultCreatedIsEpoch(t *testing.T) {
	res, err := Build(t.Context(), fakeBinaries(t, "web")[:1], Config{})
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	cf := configOf(t, res.Images[0].Image)
	if !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("config created = %v, want the Unix epoch", cf.Created.Time)
	}
}

func TestGzipHasNoTimestampOrName(t *testing.T) {
	res, err := Build(t.Context(), fakeBinaries(t, "web"), Config{Created: commitTime})
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	for _, l := range layersOf(t, res.Images[0].Image) {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		hdr := make([]byte, 10)
		if _, err := rc.Read(hdr); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		// RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS.
		if hdr[0] != 0x1f || hdr[1] != 0x8b {
			t.Fatalf("layer %s is not gzip", mustDigest(t, l))
		}
		if flg := hdr[3]; flg&0x08 != 0 || flg&0x10 != 0 {
			t.Errorf("gzip FLG = %#x, want no FNAME or FCOMMENT", flg)
		}
		if !bytes.Equal(hdr[4:8], []byte{0, 0, 0, 0}) {
			t.Errorf("gzip MTIME = %x, want zero", hdr[4:8])
		}
	}
}
