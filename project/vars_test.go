package project

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fixedSums reports the digests it was given, whatever the files hold.
type fixedSums map[string]string

func (f fixedSums) Sum(path string) (string, int64, error) { return f[path], 0, nil }

// TestVarsCache: with every file's digest unchanged the cache answers
// without parsing (the files' new content is not seen), and a digest or a
// file name that changes makes the package be read again.
func TestVarsCache(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/v\n\ngo 1.26\n")
	write("cmd/v/main.go", "package main\n\nimport _ \"example.com/v/internal/build\"\n\nvar version string\n\nfunc main() {}\n")
	write("internal/build/build.go", "package build\n\nvar Commit = \"none\"\n")
	p, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	sums := fixedSums{}
	for _, f := range []string{"cmd/v/main.go", "internal/build/build.go"} {
		sums[filepath.Join(dir, filepath.FromSlash(f))] = "d1"
	}
	store := filepath.Join(t.TempDir(), "vars.json")
	discover := func() Vars {
		t.Helper()
		c := OpenVarsCache(store, sums)
		all, err := p.DiscoverAllVarsCached(c, p.Mains...)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Save(t.Context()); err != nil {
			t.Fatal(err)
		}
		return all["v"]
	}
	want := Vars{Version: []string{"main.version"}, Commit: []string{"example.com/v/internal/build.Commit"}}
	if got := discover(); !reflect.DeepEqual(got, want) {
		t.Fatalf("first discovery = %+v, want %+v", got, want)
	}
	// New content under the old digest: the cache answers, nothing is parsed.
	write("internal/build/build.go", "package build\n\nvar Revision = \"none\"\n")
	if got := discover(); !reflect.DeepEqual(got, want) {
		t.Fatalf("discovery with unchanged digests = %+v, want the cached %+v", got, want)
	}
	sums[filepath.Join(dir, "internal", "build", "build.go")] = "d2"
	want.Commit = []string{"example.com/v/internal/build.Revision"}
	if got := discover(); !reflect.DeepEqual(got, want) {
		t.Fatalf("discovery after a digest change = %+v, want %+v", got, want)
	}
	// A file added (its digest known) is a new name in the directory.
	write("internal/build/date.go", "package build\n\nvar BuildDate string\n")
	sums[filepath.Join(dir, "internal", "build", "date.go")] = "d3"
	want.Date = []string{"example.com/v/internal/build.BuildDate"}
	if got := discover(); !reflect.DeepEqual(got, want) {
		t.Fatalf("discovery after a file was added = %+v, want %+v", got, want)
	}
	// A damaged cache file is an empty cache.
	os.WriteFile(store, []byte("{"), 0o644)
	if got := discover(); !reflect.DeepEqual(got, want) {
		t.Fatalf("discovery with a damaged cache = %+v, want %+v", got, want)
	}
}
