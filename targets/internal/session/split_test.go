package session

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestSplitAndMerge builds and pushes each platform separately, as two CI
// runners would, then merges the digests into one tagged index.
func TestSplitAndMerge(t *testing.T) {
	dir := newRepo(t)
	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	ctx := context.Background()
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		s, out := newSession(t, dir, map[string]string{"PLATFORMS": p, "REGISTRY": host}, nil)
		if err := s.BuildBinaries(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BuildImage(ctx, "image:build"); err != nil {
			t.Fatal(err)
		}
		if err := s.PushPlatforms(ctx, "image:pushByDigest"); err != nil {
			t.Fatalf("PushPlatforms(%s): %v\n%s", p, err, out)
		}
		configurers = nil
	}
	s, out := newSession(t, dir, map[string]string{"REGISTRY": host}, nil)
	if err := s.Merge(ctx, "image:merge"); err != nil {
		t.Fatalf("Merge: %v\n%s", err, out)
	}
	ref, _ := name.ParseReference(host + "/svc:1.4.0")
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range m.Manifests {
		got = append(got, platformString(*d.Platform))
	}
	if strings.Join(got, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("merged index platforms = %v, want linux/amd64 and linux/arm64", got)
	}

	// Errors name the fix.
	s2, _ := newSession(t, dir, nil, nil)
	if err := s2.PushPlatforms(ctx, "x"); err == nil || !strings.Contains(err.Error(), "REGISTRY") {
		t.Errorf("PushPlatforms(no registry) = %v", err)
	}
	if err := s2.Merge(ctx, "x"); err == nil || !strings.Contains(err.Error(), "REGISTRY") {
		t.Errorf("Merge(no registry) = %v", err)
	}
}
