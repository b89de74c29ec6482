package cachecmd

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hoistdev/hoist/gocache"
	"github.com/hoistdev/hoist/publish"
)

// timeAnnotation records when an output was stored, for cmd/go's trimming.
const timeAnnotation = "dev.hoist.cache.time"

// registryRemote keeps the Go build cache in an OCI registry repository
// (publish.CacheStore): each output a blob named by its SHA-256 (which is
// cmd/go's OutputID), each action a tag "go-<action ID>" on a manifest
// naming it.
type registryRemote struct{ store *publish.CacheStore }

// openRegistryRemote opens the store in repository; it contacts nothing
// before the first request. Credentials come from the Docker keychain.
func openRegistryRemote(_ context.Context, repository string) (gocache.Remote, func(), error) {
	store, err := publish.OpenCacheStore(repository)
	if err != nil {
		return nil, nil, err
	}
	return registryRemote{store}, store.Close, nil
}

func actionKey(actionID []byte) string { return "go-" + hex.EncodeToString(actionID) }

// Get implements gocache.Remote.
func (r registryRemote) Get(ctx context.Context, actionID []byte) (gocache.Entry, io.ReadCloser, error) {
	blobs, ann, err := r.store.Lookup(ctx, actionKey(actionID))
	if errors.Is(err, publish.ErrCacheMiss) {
		return gocache.Entry{}, nil, gocache.ErrMiss
	}
	if err != nil {
		return gocache.Entry{}, nil, err
	}
	if len(blobs) != 1 {
		return gocache.Entry{}, nil, fmt.Errorf("cache entry %s holds %d blobs, want 1", actionKey(actionID), len(blobs))
	}
	out, err := hex.DecodeString(strings.TrimPrefix(blobs[0].Digest, "sha256:"))
	if err != nil {
		return gocache.Entry{}, nil, fmt.Errorf("cache entry %s: digest %s: %w", actionKey(actionID), blobs[0].Digest, err)
	}
	e := gocache.Entry{OutputID: out, Size: blobs[0].Size}
	if t, err := time.Parse(time.RFC3339, ann[timeAnnotation]); err == nil {
		e.Time = t
	}
	body, err := r.store.Open(ctx, blobs[0].Digest)
	if err != nil {
		return gocache.Entry{}, nil, err
	}
	return e, damagedAsContent{body}, nil
}

// damagedAsContent ends a damaged blob at its last byte instead of with
// the store's error, so that the cache's own digest check sees it and
// treats the entry as corrupt (rebuilt, one line) rather than the registry
// as down.
type damagedAsContent struct{ io.ReadCloser }

func (d damagedAsContent) Read(p []byte) (int, error) {
	n, err := d.ReadCloser.Read(p)
	if errors.Is(err, publish.ErrCacheCorrupt) {
		err = io.EOF
	}
	return n, err
}

// Put implements gocache.Remote. The body is the local copy of the
// output, a file, which the store uploads without reading it twice.
func (r registryRemote) Put(ctx context.Context, actionID []byte, e gocache.Entry, body io.Reader) error {
	f, ok := body.(interface{ Name() string })
	if !ok {
		return errors.New("registry cache: the output is not a file")
	}
	blob := publish.CacheBlob{Digest: "sha256:" + hex.EncodeToString(e.OutputID), Size: e.Size, Path: f.Name()}
	return r.store.Store(ctx, actionKey(actionID), []publish.CacheBlob{blob}, map[string]string{timeAnnotation: e.Time.UTC().Format(time.RFC3339)})
}
