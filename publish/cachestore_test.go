package publish

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// cacheFile writes content to a file and describes it as a CacheBlob.
func cacheFile(t testing.TB, content string) CacheBlob {
	t.Helper()
	p := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return CacheBlob{Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(content)), Path: p}
}

func TestCacheStore(t *testing.T) {
	host, _ := testRegistry(t)
	s, err := OpenCacheStore(host + "/team/gocache")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if _, _, err := s.Lookup(ctx, "a-0001"); !errors.Is(err, ErrCacheMiss) {
		t.Fatalf("Lookup(nothing stored) = %v, want ErrCacheMiss", err)
	}
	a, b := cacheFile(t, "object file"), cacheFile(t, "record")
	if err := s.Store(ctx, "a-0001", []CacheBlob{a, b}, map[string]string{"dev.hoist.cache.kind": "test"}); err != nil {
		t.Fatalf("Store: %v", err)
	}
	blobs, ann, err := s.Lookup(ctx, "a-0001")
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if len(blobs) != 2 || blobs[0].Digest != a.Digest || blobs[1].Size != b.Size || ann["dev.hoist.cache.kind"] != "test" {
		t.Fatalf("Lookup = %+v, %v; want the two blobs and the annotation", blobs, ann)
	}
	rc, err := s.Open(ctx, blobs[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "object file" {
		t.Errorf("Open = %q, want the stored content", got)
	}
	// Storing again is harmless.
	if err := s.Store(ctx, "a-0001", []CacheBlob{a, b}, nil); err != nil {
		t.Errorf("Store again: %v", err)
	}
	if err := s.Store(ctx, "not a tag!", nil, nil); err == nil {
		t.Error("Store with an invalid key = nil error")
	}
	if _, err := s.Open(ctx, "sha256:"+hex.EncodeToString(make([]byte, 32))); err == nil {
		t.Error("Open(a blob nobody stored) = nil error")
	}
}

func TestCacheStoreRefusesOtherTags(t *testing.T) {
	host, _ := testRegistry(t)
	idx := testIndex(t, 1, 64)
	if _, err := Push(t.Context(), idx, []Destination{{Repository: host + "/team/gocache", Tags: []string{"a-0002"}}}); err != nil {
		t.Fatal(err)
	}
	s, _ := OpenCacheStore(host + "/team/gocache")
	defer s.Close()
	if _, _, err := s.Lookup(t.Context(), "a-0002"); err == nil || errors.Is(err, ErrCacheMiss) {
		t.Errorf("Lookup(an image's tag) = %v, want an error saying it is no cache entry", err)
	}
}

func TestCacheStoreUnreachable(t *testing.T) {
	s, err := OpenCacheStore("127.0.0.1:1/team/gocache", WithRetry(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Lookup(t.Context(), "a-0003"); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Lookup(unreachable) = %v, want ErrUnreachable", err)
	}
}

// TestCacheStoreOpenCorrupt: a blob whose bytes do not match its digest
// (damaged storage, which a proxy stands in for) fails at the end of the
// read with ErrCacheCorrupt.
func TestCacheStoreOpenCorrupt(t *testing.T) {
	backend := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	var corrupt atomic.Bool
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !corrupt.Load() || resp.Request.Method != http.MethodGet || !strings.Contains(resp.Request.URL.Path, "/blobs/") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		body[0] ^= 0xff
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	s, err := OpenCacheStore(strings.TrimPrefix(srv.URL, "http://") + "/team/gocache")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	blob := cacheFile(t, "an output that will not survive storage")
	if err := s.Store(t.Context(), "k-1", []CacheBlob{blob}, nil); err != nil {
		t.Fatal(err)
	}
	corrupt.Store(true)
	rc, err := s.Open(t.Context(), blob.Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, ErrCacheCorrupt) {
		t.Errorf("reading a damaged blob = %v, want ErrCacheCorrupt", err)
	}
}
