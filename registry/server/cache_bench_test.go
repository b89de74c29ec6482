package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/hoistdev/hoist/publish"
)

// BenchmarkCacheStoreScale measures the build cache's layout, one tag per
// key, on the embedded registry (distribution with filesystem storage):
// how a lookup (hit and miss) and a store cost with 100 keys stored and
// with 10,000, which a large module's build cache reaches. The numbers
// behind the layout choice in docs/architecture.md; run alone:
//
//	go test -run '^$' -bench CacheStoreScale -benchtime 1x ./registry/server/
func BenchmarkCacheStoreScale(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			s := serve(b, b.TempDir())
			store, err := publish.OpenCacheStore(s.Addr()+"/team/gocache", publish.WithAuth(authn.Anonymous))
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			dir := b.TempDir()
			blob := func(i int) publish.CacheBlob {
				content := []byte(fmt.Sprintf("output %d", i))
				p := filepath.Join(dir, fmt.Sprintf("o%d", i))
				if err := os.WriteFile(p, content, 0o644); err != nil {
					b.Fatal(err)
				}
				sum := sha256.Sum256(content)
				return publish.CacheBlob{Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(content)), Path: p}
			}
			key := func(i int) string {
				sum := sha256.Sum256([]byte(fmt.Sprint(i)))
				return "a-" + hex.EncodeToString(sum[:])
			}
			start := time.Now()
			for i := range n {
				if err := store.Store(b.Context(), key(i), []publish.CacheBlob{blob(i)}, nil); err != nil {
					b.Fatal(err)
				}
			}
			perStore := float64(time.Since(start).Microseconds()) / float64(n) / 1000
			const probes = 200
			var hit, miss time.Duration
			for b.Loop() {
				t0 := time.Now()
				for i := range probes {
					if _, _, err := store.Lookup(b.Context(), key(i*n/probes)); err != nil {
						b.Fatal(err)
					}
				}
				hit += time.Since(t0)
				t0 = time.Now()
				for i := range probes {
					if _, _, err := store.Lookup(b.Context(), key(n+i)); !errors.Is(err, publish.ErrCacheMiss) {
						b.Fatalf("miss = %v", err)
					}
				}
				miss += time.Since(t0)
			}
			b.ReportMetric(float64(hit.Microseconds())/float64(probes*b.N)/1000, "ms/hit")
			b.ReportMetric(float64(miss.Microseconds())/float64(probes*b.N)/1000, "ms/miss")
			b.ReportMetric(perStore, "ms/store")
		})
	}
}
