package publish

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// nestedIndex wraps a two-platform index, a random index and one image that
// also appears inside the first index, so the plan must recurse and dedupe.
func nestedIndex(t *testing.T) (outer, inner v1.ImageIndex, shared v1.Image) {
	t.Helper()
	inner = testIndex(t, 40, 1<<10)
	im, err := inner.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	shared, err = inner.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	other, err := random.Index(512, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	outer = mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: inner},
		mutate.IndexAddendum{Add: other},
		mutate.IndexAddendum{Add: shared, Descriptor: v1.Descriptor{Platform: &amd64}},
	)
	return outer, inner, shared
}

func TestPlanNestedIndex(t *testing.T) {
	outer, _, _ := nestedIndex(t)
	p, err := planIndex(outer)
	if err != nil {
		t.Fatalf("planIndex() = %v", err)
	}
	if p.root.digest != digestOf(t, outer) {
		t.Errorf("plan root = %s, want the outer index %s", p.root.digest, digestOf(t, outer))
	}
	// 2 test images + 2 random images + 2 indexes; the shared image once.
	if len(p.manifests) != 6 {
		t.Errorf("plan has %d manifests before the root, want 6", len(p.manifests))
	}
	// 5 blobs from the test index, 2 random images x (2 layers + config).
	if len(p.blobs) != testIndexBlobs+6 {
		t.Errorf("plan has %d blobs, want %d", len(p.blobs), testIndexBlobs+6)
	}
	// Every index comes after each manifest it lists.
	pos := map[v1.Hash]int{}
	for i, m := range append(p.manifests, p.root) {
		pos[m.digest] = i
		if !m.mediaType.IsIndex() {
			continue
		}
		im, err := v1.ParseIndexManifest(strings.NewReader(string(m.raw)))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range im.Manifests {
			if j, ok := pos[d.Digest]; !ok || j >= i {
				t.Errorf("index %s at %d lists %s, which is not planned before it", m.digest, i, d.Digest)
			}
		}
	}

	host, _ := testRegistry(t)
	res, err := Push(t.Context(), outer, []Destination{{Repository: host + "/nested", Tags: []string{"v1"}}}, WithAuth(authn.Anonymous))
	if err != nil {
		t.Fatalf("Push(nested) = %v", err)
	}
	if err := Verify(t.Context(), res[0].Refs[0], WithAuth(authn.Anonymous), WithFullVerify()); err != nil {
		t.Errorf("Verify(nested) = %v", err)
	}
}

func TestPlanSkipsForeignLayers(t *testing.T) {
	rng := rand.New(rand.NewPCG(50, 50))
	foreign := gzipLayer(t, rng, 256)
	img, err := mutate.Append(testImage(t, amd64, gzipLayer(t, rng, 256)), mutate.Addendum{
		Layer:     foreign,
		MediaType: types.DockerForeignLayer,
		URLs:      []string{"https://example.com/foreign.tar.gz"},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := newPlan()
	if _, err := p.addImage(img); err != nil {
		t.Fatalf("addImage() = %v", err)
	}
	fd := digestOf(t, foreign)
	for _, b := range p.blobs {
		if b.digest == fd {
			t.Errorf("plan uploads foreign layer %s, want it skipped", fd)
		}
	}
	if len(p.blobs) != 2 {
		t.Errorf("plan has %d blobs, want 2 (config and the normal layer)", len(p.blobs))
	}
}

func TestPlanRejectsNonManifestEntries(t *testing.T) {
	rng := rand.New(rand.NewPCG(60, 60))
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: gzipLayer(t, rng, 128)})
	if _, err := planIndex(idx); err == nil || !strings.Contains(err.Error(), "neither an image nor an index") {
		t.Errorf("planIndex(index with a layer entry) = %v, want a media type error", err)
	}
	if err := checkIndex(idx, nil); err == nil || !strings.Contains(err.Error(), "neither an image nor an index") {
		t.Errorf("checkIndex(index with a layer entry) = %v, want a media type error", err)
	}
	if err := checkIndex(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), nil); err == nil {
		t.Error("checkIndex(empty index) = nil, want an error")
	}
}
