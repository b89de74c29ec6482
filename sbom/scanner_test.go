package sbom

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	gocmp "github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// blobLayer is a layer stored as a registry or an OCI layout stores it: a
// blob of the given media type, named by the blob's digest. It counts how
// often its content is opened, which is how the tests see whether a
// layer was decompressed.
type blobLayer struct {
	blob, tar    []byte
	mt           types.MediaType
	digest       v1.Hash
	compressed   atomic.Int32
	uncompressed atomic.Int32
}

// newBlobLayer writes entries into a tar and compresses it as codec says:
// "gzip", "zstd" or "none".
func newBlobLayer(t testing.TB, codec string, mt types.MediaType, entries ...tarEntry) *blobLayer {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
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
	var blob bytes.Buffer
	switch codec {
	case "gzip":
		zw := gzip.NewWriter(&blob)
		zw.Write(tb.Bytes())
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	case "zstd":
		zw, err := zstd.NewWriter(&blob)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(tb.Bytes())
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	case "none":
		blob.Write(tb.Bytes())
	default:
		t.Fatalf("newBlobLayer: unknown codec %q", codec)
	}
	d, _, err := v1.SHA256(bytes.NewReader(blob.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return &blobLayer{blob: blob.Bytes(), tar: tb.Bytes(), mt: mt, digest: d}
}

func (l *blobLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *blobLayer) DiffID() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(l.tar))
	return h, err
}
func (l *blobLayer) Size() (int64, error)                { return int64(len(l.blob)), nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.mt, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	l.compressed.Add(1)
	return io.NopCloser(bytes.NewReader(l.blob)), nil
}
func (l *blobLayer) Uncompressed() (io.ReadCloser, error) {
	l.uncompressed.Add(1)
	return io.NopCloser(bytes.NewReader(l.tar)), nil
}

// reads is how often the layer's content was opened, either way.
func (l *blobLayer) reads() int { return int(l.compressed.Load() + l.uncompressed.Load()) }

func (l *blobLayer) resetCounts() {
	l.compressed.Store(0)
	l.uncompressed.Store(0)
}

// scanFixture is two platform images on one shared base layer, their
// index, and an image whose layers use the other codecs.
type scanFixture struct {
	base, amdApp, armApp, zstdLayer, plainLayer *blobLayer
	amd, arm, other                             v1.Image
	idx                                         v1.ImageIndex
}

func (f *scanFixture) layers() []*blobLayer {
	return []*blobLayer{f.base, f.amdApp, f.armApp, f.zstdLayer, f.plainLayer}
}

func (f *scanFixture) resetCounts() {
	for _, l := range f.layers() {
		l.resetCounts()
	}
}

var (
	fixtureOnce sync.Once
	fixtureAMD  string
	fixtureARM  string
)

func newScanFixture(t *testing.T) *scanFixture {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureAMD, fixtureARM = string(compileHello(t, "amd64")), string(compileHello(t, "arm64"))
	})
	if fixtureAMD == "" {
		t.Fatal("compiling the hello binaries failed in an earlier test")
	}
	f := &scanFixture{
		base: newBlobLayer(t, "gzip", types.OCILayer,
			dir("etc/"), reg("etc/passwd", "root:x:0:0::/:/bin/false\n"), reg("etc/motd", "hi"),
			reg("var/lib/dpkg/status", dpkgStatusFile), reg("etc/os-release", debianOSRelease),
			hardlink("etc/passwd.link", "etc/passwd"), hardlink("etc/motd.link", "etc/motd"), symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
			dir("srv/"), reg("srv/old", "old"), reg("opt/gone", "x")),
	}
	app := func(bin string) *blobLayer {
		return newBlobLayer(t, "gzip", types.DockerLayer,
			reg("usr/local/bin/hello", bin), reg("etc/.wh.motd", ""), reg("srv/.wh..wh..opq", ""), reg("srv/new", "new"),
			reg("opt/.wh.gone", ""))
	}
	f.amdApp, f.armApp = app(fixtureAMD), app(fixtureARM)
	// An empty /etc/os-release hides /usr/lib/os-release from osPackages,
	// so a cache that lost the difference between empty and absent would
	// change the document.
	f.zstdLayer = newBlobLayer(t, "zstd", types.OCILayerZStd, reg("etc/os-release", ""), reg("usr/lib/os-release", debianOSRelease), reg("app/hello", fixtureAMD))
	f.plainLayer = newBlobLayer(t, "none", types.OCIUncompressedLayer, reg("app/README", "plain"), hardlink("app/hello2", "app/hello"))

	anns := map[string]string{annotationBaseName: "hoist.dev/static", annotationBaseDigest: "sha256:4444444444444444444444444444444444444444444444444444444444444444", annotationVersion: "0.9.0"}
	f.amd = testImage(t, linuxAMD64, anns, nil, f.base, f.amdApp)
	f.arm = testImage(t, linuxARM64, anns, nil, f.base, f.armApp)
	f.other = testImage(t, linuxAMD64, nil, nil, f.zstdLayer, f.plainLayer)
	f.idx = mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: f.amd, Descriptor: v1.Descriptor{Platform: &linuxAMD64}},
		mutate.IndexAddendum{Add: f.arm, Descriptor: v1.Descriptor{Platform: &linuxARM64}},
	)
	return f
}

// describeAll makes the documents a release makes (the index, then each
// platform image), and one of the other image, and returns their JSON.
func (f *scanFixture) describeAll(t testing.TB, ctx context.Context, opts ...Option) [][]byte {
	t.Helper()
	common := append([]Option{WithCreated(commitTime), WithRepository("registry.example.com/team/hello")}, opts...)
	own := append([]Option{WithOwnBinaries("/usr/local/bin/hello")}, common...)
	var out [][]byte
	add := func(doc *v2_3.Document, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("describe = %v, want nil", err)
		}
		raw, err := EncodeJSON(doc)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, raw)
	}
	add(GenerateIndex(ctx, f.idx, own...))
	add(GenerateImage(ctx, f.amd, own...))
	add(GenerateImage(ctx, f.arm, own...))
	add(GenerateImage(ctx, f.other, common...))
	return out
}

// sameDocs fails t when got differs from want, document by document.
func sameDocs(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	names := []string{"index", "linux/amd64 image", "linux/arm64 image", "zstd and plain image"}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("%s: %s SBOM differs from the one made without a scanner:\n%s\nwant\n%s", what, names[i], got[i], want[i])
		}
	}
}

// cacheFiles lists the scans kept in dir.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestScannerSameBytes(t *testing.T) {
	f := newScanFixture(t)
	want := f.describeAll(t, t.Context())
	// The fixture is what it claims to be: the OS comes from os-release,
	// whiteouts hid what they name, and the empty os-release won.
	for _, s := range []string{`"name":"debian"`, "/srv/new", "/etc/passwd.link", "/app/hello2"} {
		if !bytes.Contains(bytes.Join(want, nil), []byte(s)) {
			t.Errorf("fixture SBOMs lack %s", s)
		}
	}
	for _, s := range []string{"/srv/old", "/opt/gone", `"/etc/motd"`, "/etc/motd.link"} {
		if bytes.Contains(want[1], []byte(s)) {
			t.Errorf("linux/amd64 SBOM lists %s, which an upper layer deleted", s)
		}
	}
	if bytes.Contains(want[3], []byte("OPERATING-SYSTEM")) {
		t.Errorf("zstd image SBOM has an OS package, want none: its /etc/os-release is empty")
	}

	sameDocs(t, "zero Scanner", f.describeAll(t, t.Context(), WithScanner(&Scanner{})), want)
	sameDocs(t, "in-memory scanner", f.describeAll(t, t.Context(), WithScanner(NewScanner(""))), want)

	dir := filepath.Join(t.TempDir(), "sbom")
	cold := NewScanner(dir)
	sameDocs(t, "cold disk cache", f.describeAll(t, t.Context(), WithScanner(cold)), want)
	if got := cacheFiles(t, dir); len(got) != len(f.layers()) {
		t.Errorf("cache holds %d files after a cold run, want one per layer (%d): %q", len(got), len(f.layers()), got)
	}
	sameDocs(t, "cold scanner again", f.describeAll(t, t.Context(), WithScanner(cold)), want)
	f.resetCounts()
	sameDocs(t, "warm disk cache", f.describeAll(t, t.Context(), WithScanner(NewScanner(dir))), want)
	for _, l := range f.layers() {
		if n := l.reads(); n != 0 {
			t.Errorf("layer %s (%s) read %d times with a warm cache, want 0", l.digest, l.mt, n)
		}
	}
}

func TestScannerReadsEachLayerOnce(t *testing.T) {
	f := newScanFixture(t)
	check := func(what string, want map[*blobLayer]int) {
		t.Helper()
		for _, l := range f.layers() {
			if got := int(l.compressed.Load()); got != want[l] {
				t.Errorf("%s: layer %s (%s) Compressed() called %d times, want %d", what, l.digest, l.mt, got, want[l])
			}
			if got := l.uncompressed.Load(); got != 0 {
				t.Errorf("%s: layer %s (%s) Uncompressed() called %d times, want 0: the scanner decompresses these media types itself", what, l.digest, l.mt, got)
			}
		}
		f.resetCounts()
	}
	once := map[*blobLayer]int{f.base: 1, f.amdApp: 1, f.armApp: 1, f.zstdLayer: 1, f.plainLayer: 1}

	f.resetCounts()
	f.describeAll(t, t.Context())
	// Without a scanner each call reads its own images once, the index's
	// shared base included.
	check("no scanner", map[*blobLayer]int{f.base: 3, f.amdApp: 2, f.armApp: 2, f.zstdLayer: 1, f.plainLayer: 1})

	shared := NewScanner("")
	f.describeAll(t, t.Context(), WithScanner(shared))
	check("shared in-memory scanner", once)
	f.describeAll(t, t.Context(), WithScanner(shared))
	check("shared in-memory scanner, second run", nil)

	dir := t.TempDir()
	f.describeAll(t, t.Context(), WithScanner(NewScanner(dir)))
	check("cold disk cache", once)
	f.describeAll(t, t.Context(), WithScanner(NewScanner(dir)))
	check("warm disk cache", nil)
}

func TestScannerCorruptCache(t *testing.T) {
	f := newScanFixture(t)
	want := f.describeAll(t, t.Context())
	dir := t.TempDir()
	f.describeAll(t, t.Context(), WithScanner(NewScanner(dir)))
	victim := NewScanner(dir).cacheFile(f.base.digest)
	good, err := os.ReadFile(victim)
	if err != nil {
		t.Fatalf("cold run left no cache file for the base layer: %v", err)
	}
	other, err := os.ReadFile(NewScanner(dir).cacheFile(f.amdApp.digest))
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := bytes.Cut(good, []byte("\n"))
	// resum rewrites the header so that only the JSON is wrong.
	resum := func(body []byte) []byte {
		return fmt.Appendf(nil, "%s %x\n%s", scanFormat, sha256.Sum256(body), body)
	}
	flip := bytes.Clone(good)
	flip[len(flip)-10] ^= 0x01
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{name: "empty", data: nil},
		{name: "truncated", data: good[:len(good)/2]},
		{name: "one bit flipped", data: flip},
		{name: "no header", data: body},
		{name: "other format", data: append([]byte(strings.Replace(string(head), "/1 ", "/0 ", 1)+"\n"), body...)},
		{name: "another layer's scan", data: other},
		{name: "not JSON", data: resum([]byte("{\"layer\":"))},
		{name: "unknown entry kind", data: resum(bytes.Replace(body, []byte(`"kind":1`), []byte(`"kind":9`), 1))},
		{name: "short checksum", data: resum(bytes.Replace(body, []byte(`"sha1":"`), []byte(`"sha1":"00`), 1))},
		{name: "unclean name", data: resum(bytes.Replace(body, []byte(`"name":"etc/passwd"`), []byte(`"name":"/etc/passwd"`), 1))},
		{name: "directory in its place", data: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.RemoveAll(victim); err != nil {
				t.Fatal(err)
			}
			if tt.name == "directory in its place" {
				if err := os.Mkdir(victim, 0o755); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(victim, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			f.resetCounts()
			sameDocs(t, tt.name, f.describeAll(t, t.Context(), WithScanner(NewScanner(dir))), want)
			if n := f.base.reads(); n != 1 {
				t.Errorf("base layer read %d times with a %s cache file, want 1", n, tt.name)
			}
			if n := f.amdApp.reads(); n != 0 {
				t.Errorf("app layer read %d times, want 0: its cache file is intact", n)
			}
			if tt.name == "directory in its place" {
				return // the rescan cannot replace a directory, and need not
			}
			if got, err := os.ReadFile(victim); err != nil || !bytes.Equal(got, good) {
				t.Errorf("cache file after the rescan = %.80q, %v; want it rewritten as the cold run wrote it", got, err)
			}
		})
	}
}

func TestScannerConcurrent(t *testing.T) {
	f := newScanFixture(t)
	want := f.describeAll(t, t.Context())
	f.resetCounts()
	s := NewScanner(t.TempDir())
	var wg sync.WaitGroup
	results := make([][][]byte, 6)
	for i := range results {
		wg.Go(func() { results[i] = f.describeAll(t, t.Context(), WithScanner(s)) })
	}
	wg.Wait()
	for i, got := range results {
		sameDocs(t, fmt.Sprintf("concurrent run %d", i), got, want)
	}
	for _, l := range f.layers() {
		if n := l.reads(); n != 1 {
			t.Errorf("layer %s read %d times by %d concurrent runs sharing a scanner, want 1", l.digest, n, len(results))
		}
	}
}

// gatedLayer stalls the first read of its content until gate is closed,
// and closes started when that read begins.
type gatedLayer struct {
	*blobLayer
	started, gate chan struct{}
	opened        atomic.Bool
}

func (l *gatedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.blobLayer.Compressed()
	if err != nil || l.opened.Swap(true) {
		return rc, err
	}
	var once sync.Once
	return readerFunc(func(p []byte) (int, error) {
		once.Do(func() {
			close(l.started)
			<-l.gate
		})
		return rc.Read(p)
	}), nil
}

type readerFunc func([]byte) (int, error)

func (r readerFunc) Read(p []byte) (int, error) { return r(p) }
func (r readerFunc) Close() error               { return nil }

func TestScannerCancelledReadIsNotShared(t *testing.T) {
	f := newScanFixture(t)
	want, err := GenerateImage(t.Context(), testImage(t, linuxAMD64, nil, nil, f.base))
	if err != nil {
		t.Fatal(err)
	}
	wantRaw := mustEncodeJSON(t, want)
	f.resetCounts()

	// The first call's read stalls, a second call waits for it, and then
	// the first call's context ends: the second must read the layer itself
	// rather than fail with the first call's error.
	synctest.Test(t, func(t *testing.T) {
		l := &gatedLayer{blobLayer: f.base, started: make(chan struct{}), gate: make(chan struct{})}
		img := testImage(t, linuxAMD64, nil, nil, l)
		s := NewScanner(t.TempDir())
		ctx, cancel := context.WithCancel(t.Context())
		first := make(chan error, 1)
		go func() {
			_, err := GenerateImage(ctx, img, WithScanner(s))
			first <- err
		}()
		<-l.started
		second := make(chan []byte, 1)
		go func() {
			doc, err := GenerateImage(t.Context(), img, WithScanner(s))
			if err != nil {
				t.Errorf("GenerateImage() waiting on a cancelled read = %v, want nil", err)
				second <- nil
				return
			}
			second <- mustEncodeJSON(t, doc)
		}()
		synctest.Wait() // the second call now waits for the first's read
		cancel()
		close(l.gate)
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Errorf("GenerateImage(cancelled) = %v, want context.Canceled", err)
		}
		if got := <-second; got != nil && !bytes.Equal(got, wantRaw) {
			t.Errorf("GenerateImage() after a cancelled read = %s, want %s", got, wantRaw)
		}
		if n := l.compressed.Load(); n != 2 {
			t.Errorf("layer opened %d times, want 2: the cancelled read and the waiter's own", n)
		}
	})
}

func mustEncodeJSON(t testing.TB, doc *v2_3.Document) []byte {
	t.Helper()
	raw, err := EncodeJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// lyingLayer claims a digest its blob does not have.
type lyingLayer struct{ *blobLayer }

func (l lyingLayer) Digest() (v1.Hash, error) {
	return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}, nil
}

// opaqueLayer has a media type the scanner does not know.
type opaqueLayer struct{ *blobLayer }

func (opaqueLayer) MediaType() (types.MediaType, error) { return "application/x-hoist-test", nil }

func TestScannerOnlyCachesVerifiedScans(t *testing.T) {
	f := newScanFixture(t)
	// A plain tar under a gzip media type, as some tools write.
	misnamed := newBlobLayer(t, "none", types.DockerLayer, reg("etc/motd", "hi"))
	for _, tt := range []struct {
		name                             string
		layer                            v1.Layer
		blob                             *blobLayer
		wantCompressed, wantUncompressed int32
	}{
		{name: "digest does not match the blob", layer: lyingLayer{f.amdApp}, blob: f.amdApp, wantCompressed: 1},
		{name: "unknown media type", layer: opaqueLayer{f.base}, blob: f.base, wantUncompressed: 1},
		// The blob is opened to look at its first bytes, then the layer
		// is asked for its tar.
		{name: "media type says gzip, bytes do not", layer: misnamed, blob: misnamed, wantCompressed: 1, wantUncompressed: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img := testImage(t, linuxAMD64, nil, nil, tt.layer)
			tt.blob.resetCounts()
			plain, err := GenerateImage(t.Context(), img)
			if err != nil {
				t.Fatalf("GenerateImage() = %v, want nil", err)
			}
			dir := t.TempDir()
			for run := range 2 {
				tt.blob.resetCounts()
				doc, err := GenerateImage(t.Context(), img, WithScanner(NewScanner(dir)))
				if err != nil {
					t.Fatalf("GenerateImage(run %d) = %v, want nil", run, err)
				}
				if !bytes.Equal(mustEncodeJSON(t, doc), mustEncodeJSON(t, plain)) {
					t.Errorf("run %d: SBOM differs from the one made without a scanner", run)
				}
				// Nothing may come from the cache.
				if c, u := tt.blob.compressed.Load(), tt.blob.uncompressed.Load(); c != tt.wantCompressed || u != tt.wantUncompressed {
					t.Errorf("run %d: Compressed(), Uncompressed() called %d, %d times, want %d, %d", run, c, u, tt.wantCompressed, tt.wantUncompressed)
				}
			}
			if got := cacheFiles(t, dir); len(got) != 0 {
				t.Errorf("cache holds %q, want nothing: the scan could not be checked against the digest", got)
			}
		})
	}
}

func TestScanFormatRoundTrip(t *testing.T) {
	// Every entry kind and every fileInfo field survives the disk format.
	f := newScanFixture(t)
	for _, l := range f.layers() {
		ls, err := readLayer(t.Context(), l, l.digest)
		if err != nil {
			t.Fatal(err)
		}
		if !ls.verified {
			t.Errorf("readLayer(%s) verified = false, want true", l.mt)
		}
		raw, err := encodeScan(ls, l.digest)
		if err != nil {
			t.Fatal(err)
		}
		back := decodeScan(raw, l.digest)
		if back == nil {
			t.Fatalf("decodeScan(encodeScan(%s)) = nil, want the scan", l.mt)
		}
		if diff := gocmp.Diff(ls, back, gocmp.AllowUnexported(layerScan{}, layerEntry{}, fileInfo{})); diff != "" {
			t.Errorf("scan of the %s layer changed through the disk format (-want +got):\n%s", l.mt, diff)
		}
	}
}

func TestDecodeScanRejectsNilModule(t *testing.T) {
	f := newScanFixture(t)
	ls, err := readLayer(t.Context(), f.amdApp, f.amdApp.digest)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := encodeScan(ls, f.amdApp.digest)
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := bytes.Cut(raw, []byte("\n"))
	bad := bytes.Replace(body, []byte(`"Settings":[`), []byte(`"Deps":[null],"Settings":[`), 1)
	if bytes.Equal(bad, body) {
		t.Fatalf("encoded scan has no build settings to put a module before:\n%s", body)
	}
	bad = fmt.Appendf(nil, "%s %x\n%s", scanFormat, sha256.Sum256(bad), bad)
	if got := decodeScan(bad, f.amdApp.digest); got != nil {
		t.Errorf("decodeScan(a binary with a null module) = %v, want nil: describing it would panic", got)
	}
}
