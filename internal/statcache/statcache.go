// Package statcache remembers the sha256 of files by their stat data, the
// way git's index does, so that a run with nothing changed does not read
// every source file and binary again.
//
// A digest is reused only when the file's size, modification time, change
// time, inode and device all match what they were when it was hashed. A
// file edited in place always moves its change time, even when the editor
// puts the modification time back, so that edit is seen; a file touched
// without a change is hashed again and, its digest being the same, counts
// as unchanged. Stat data from the last second before a hash is not
// trusted ("racy"): a second write in the same clock tick could leave it
// unchanged.
//
// The cache lives in one JSON file. It is only a cache: a missing or
// damaged file is an empty cache, and two runs saving at once leave one
// of their views, never a mix.
package statcache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hoistdev/hoist/checksum"
	"github.com/hoistdev/hoist/internal/atomicfile"
)

// format is the version of the file layout; a file of another version is
// ignored.
const format = 1

// racyWindow is how recent a modification or change time may be before a
// hash taken now is not remembered.
const racyWindow = time.Second

// clock is the time racy compares against; tests move it forward.
var clock = time.Now

// Stat is the part of a file's stat data that a digest is tied to.
type Stat struct {
	Size  int64  `json:"s"`
	Mtime int64  `json:"m"`
	Ctime int64  `json:"c,omitempty"`
	Ino   uint64 `json:"i,omitempty"`
	Dev   uint64 `json:"d,omitempty"`
}

type entry struct {
	Stat
	Digest string `json:"h"`
}

type file struct {
	Format  int              `json:"format"`
	Entries map[string]entry `json:"entries"`
}

// Cache maps absolute paths to digests. It is safe for concurrent use.
// The zero value is not usable; use Open or New.
type Cache struct {
	path string

	mu      sync.Mutex
	entries map[string]entry
	// run holds the digests found in this run, by path, so that a file
	// read by several binaries and platforms is stat'ed once.
	run   map[string]result
	dirty bool

	hits, hashed int
}

type result struct {
	digest string
	size   int64
}

// New returns an empty cache that is saved to path ("" keeps it in
// memory only).
func New(path string) *Cache {
	return &Cache{path: path, entries: map[string]entry{}, run: map[string]result{}}
}

// Open loads the cache saved at path. A missing, unreadable or damaged
// file gives an empty cache: the cost is one full hash of every file.
func Open(path string) *Cache {
	c := New(path)
	data, err := os.ReadFile(path)
	if err != nil {
		return c
	}
	var f file
	if json.Unmarshal(data, &f) != nil || f.Format != format || f.Entries == nil {
		return c
	}
	c.entries = f.Entries
	return c
}

// Sum returns the hex sha256 and size of the file at path, from the
// cache when its stat data vouches for the content, else by reading it.
func (c *Cache) Sum(path string) (string, int64, error) {
	c.mu.Lock()
	if r, ok := c.run[path]; ok {
		c.mu.Unlock()
		return r.digest, r.size, nil
	}
	c.mu.Unlock()

	fi, err := os.Stat(path)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", 0, fmt.Errorf("hash %s: not a regular file", path)
	}
	st := statOf(fi)
	c.mu.Lock()
	e, ok := c.entries[path]
	c.mu.Unlock()
	if ok && e.Stat == st {
		c.keep(path, result{e.Digest, st.Size}, &e)
		return e.Digest, st.Size, nil
	}
	sum, size, err := checksum.SHA256File(context.Background(), path)
	if err != nil {
		return "", 0, err
	}
	// The content read must be the content the stat data describes:
	// a write during the read moves the stat, and then nothing is kept.
	after, err := os.Stat(path)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	if statOf(after) != st || size != st.Size || racy(st, clock()) {
		c.keep(path, result{sum, size}, nil)
		return sum, size, nil
	}
	c.keep(path, result{sum, size}, &entry{Stat: st, Digest: sum})
	return sum, size, nil
}

// Remember records the digest of a file this process has just written
// and hashed itself, such as a linked binary. Unlike Sum, it trusts
// fresh stat data: the writer knows the content.
func (c *Cache) Remember(path, digest string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("remember %s: %w", path, err)
	}
	st := statOf(fi)
	c.keep(path, result{digest, st.Size}, &entry{Stat: st, Digest: digest})
	return nil
}

// Forget drops what the cache knows about path, for a file this process
// is about to replace.
func (c *Cache) Forget(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.run, path)
	if _, ok := c.entries[path]; ok {
		delete(c.entries, path)
		c.dirty = true
	}
}

func (c *Cache) keep(path string, r result, e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.run[path] = r
	if e == nil { // read, but not to be remembered
		c.hashed++
		if _, ok := c.entries[path]; ok {
			delete(c.entries, path)
			c.dirty = true
		}
		return
	}
	if old, ok := c.entries[path]; ok && old == *e {
		c.hits++
		return
	}
	c.hashed++
	c.entries[path] = *e
	c.dirty = true
}

// Counts reports how many digests came from the stat data and how many
// needed a read, since the cache was opened.
func (c *Cache) Counts() (hits, hashed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.hashed
}

// Save writes the cache back when it changed. Entries of files that no
// longer exist are dropped, so the file does not grow without bound.
func (c *Cache) Save(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.path == "" || !c.dirty {
		return nil
	}
	for p := range c.entries {
		if _, ok := c.run[p]; ok {
			continue
		}
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			delete(c.entries, p)
		}
	}
	data, err := json.Marshal(file{Format: format, Entries: c.entries})
	if err != nil {
		return fmt.Errorf("encode stat cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	if err := atomicfile.ReplaceBytes(ctx, c.path, data, 0o644); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	c.dirty = false
	return nil
}

// racy reports whether stat data is too recent to vouch for content.
func racy(st Stat, now time.Time) bool {
	limit := now.Add(-racyWindow).UnixNano()
	return st.Mtime >= limit || st.Ctime >= limit
}
