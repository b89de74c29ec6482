package image

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// serverMain links net/http and friends so the binary is about the size of
// a real service (around 8 MB unstripped).
const serverMain = `package main

import (
	"encoding/json"
	"log"
	"net/http"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path})
	})
	log.Fatal(http.ListenAndServe(":8080", nil))
}
`

// BenchmarkBuild2Platform measures hoist's own work for a release image:
// assembling the 2-platform index from binaries that already exist, and
// writing the OCI layout. Compilation happens once, before the timer.
func BenchmarkBuild2Platform(b *testing.B) {
	dist := b.TempDir()
	bins := []Binary{
		{Name: "server", Platform: amd64, Path: goBuildSrc(b, dist, "amd64", serverMain, "")},
		{Name: "server", Platform: arm64, Path: goBuildSrc(b, dist, "arm64", serverMain, "")},
	}
	var total int64
	for _, bin := range bins {
		fi, err := os.Stat(bin.Path)
		if err != nil {
			b.Fatal(err)
		}
		total += fi.Size()
	}
	b.SetBytes(total)
	out := filepath.Join(b.TempDir(), "image")
	cfg := Config{Version: "0.1.0", Created: commitTime}
	for b.Loop() {
		res, err := Build(b.Context(), bins, cfg)
		if err != nil {
			b.Fatalf("Build() error = %v", err)
		}
		if err := WriteLayout(b.Context(), out, res, "0.1.0"); err != nil {
			b.Fatalf("WriteLayout() error = %v", err)
		}
	}
}

// TestImageSizeBudget holds the image to the compressed binary plus 200 KB:
// everything hoist adds (base, tar headers, config, manifest) must fit in
// that margin.
func TestImageSizeBudget(t *testing.T) {
	bin := goBuildSrc(t, t.TempDir(), "amd64", serverMain, "-s -w")
	res, err := Build(t.Context(), []Binary{{Name: "server", Platform: amd64, Path: bin}}, Config{Created: commitTime, Version: "0.1.0"})
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if err := validate.Index(res.Index); err != nil {
		t.Fatalf("validate.Index() = %v", err)
	}
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cw := &countWriter{}
	zw, _ := gzip.NewWriterLevel(cw, gzip.BestCompression)
	if _, err := io.Copy(zw, f); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	base, _ := layersOf(t, res.Images[0].Image)[0].Size()
	budget := cw.n + 200*1024
	t.Logf("binary gzip -9 = %d bytes, image = %d bytes, built-in base layer = %d bytes, overhead = %d bytes",
		cw.n, res.Images[0].Size, base, res.Images[0].Size-cw.n)
	if res.Images[0].Size > budget {
		t.Errorf("image size = %d, want at most %d (gzip -9 of the binary %d + 200 KB)", res.Images[0].Size, budget, cw.n)
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
