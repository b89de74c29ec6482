package publish

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fastRetry keeps retry tests quick while still exercising the backoff loop.
var fastRetry = WithRetry(6, time.Millisecond, 4*time.Millisecond)

// requestLog counts registry requests by kind, so tests can prove what a
// push did and did not send.
type requestLog struct {
	mu     sync.Mutex
	counts map[string]int
	seq    []string // kind and path of every request, in arrival order
}

func (l *requestLog) add(r *http.Request) {
	kind := requestKind(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[string]int{}
	}
	l.counts[kind]++
	l.seq = append(l.seq, kind+" "+r.URL.Path)
}

func (l *requestLog) sequence() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seq...)
}

func (l *requestLog) get(kind string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[kind]
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts = nil
	l.seq = nil
}

// requestKind classifies a distribution-API request.
func requestKind(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.Contains(p, "/blobs/uploads"):
		return "blob-upload" // POST, PATCH or PUT of blob content
	case strings.Contains(p, "/blobs/"):
		return "blob-" + strings.ToLower(r.Method)
	case strings.Contains(p, "/manifests/"):
		ref := p[strings.LastIndex(p, "/")+1:]
		if strings.HasPrefix(ref, "sha256:") {
			return "manifest-" + strings.ToLower(r.Method) + "-digest"
		}
		return "manifest-" + strings.ToLower(r.Method) + "-tag"
	}
	return "other"
}

// counting wraps a registry handler with a requestLog.
func counting(h http.Handler, l *requestLog) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.add(r)
		h.ServeHTTP(w, r)
	})
}

func quietRegistry() http.Handler {
	return registry.New(registry.Logger(log.New(io.Discard, "", 0)))
}

// testRegistry starts go-containerregistry's in-process registry on
// loopback and returns its host:port and request log.
func testRegistry(t testing.TB) (string, *requestLog) {
	t.Helper()
	l := &requestLog{}
	srv := httptest.NewServer(counting(quietRegistry(), l))
	t.Cleanup(srv.Close)
	return hostOf(t, srv.URL), l
}

func hostOf(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// gzipLayer builds a real gzipped tar layer of about size random bytes,
// compressed once up front so reading it repeatedly costs what reading a
// file from an OCI layout costs.
func gzipLayer(t testing.TB, rng *rand.Rand, size int) v1.Layer {
	t.Helper()
	content := make([]byte, size)
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f%d", rng.Uint64()), Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := zw.Write(tb.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	blob := gz.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testImage builds an OCI image for platform p from layers.
func testImage(t testing.TB, p v1.Platform, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config.Entrypoint = []string{"/app"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.AppendLayers(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
)

// testIndex builds a two-platform OCI index whose images share one base
// layer and each have one layer of their own: 5 distinct blobs in all
// (shared layer, two own layers, two configs).
func testIndex(t testing.TB, seed uint64, layerSize int) v1.ImageIndex {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	shared := gzipLayer(t, rng, layerSize)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range []v1.Platform{amd64, arm64} {
		img := testImage(t, p, shared, gzipLayer(t, rng, layerSize))
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return idx
}

const testIndexBlobs = 5

func digestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// headRef returns the digest ref resolves to, or an error such as a 404.
func headRef(t testing.TB, ref string, opts ...remote.Option) (v1.Hash, error) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r, opts...)
	if err != nil {
		return v1.Hash{}, err
	}
	return desc.Digest, nil
}
