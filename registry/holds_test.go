package registry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestLeases shows who keeps the embedded registry up: a held lease
// counts, a lease file left by a holder that died does not, and is tidied.
func TestLeases(t *testing.T) {
	data := t.TempDir()
	if n := othersLeasing(data); n != 0 {
		t.Fatalf("othersLeasing(empty) = %d", n)
	}
	l, err := TakeLease(data)
	if err != nil {
		t.Fatal(err)
	}
	// This process's own lease is another open file: it counts as held.
	if n := othersLeasing(data); n != 1 {
		t.Errorf("othersLeasing(one held) = %d, want 1", n)
	}
	stale := filepath.Join(data, leaseDir, "999999-dead.lock")
	os.WriteFile(stale, []byte(`{"pid":999999}`), 0o644)
	if n := othersLeasing(data); n != 1 {
		t.Errorf("othersLeasing(held + stale) = %d, want 1", n)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("the stale lease file was not removed")
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { waitForLeases(t.Context(), data, nil); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("waitForLeases blocked with no lease held")
	}
	if err := (*Lease)(nil).Release(); err != nil {
		t.Errorf("nil Release = %v", err)
	}
}

func TestCheckTag(t *testing.T) {
	data := t.TempDir()
	repo := filepath.Join(data, "docker", "registry", "v2", "repositories", "svc", "_manifests")
	if err := CheckTag(data, "svc", "1.0.0"); err != nil {
		t.Errorf("CheckTag(no tag) = %v", err)
	}
	write := func(rel, content string) {
		p := filepath.Join(repo, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	hex := strings.Repeat("ab", 32)
	write("tags/1.0.0/current/link", "garbage")
	if err := CheckTag(data, "svc", "1.0.0"); err == nil || !strings.Contains(err.Error(), "not a digest") || !strings.Contains(err.Error(), "remove ") {
		t.Errorf("CheckTag(garbage) = %v, want the damage and the repair named", err)
	}
	write("tags/1.0.0/current/link", "sha256:"+hex)
	if err := CheckTag(data, "svc", "1.0.0"); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Errorf("CheckTag(dangling) = %v", err)
	}
	write("revisions/sha256/"+hex+"/link", "sha256:"+hex)
	if err := CheckTag(data, "svc", "1.0.0"); err != nil {
		t.Errorf("CheckTag(sound) = %v", err)
	}
}
