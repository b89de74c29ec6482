package server

import (
	"math/rand/v2"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// benchIndex builds a two-platform index whose layers are already in their
// pushed form, so the benchmark measures the registry rather than the
// client's on-the-fly gzip of random.Image layers.
func benchIndex(b *testing.B, layerSize int) v1.ImageIndex {
	b.Helper()
	rng := rand.NewChaCha8([32]byte{1})
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		var layers []v1.Layer
		for range 2 {
			content := make([]byte, layerSize)
			_, _ = rng.Read(content)
			layers = append(layers, static.NewLayer(content, types.OCILayer))
		}
		img, err := mutate.AppendLayers(empty.Image, layers...)
		if err != nil {
			b.Fatalf("mutate.AppendLayers() = %v", err)
		}
		adds = append(adds, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	return mutate.AppendManifests(empty.Index, adds...)
}

// BenchmarkPushIndex pushes a two-platform index (2 images x 2 layers x 1 MiB)
// the way hoist's publish step does. "cold" starts each push on an empty
// data dir, so every blob is uploaded and written; "warm" pushes content the
// registry already holds, so only existence checks and manifests remain.
func BenchmarkPushIndex(b *testing.B) {
	idx := benchIndex(b, 1<<20)
	size := int64(4 << 20)

	b.Run("cold", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			b.StopTimer()
			s := serve(b, b.TempDir())
			r := ref(b, s.Server, "bench/app:v1")
			b.StartTimer()
			if err := remote.WriteIndex(r, idx, remote.WithContext(b.Context())); err != nil {
				b.Fatalf("remote.WriteIndex() = %v", err)
			}
			b.StopTimer()
			if err := s.stop(b); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})

	b.Run("warm", func(b *testing.B) {
		b.SetBytes(size)
		s := serve(b, b.TempDir())
		r := ref(b, s.Server, "bench/app:v1")
		if err := remote.WriteIndex(r, idx, remote.WithContext(b.Context())); err != nil {
			b.Fatalf("remote.WriteIndex() = %v", err)
		}
		for b.Loop() {
			if err := remote.WriteIndex(r, idx, remote.WithContext(b.Context())); err != nil {
				b.Fatalf("remote.WriteIndex() = %v", err)
			}
		}
	})
}
