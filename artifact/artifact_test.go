package artifact

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sample() []Artifact {
	return []Artifact{
		{Type: Binary, Name: "web", Path: "dist/web_linux_amd64/web", Platform: "linux/amd64", Digest: "sha256:aa", Size: 10},
		{Type: Binary, Name: "web", Path: "dist/web_linux_arm64/web", Platform: "linux/arm64", Digest: "sha256:bb", Size: 11},
		{Type: Archive, Name: "web", Path: "dist/web_0.1.0_linux_amd64.tar.gz", Platform: "linux/amd64"},
		{Type: ImageIndex, Name: "web", Digest: "sha256:cc", Extra: map[string]string{"base.digest": "sha256:dd"}},
	}
}

func TestFilter(t *testing.T) {
	var l List
	l.Add(sample()...)
	tests := []struct {
		name    string
		filters []Filter
		want    int
	}{
		{name: "all", want: 4},
		{name: "binaries", filters: []Filter{ByType(Binary)}, want: 2},
		{name: "binary or archive", filters: []Filter{ByType(Binary, Archive)}, want: 3},
		{name: "amd64 binaries", filters: []Filter{ByType(Binary), ByPlatform("linux/amd64")}, want: 1},
		{name: "by name", filters: []Filter{ByName("web")}, want: 4},
		{name: "nothing", filters: []Filter{ByName("api")}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := len(l.Filter(tt.filters...)); got != tt.want {
				t.Errorf("len(Filter(%s)) = %d, want %d", tt.name, got, tt.want)
			}
		})
	}
}

func TestReplace(t *testing.T) {
	var l List
	l.Add(sample()...)
	l.Replace(Binary, Artifact{Type: Binary, Name: "api", Platform: "linux/amd64"})
	bins := l.Filter(ByType(Binary))
	if len(bins) != 1 || bins[0].Name != "api" {
		t.Errorf("Replace(Binary, api) left binaries %+v, want only api", bins)
	}
	if got := len(l.All()); got != 3 {
		t.Errorf("len(All()) after Replace = %d, want 3", got)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dist", "artifacts.json")
	var l List
	items := sample()
	// Add in reverse to prove Save sorts.
	for i := len(items) - 1; i >= 0; i-- {
		l.Add(items[i])
	}
	if err := l.Save(path); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(len(items), len(got.All())); diff != "" {
		t.Fatalf("Load count mismatch (-want +got):\n%s", diff)
	}
	if err := got.Save(path); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	if string(first) != string(second) {
		t.Errorf("Save(Load(Save(l))) differs from Save(l):\n%s\nvs\n%s", first, second)
	}
	if !strings.Contains(string(first), `"version": 1`) {
		t.Errorf("saved list lacks the format version:\n%s", first)
	}
}

func TestLoadMissingAndBad(t *testing.T) {
	dir := t.TempDir()
	l, err := Load(filepath.Join(dir, "nope.json"))
	if err != nil || len(l.All()) != 0 {
		t.Errorf("Load(missing) = %v, %v; want an empty list and nil", l.All(), err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{"), 0o644)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("Load(corrupt) error = %v, want one telling to delete it", err)
	}
	future := filepath.Join(dir, "future.json")
	os.WriteFile(future, []byte(`{"version": 99, "artifacts": []}`), 0o644)
	if _, err := Load(future); err == nil || !strings.Contains(err.Error(), "99") {
		t.Errorf("Load(version 99) error = %v, want a version error", err)
	}
}

func TestConcurrentAdd(t *testing.T) {
	var l List
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Add(Artifact{Type: Binary, Name: string(rune('a' + i%26))})
		}()
	}
	wg.Wait()
	if got := len(l.All()); got != 50 {
		t.Errorf("len(All()) after 50 concurrent Adds = %d, want 50", got)
	}
}
