package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hoistdev/hoist/checksum"
	"github.com/hoistdev/hoist/gocache"
	"github.com/hoistdev/hoist/publish"
)

// buildCache is the registry tier of hoist's build records: binaries,
// stored under a key of their inputs (gobuild.Remote), so that another
// runner restores them instead of compiling. A cache that cannot be
// reached is reported once and then left alone: the build goes on
// locally, unless Cache.Strict asks for a failure.
type buildCache struct {
	// ctx is the target's: uploads that outlive the step they started
	// in (Save) stop with the target, not with the step.
	ctx    context.Context
	w      *Workspace
	target string
	store  *publish.CacheStore
	strict bool
	// push is false where this machine only reads (Cache.Push).
	push  bool
	down  atomic.Bool
	once  sync.Once
	start time.Time
	// uploads are the binaries still being stored; close waits for them.
	uploads sync.WaitGroup

	// What the cache did, for the closing line.
	hits, misses, stored, corrupt atomic.Int64
	down1, up1                    atomic.Int64
}

// openBuildCache opens the configured cache for a target running under
// ctx, or returns nil when none is configured.
func (w *Workspace) openBuildCache(ctx context.Context, target string) (*buildCache, error) {
	repo := w.Cfg.Cache.Repository
	if repo == "" {
		return nil, nil
	}
	store, err := publish.OpenCacheStore(repo, w.publishOptions(target)...)
	if err != nil {
		return nil, fmt.Errorf("HOIST_CACHE=%s: %w", repo, err)
	}
	return &buildCache{ctx: ctx, w: w, target: target, store: store, strict: w.Cfg.Cache.Strict, push: w.Cfg.Cache.Pushes(w.Env.CI), start: time.Now()}, nil
}

// close reports what the cache did and frees its connections.
func (c *buildCache) close() {
	if c == nil {
		return
	}
	c.uploads.Wait()
	if c.hits.Load()+c.misses.Load()+c.stored.Load() > 0 || c.down.Load() {
		readOnly := ""
		if !c.push {
			readOnly = " (read only here: CI is not set; HOIST_CACHE_PUSH=1 stores from this machine)"
		}
		c.w.Logf(c.target, "cache %s: %d restored (%s), %d not there, %d stored (%s), %d corrupt entries ignored%s",
			c.store, c.hits.Load(), humanBytes(c.down1.Load()), c.misses.Load(), c.stored.Load(), humanBytes(c.up1.Load()), c.corrupt.Load(), readOnly)
		s := gocache.Stats{Start: c.start, End: time.Now(), Remote: c.store.String(),
			RemoteHits: c.hits.Load(), Misses: c.misses.Load(), Uploads: c.stored.Load(),
			BytesDownloaded: c.down1.Load(), BytesUploaded: c.up1.Load(), Corrupt: c.corrupt.Load(), RemoteDisabled: c.down.Load()}
		if s.RemoteDisabled {
			s.RemoteErrors = 1
		}
		if err := c.w.writeRecordStats(c.target, s); err != nil {
			c.w.Logf(c.target, "cache: %v (cache:stats will not show this run)", err)
		}
	}
	c.store.Close()
}

// failed handles an error talking to the cache: in strict mode it is the
// build's error; otherwise it is said once and the cache is left alone.
func (c *buildCache) failed(err error) error {
	if c.strict {
		return fmt.Errorf("the build cache %s (HOIST_CACHE) failed and HOIST_CACHE_STRICT=1 is set: %w", c.store, err)
	}
	c.down.Store(true)
	c.once.Do(func() {
		c.w.Logf(c.target, "warning: the build cache %s cannot be used (%v); building locally (HOIST_CACHE_STRICT=1 makes this an error)", c.store, err)
	})
	return nil
}

// Restore implements gobuild.Remote.
func (c *buildCache) Restore(ctx context.Context, key, dst string) (string, int64, bool, error) {
	if c.down.Load() {
		return "", 0, false, nil
	}
	blobs, _, err := c.store.Lookup(ctx, key)
	if errors.Is(err, publish.ErrCacheMiss) {
		c.misses.Add(1)
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, c.failed(err)
	}
	if len(blobs) != 1 {
		c.corrupt.Add(1)
		c.w.Logf(c.target, "ignoring cache entry %s: it holds %d blobs, want 1; building", key[:16], len(blobs))
		return "", 0, false, nil
	}
	sum, size, err := c.fetch(ctx, blobs[0], dst, 0o755)
	switch {
	case errors.Is(err, errCorrupt):
		c.corrupt.Add(1)
		c.w.Logf(c.target, "ignoring cache entry %s: %v; building", key[:16], err)
		return "", 0, false, nil
	case err != nil:
		return "", 0, false, c.failed(err)
	}
	c.hits.Add(1)
	c.down1.Add(size)
	return sum, size, true, nil
}

var errCorrupt = errors.New("content does not match its digest")

// fetch writes blob b to dst with mode, verifying its digest before it
// replaces anything.
func (c *buildCache) fetch(ctx context.Context, b publish.CacheBlob, dst string, mode os.FileMode) (string, int64, error) {
	rc, err := c.store.Open(ctx, b.Digest)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".restore-*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name())
	// The store checks the digest as the content streams in (Open).
	n, err := io.Copy(tmp, rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, publish.ErrCacheCorrupt) {
			return "", 0, fmt.Errorf("%w (%s)", errCorrupt, b.Digest)
		}
		return "", 0, fmt.Errorf("fetch %s: %w", b.Digest, err)
	}
	if n != b.Size {
		return "", 0, fmt.Errorf("%w (%s, got %d bytes, want %d)", errCorrupt, b.Digest, n, b.Size)
	}
	sum := strings.TrimPrefix(b.Digest, "sha256:")
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return "", 0, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", 0, err
	}
	return sum, n, nil
}

// Save implements gobuild.Remote. Outside strict mode a failed store
// costs only a warning, so the upload runs while the other binaries
// compile, and close waits for it.
func (c *buildCache) Save(ctx context.Context, key, src, sum string, size int64) error {
	if c.down.Load() || !c.push {
		return nil
	}
	if c.strict {
		return c.save(ctx, key, src, sum, size)
	}
	c.uploads.Add(1)
	go func() {
		defer c.uploads.Done()
		_ = c.save(c.ctx, key, src, sum, size)
	}()
	return nil
}

func (c *buildCache) save(ctx context.Context, key, src, sum string, size int64) error {
	err := c.store.Store(ctx, key, []publish.CacheBlob{{Digest: "sha256:" + sum, Size: size, Path: src}},
		map[string]string{"dev.hoist.cache.kind": "binary"})
	if err != nil {
		return c.failed(err)
	}
	c.stored.Add(1)
	c.up1.Add(size)
	return nil
}

// cacheFilesKey is the annotation listing, in blob order, the paths the
// blobs of a file-set entry are restored to.
const cacheFilesKey = "dev.hoist.cache.files"

// saveFiles stores the files rels (slash paths under root) under key, with
// more annotations.
func (c *buildCache) saveFiles(ctx context.Context, key, root string, rels []string, ann map[string]string) error {
	if c == nil || c.down.Load() || !c.push {
		return nil
	}
	blobs := make([]publish.CacheBlob, len(rels))
	var total int64
	for i, rel := range rels {
		p := filepath.Join(root, filepath.FromSlash(rel))
		sum, size, err := checksum.SHA256File(ctx, p)
		if err != nil {
			return fmt.Errorf("cache %s: %w", rel, err)
		}
		blobs[i] = publish.CacheBlob{Digest: "sha256:" + sum, Size: size, Path: p}
		total += size
	}
	names, _ := json.Marshal(rels)
	all := map[string]string{cacheFilesKey: string(names)}
	for k, v := range ann {
		all[k] = v
	}
	if err := c.store.Store(ctx, key, blobs, all); err != nil {
		return c.failed(err)
	}
	c.stored.Add(1)
	c.up1.Add(total)
	return nil
}

// restoreFiles writes the files stored under key below root, each checked
// against its digest before it replaces anything. ok is false on a miss, a
// corrupt entry (said in one line) or an unusable cache.
func (c *buildCache) restoreFiles(ctx context.Context, key, root string) (rels []string, ann map[string]string, ok bool, err error) {
	if c == nil || c.down.Load() {
		return nil, nil, false, nil
	}
	blobs, ann, err := c.store.Lookup(ctx, key)
	if errors.Is(err, publish.ErrCacheMiss) {
		c.misses.Add(1)
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, c.failed(err)
	}
	if json.Unmarshal([]byte(ann[cacheFilesKey]), &rels) != nil || len(rels) != len(blobs) {
		c.corrupt.Add(1)
		c.w.Logf(c.target, "ignoring cache entry %s: its file list does not match its blobs; building", shortKey(key))
		return nil, nil, false, nil
	}
	for _, rel := range rels {
		clean := filepath.Clean(filepath.FromSlash(rel))
		if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
			c.corrupt.Add(1)
			c.w.Logf(c.target, "ignoring cache entry %s: it names %s, outside the directory; building", shortKey(key), rel)
			return nil, nil, false, nil
		}
	}
	// A few downloads at once: an entry is many small files and a few
	// large ones, and each costs a round trip before its first byte.
	var total atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, rel := range rels {
		g.Go(func() error {
			_, size, err := c.fetch(gctx, blobs[i], filepath.Join(root, filepath.Clean(filepath.FromSlash(rel))), 0o644)
			total.Add(size)
			return err
		})
	}
	switch err := g.Wait(); {
	case errors.Is(err, errCorrupt):
		c.corrupt.Add(1)
		c.w.Logf(c.target, "ignoring cache entry %s: %v; building", shortKey(key), err)
		return nil, nil, false, nil
	case err != nil:
		return nil, nil, false, c.failed(err)
	}
	c.hits.Add(1)
	c.down1.Add(total.Load())
	return rels, ann, true, nil
}

func shortKey(key string) string {
	if len(key) > 16 {
		return key[:16]
	}
	return key
}

// layoutCache is the build cache as image.LayoutRemote: an OCI layout is
// a set of files (index.json, oci-layout and the content-addressed blobs).
type layoutCache struct{ c *buildCache }

// Restore implements image.LayoutRemote.
func (l layoutCache) Restore(ctx context.Context, key, dir string) (bool, error) {
	_, _, ok, err := l.c.restoreFiles(ctx, key, dir)
	return ok, err
}

// Save implements image.LayoutRemote.
func (l layoutCache) Save(ctx context.Context, key, dir string) error {
	var rels []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rels = append(rels, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache the image layout: %w", err)
	}
	return l.c.saveFiles(ctx, key, dir, rels, map[string]string{"dev.hoist.cache.kind": "image"})
}
