package publish

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestTagAndUntag moves tags after a digest-only push and puts them back:
// an existing tag returns to its old digest, a new one is deleted.
func TestTagAndUntag(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/web"
	ctx := context.Background()

	old, _ := random.Index(64, 1, 1)
	if _, err := Push(ctx, old, []Destination{{Repository: repo, Tags: []string{"latest"}}}); err != nil {
		t.Fatal(err)
	}
	oldDigest, _ := old.Digest()
	idx, _ := random.Index(64, 1, 2)
	res, err := Push(ctx, idx, []Destination{{Repository: repo}})
	if err != nil {
		t.Fatal(err)
	}
	digest := res[0].Digest.String()
	if tagDigest(t, repo+":latest") != oldDigest.String() {
		t.Fatal("a digest-only push moved latest")
	}

	states, err := Tag(ctx, repo, digest, []string{"1.0.0", "latest"})
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 || states[0].Previous != "" || states[1].Previous != oldDigest.String() {
		t.Fatalf("Tag() states = %+v, want 1.0.0 new and latest previously %s", states, oldDigest)
	}
	for _, tag := range []string{"1.0.0", "latest"} {
		if got := tagDigest(t, repo+":"+tag); got != digest {
			t.Errorf("%s -> %s, want %s", tag, got, digest)
		}
	}
	// Tagging again changes nothing and records nothing to undo.
	if again, err := Tag(ctx, repo, digest, []string{"1.0.0"}); err != nil || len(again) != 0 {
		t.Errorf("Tag() again = %+v, %v; want no change", again, err)
	}

	if err := Untag(ctx, states); err != nil {
		t.Fatal(err)
	}
	if got := tagDigest(t, repo+":latest"); got != oldDigest.String() {
		t.Errorf("latest after Untag -> %s, want the old %s", got, oldDigest)
	}
	ref, _ := name.ParseReference(repo + ":1.0.0")
	if _, err := remote.Head(ref); err == nil {
		t.Error("1.0.0 still exists after Untag")
	}
}

func TestTagErrors(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/web"
	ctx := context.Background()
	missing := "sha256:" + strings.Repeat("a", 64)
	tests := []struct{ name, repo, digest, want string }{
		{name: "not pushed", repo: repo, digest: missing, want: "push it first"},
		{name: "bad digest", repo: repo, digest: "sha256:zz", want: "not a digest"},
		{name: "bad repo", repo: "web", digest: missing, want: "registry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Tag(ctx, tt.repo, tt.digest, []string{"x"}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Tag(%s, %s) = %v, want an error containing %q", tt.repo, tt.digest, err, tt.want)
			}
		})
	}
	if err := Untag(ctx, []TagState{{Repository: repo, Tag: "x", Previous: missing}}); err == nil {
		t.Error("Untag to a missing digest = nil error")
	}
}

func tagDigest(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r)
	if err != nil {
		t.Fatalf("head %s: %v", ref, err)
	}
	return d.Digest.String()
}
