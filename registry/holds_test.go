package registry

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestHolds pushes through a real embedded registry, stops it, and reads the
// answer from the data directory alone.
func TestHolds(t *testing.T) {
	dir := t.TempDir()
	p := start(t, WithDataDir(dir))
	idx, err := random.Index(64, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(p.Host() + "/team/web:1.0.0")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	if err := p.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	other := "sha256:" + strings.Repeat("0", 64)
	tests := []struct {
		name, repo, tag, digest string
		want                    bool
	}{
		{name: "held", repo: "team/web", tag: "1.0.0", digest: d.String(), want: true},
		{name: "other digest", repo: "team/web", tag: "1.0.0", digest: other},
		{name: "other tag", repo: "team/web", tag: "2.0.0", digest: d.String()},
		{name: "other repo", repo: "web", tag: "1.0.0", digest: d.String()},
		{name: "bad digest", repo: "team/web", tag: "1.0.0", digest: "sha256:abc"},
		{name: "escape", repo: "../x", tag: "1.0.0", digest: d.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Holds(dir, tt.repo, tt.tag, tt.digest); got != tt.want {
				t.Errorf("Holds(%s, %s, %s) = %v, want %v", tt.repo, tt.tag, tt.digest, got, tt.want)
			}
		})
	}
}
