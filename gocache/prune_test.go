package gocache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fill stores content under each action through the protocol.
func fill(t *testing.T, c *Cache, items map[string]string) {
	t.Helper()
	cl := serve(t, c, new(syncBuffer))
	id := int64(1)
	for action, content := range items {
		cl.mustPut(id, action, content)
		id++
	}
	if r, err := cl.close(id); r.Err != "" || err != nil {
		t.Fatalf("close = %+v, %v", r, err)
	}
}

// age makes action's entry look last used d ago.
func age(t *testing.T, c *Cache, action string, d time.Duration) {
	t.Helper()
	when := time.Now().Add(-d)
	if err := os.Chtimes(c.entryPath(actionID(action)), when, when); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func newCache(t *testing.T) *Cache {
	t.Helper()
	c, err := New(t.TempDir())
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return c
}

func TestPruneByAge(t *testing.T) {
	c := newCache(t)
	fill(t, c, map[string]string{"old": "old output", "recent": "recent output", "new": "new output"})
	age(t, c, "old", 48*time.Hour)
	age(t, c, "recent", time.Hour)

	p, err := Prune(t.Context(), c.Dir(), 24*time.Hour, 0)
	if err != nil {
		t.Fatalf("Prune() = %v", err)
	}
	if p.Entries != 1 || p.Outputs != 1 || p.KeptEntries != 2 || p.Bytes < int64(len("old output")) {
		t.Errorf("Prune() = %+v, want 1 entry and 1 output removed, 2 entries kept", p)
	}
	if exists(c.entryPath(actionID("old"))) || exists(c.outputPath(outputID("old output"))) {
		t.Error("the old entry or its output is still there")
	}
	for _, kept := range []string{"recent", "new"} {
		if !exists(c.entryPath(actionID(kept))) || !exists(c.outputPath(outputID(kept+" output"))) {
			t.Errorf("Prune removed %q, younger than maxAge", kept)
		}
	}
}

func TestPruneBySizeOldestFirst(t *testing.T) {
	c := newCache(t)
	kb := func(b byte) string { return strings.Repeat(string(b), 1000) }
	fill(t, c, map[string]string{"a": kb('a'), "b": kb('b'), "c": kb('c')})
	age(t, c, "a", 3*time.Hour)
	age(t, c, "b", 2*time.Hour)
	age(t, c, "c", 1*time.Hour)

	p, err := Prune(t.Context(), c.Dir(), 0, 2500)
	if err != nil {
		t.Fatalf("Prune() = %v", err)
	}
	if p.Entries != 1 || p.Outputs != 1 || p.KeptEntries != 2 || p.KeptBytes > 2500 || p.KeptBytes < 2000 {
		t.Errorf("Prune(maxBytes 2500) = %+v, want the oldest entry gone and 2000-2500 bytes kept", p)
	}
	if exists(c.entryPath(actionID("a"))) {
		t.Error("the oldest entry, a, is still there")
	}
	if !exists(c.entryPath(actionID("b"))) || !exists(c.entryPath(actionID("c"))) {
		t.Error("Prune removed b or c, newer than a")
	}

	// A limit below one entry empties the cache.
	p, err = Prune(t.Context(), c.Dir(), 0, 1)
	if err != nil || p.KeptEntries != 0 || p.KeptBytes != 0 || p.Entries != 2 {
		t.Errorf("Prune(maxBytes 1) = %+v, %v; want everything removed", p, err)
	}
}

func TestPruneKeepsSharedOutput(t *testing.T) {
	c := newCache(t)
	fill(t, c, map[string]string{"old": "same bytes", "new": "same bytes"})
	age(t, c, "old", 48*time.Hour)

	p, err := Prune(t.Context(), c.Dir(), 24*time.Hour, 0)
	if err != nil {
		t.Fatalf("Prune() = %v", err)
	}
	if p.Entries != 1 || p.Outputs != 0 {
		t.Errorf("Prune() = %+v, want the old entry removed and the shared output kept", p)
	}
	if !exists(c.outputPath(outputID("same bytes"))) {
		t.Error("the output the new entry names is gone")
	}
}

func TestPruneStrays(t *testing.T) {
	c := newCache(t)
	fill(t, c, map[string]string{"kept": "kept output", "dangling": "dangling output"})
	if err := os.Remove(c.outputPath(outputID("dangling output"))); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	write := func(path string, mtime time.Time) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("stray"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	oldTemp := filepath.Join(c.Dir(), outputsDir, "ab", ".tmp-123")
	freshTemp := filepath.Join(c.Dir(), outputsDir, "ab", ".tmp-456")
	oldOrphan := c.outputPath(outputID("orphan, old"))
	freshOrphan := c.outputPath(outputID("orphan, maybe mid-put"))
	write(oldTemp, old)
	write(freshTemp, time.Now())
	write(oldOrphan, old)
	write(freshOrphan, time.Now())

	p, err := Prune(t.Context(), c.Dir(), 0, 0)
	if err != nil {
		t.Fatalf("Prune() = %v", err)
	}
	if p.Entries != 1 || p.Outputs != 1 || p.KeptEntries != 1 {
		t.Errorf("Prune() = %+v, want the dangling entry and the old orphan removed", p)
	}
	for path, want := range map[string]bool{
		oldTemp: false, freshTemp: true, oldOrphan: false, freshOrphan: true,
		c.entryPath(actionID("dangling")): false, c.entryPath(actionID("kept")): true,
	} {
		if exists(path) != want {
			t.Errorf("after Prune, %s exists = %v, want %v", path, !want, want)
		}
	}
}

func TestPruneSparesUsedEntries(t *testing.T) {
	c := newCache(t)
	fill(t, c, map[string]string{"used": "used output"})
	age(t, c, "used", 48*time.Hour)
	cl := serve(t, c, new(syncBuffer))
	wantHit(t, cl.roundTrip(request{ID: 1, Command: cmdGet, ActionID: actionID("used")}, nil), "used output")
	cl.close(2)

	p, err := Prune(t.Context(), c.Dir(), 24*time.Hour, 0)
	if err != nil || p.Entries != 0 {
		t.Errorf("Prune() = %+v, %v; want nothing removed, the entry was just used", p, err)
	}
}

func TestPruneMissingDir(t *testing.T) {
	_, err := Prune(t.Context(), filepath.Join(t.TempDir(), "nope"), time.Hour, 0)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Prune(missing dir) = %v, want an error wrapping fs.ErrNotExist", err)
	}
}
