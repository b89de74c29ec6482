package publish

import (
	"net/http/httptest"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

// BenchmarkPush pushes a two-platform index of about 10 MB of distinct
// blobs (three ~3.3 MB layers, one shared by both platforms, plus configs)
// to an in-process registry over loopback HTTP.
//
// cold starts a fresh, empty registry for every push, so every blob is
// uploaded; warm pushes to a registry that already holds everything, which
// is the cost of a re-run that converges.
func BenchmarkPush(b *testing.B) {
	idx := testIndex(b, 900, 10<<20/3)

	b.Run("cold", func(b *testing.B) {
		var sent int64
		for b.Loop() {
			b.StopTimer()
			srv := httptest.NewServer(quietRegistry())
			dest := []Destination{{Repository: hostOf(b, srv.URL) + "/bench", Tags: []string{"v1"}}}
			b.StartTimer()
			res, err := Push(b.Context(), idx, dest, WithAuth(authn.Anonymous))
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			srv.Close()
			b.StartTimer()
			sent = res[0].BytesUploaded
		}
		b.SetBytes(sent)
		b.ReportMetric(float64(sent), "uploaded-B/op")
	})

	b.Run("warm", func(b *testing.B) {
		srv := httptest.NewServer(quietRegistry())
		defer srv.Close()
		dest := []Destination{{Repository: hostOf(b, srv.URL) + "/bench", Tags: []string{"v1"}}}
		if _, err := Push(b.Context(), idx, dest, WithAuth(authn.Anonymous)); err != nil {
			b.Fatal(err)
		}
		var sent int64
		for b.Loop() {
			res, err := Push(b.Context(), idx, dest, WithAuth(authn.Anonymous))
			if err != nil {
				b.Fatal(err)
			}
			if res[0].BlobsUploaded != 0 {
				b.Fatalf("warm push uploaded %d blobs, want 0", res[0].BlobsUploaded)
			}
			sent = res[0].BytesUploaded
		}
		b.ReportMetric(float64(sent), "uploaded-B/op")
	})
}
