package statcache

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func sumOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// settled makes every stat data older than the racy window, as it is for
// files nobody edited in the last second.
func settled(t *testing.T) {
	t.Helper()
	old := clock
	clock = func() time.Time { return time.Now().Add(2 * racyWindow) }
	t.Cleanup(func() { clock = old })
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSum(t *testing.T, c *Cache, path, want string) {
	t.Helper()
	got, size, err := c.Sum(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != sumOf(want) || size != int64(len(want)) {
		t.Fatalf("Sum(%s) = %s, %d; want the digest of %q", filepath.Base(path), got, size, want)
	}
}

func TestReuseAcrossRuns(t *testing.T) {
	settled(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "cache", "stat.json")
	a, b := filepath.Join(dir, "a.go"), filepath.Join(dir, "b.go")
	write(t, a, "package a\n")
	write(t, b, "package b\n")

	c := Open(store)
	mustSum(t, c, a, "package a\n")
	mustSum(t, c, a, "package a\n") // a second read in one run is free
	mustSum(t, c, b, "package b\n")
	if hits, hashed := c.Counts(); hits != 0 || hashed != 2 {
		t.Fatalf("first run: %d hits, %d hashed; want 0 and 2", hits, hashed)
	}
	if err := c.Save(t.Context()); err != nil {
		t.Fatal(err)
	}

	c = Open(store)
	mustSum(t, c, a, "package a\n")
	mustSum(t, c, b, "package b\n")
	if hits, hashed := c.Counts(); hits != 2 || hashed != 0 {
		t.Fatalf("second run: %d hits, %d hashed; want 2 and 0", hits, hashed)
	}
}

// TestEditsAreSeen: a touch without a change costs a read and keeps the
// digest; a change that restores the modification time is still seen,
// through the change time; a replaced file (new inode) is seen.
func TestEditsAreSeen(t *testing.T) {
	settled(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "stat.json")
	f := filepath.Join(dir, "main.go")
	write(t, f, "package main\n")
	c := Open(store)
	mustSum(t, c, f, "package main\n")
	if err := c.Save(t.Context()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}

	later := fi.ModTime().Add(time.Minute)
	if err := os.Chtimes(f, later, later); err != nil {
		t.Fatal(err)
	}
	c = Open(store)
	mustSum(t, c, f, "package main\n")
	if hits, hashed := c.Counts(); hits != 0 || hashed != 1 {
		t.Fatalf("touched file: %d hits, %d hashed; want it read again", hits, hashed)
	}
	if err := c.Save(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Same size, modification time put back: only the change time moved.
	time.Sleep(20 * time.Millisecond)
	write(t, f, "package mai2\n")
	if err := os.Chtimes(f, later, later); err != nil {
		t.Fatal(err)
	}
	c = Open(store)
	mustSum(t, c, f, "package mai2\n")
	if err := c.Save(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Replaced by rename, as editors and git checkout do.
	tmp := filepath.Join(dir, "tmp")
	write(t, tmp, "package mai3\n")
	if err := os.Chtimes(tmp, later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, f); err != nil {
		t.Fatal(err)
	}
	mustSum(t, Open(store), f, "package mai3\n")
}

// TestRacy: stat data from the last second does not vouch for content.
func TestRacy(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "stat.json")
	f := filepath.Join(dir, "x")
	write(t, f, "fresh")
	c := Open(store)
	mustSum(t, c, f, "fresh")
	if err := c.Save(t.Context()); err != nil {
		t.Fatal(err)
	}
	c = Open(store)
	mustSum(t, c, f, "fresh")
	if hits, _ := c.Counts(); hits != 0 {
		t.Fatalf("a file written just now was taken from the cache")
	}
	// What this process wrote itself is trusted at once.
	out := filepath.Join(dir, "bin")
	write(t, out, "binary")
	if err := c.Remember(out, sumOf("binary")); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(t.Context()); err != nil {
		t.Fatal(err)
	}
	c = Open(store)
	mustSum(t, c, out, "binary")
	if hits, hashed := c.Counts(); hits != 1 || hashed != 0 {
		t.Fatalf("remembered file: %d hits, %d hashed; want 1 hit", hits, hashed)
	}
}

func TestDamagedAndPruned(t *testing.T) {
	settled(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "stat.json")
	write(t, store, `{"format":1,"entries":{"/x":`)
	f, gone := filepath.Join(dir, "f"), filepath.Join(dir, "gone")
	write(t, f, "f")
	write(t, gone, "g")
	c := Open(store)
	mustSum(t, c, f, "f")
	mustSum(t, c, gone, "g")
	if err := c.Save(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	c = Open(store)
	mustSum(t, c, f, "f")
	c.Forget(f) // marks the cache changed, like a rebuilt output
	if err := c.Save(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c = Open(store); len(c.entries) != 0 {
		t.Fatalf("entries after forgetting f and deleting gone: %v", c.entries)
	}
	if _, _, err := c.Sum(gone); err == nil {
		t.Fatal("Sum of a deleted file succeeded")
	}
}
