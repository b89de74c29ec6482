package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// CacheArtifactType marks the manifests of a build cache, so that nothing
// mistakes one for an image.
const CacheArtifactType = "application/vnd.hoist.cache.v1"

// ErrCacheMiss means the store holds nothing under a key.
var ErrCacheMiss = errors.New("not in the cache")

// ErrCacheCorrupt is the read error of a blob whose content does not
// match its digest: damaged storage. The bytes read before it are the
// damaged content, whole.
var ErrCacheCorrupt = errors.New("cache blob does not match its digest")

// CacheStore keeps build outputs in one registry repository: each output
// as a blob named by its SHA-256, each key as a tag on a small artifact
// manifest whose layers are the outputs stored under it. A lookup is one
// manifest GET by tag, a miss one 404, and two runners storing different
// keys never touch the same object, so nothing needs locking; the
// measurements behind this layout are in docs/architecture.md.
type CacheStore struct {
	repo name.Repository
	o    *options
	// One puller and one pusher for the store's life: each keeps its
	// transport, so the registry's handshake (a ping and, on most
	// registries, a token) happens once, not once per request.
	puller *remote.Puller
	pusher *remote.Pusher
}

// pull and push are the remote options of one request: its ctx, and the
// store's puller or pusher.
func (s *CacheStore) pull(ctx context.Context) []remote.Option {
	return append(s.o.remoteOptions(ctx), remote.Reuse(s.puller))
}

// CacheBlob is one output stored under a key.
type CacheBlob struct {
	// Digest is "sha256:<hex>" of the content.
	Digest string
	// Size is the content's length.
	Size int64
	// Path is a local file holding the content, for Store.
	Path string
}

// OpenCacheStore opens the store in repository, such as
// registry.example.com/team/gocache. It contacts nothing yet.
func OpenCacheStore(repository string, opts ...Option) (*CacheStore, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, fmt.Errorf("cache store: %w", err)
	}
	repo, err := parseRepository(repository, o)
	if err != nil {
		o.release()
		return nil, fmt.Errorf("cache store: %w", err)
	}
	ropts := o.remoteOptions(context.Background())
	puller, err := remote.NewPuller(ropts...)
	if err == nil {
		var pusher *remote.Pusher
		if pusher, err = remote.NewPusher(ropts...); err == nil {
			return &CacheStore{repo: repo, o: o, puller: puller, pusher: pusher}, nil
		}
	}
	o.release()
	return nil, fmt.Errorf("cache store: %w", err)
}

// Close frees the store's connections.
func (s *CacheStore) Close() { s.o.release() }

// String names the store's repository.
func (s *CacheStore) String() string { return s.repo.Name() }

// ValidCacheKey reports whether key can name an entry: a registry tag.
func ValidCacheKey(key string) bool { return ValidTag(key) }

// Lookup reads the entry stored under key: its blobs and annotations. A
// key nobody stored is ErrCacheMiss.
func (s *CacheStore) Lookup(ctx context.Context, key string) ([]CacheBlob, map[string]string, error) {
	if !ValidCacheKey(key) {
		return nil, nil, fmt.Errorf("cache key %q is not a valid tag", key)
	}
	desc, err := remote.Get(s.repo.Tag(key), s.pull(ctx)...)
	if err != nil {
		if isStatus(err, http.StatusNotFound) || hasManifestUnknown(err) {
			return nil, nil, ErrCacheMiss
		}
		return nil, nil, fmt.Errorf("look up %s in %s: %w", key, s.repo.Name(), explain(err, s.repo))
	}
	var m struct {
		ArtifactType string            `json:"artifactType"`
		Layers       []v1.Descriptor   `json:"layers"`
		Annotations  map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil || m.ArtifactType != CacheArtifactType {
		return nil, nil, fmt.Errorf("look up %s in %s: the tag names something that is not a hoist cache entry", key, s.repo.Name())
	}
	blobs := make([]CacheBlob, len(m.Layers))
	for i, l := range m.Layers {
		blobs[i] = CacheBlob{Digest: l.Digest.String(), Size: l.Size}
	}
	return blobs, m.Annotations, nil
}

func hasManifestUnknown(err error) bool {
	return strings.Contains(err.Error(), "MANIFEST_UNKNOWN") || strings.Contains(err.Error(), "NAME_UNKNOWN")
}

// Open streams the blob digest. The content is checked against the digest
// as it is read: reading to the end fails with ErrCacheCorrupt when they
// differ, so the bytes are to be trusted only once the reader says EOF.
func (s *CacheStore) Open(ctx context.Context, digest string) (io.ReadCloser, error) {
	ref, err := digestRef(s.repo, digest)
	if err != nil {
		return nil, fmt.Errorf("cache blob %q: %w", digest, err)
	}
	l, err := remote.Layer(ref, s.pull(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("fetch %s from %s: %w", digest, s.repo.Name(), explain(err, s.repo))
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetch %s from %s: %w", digest, s.repo.Name(), explain(err, s.repo))
	}
	return verifiedBlob{rc, digest}, nil
}

// verifiedBlob names go-containerregistry's digest check failure, which it
// reports at the end of the body and only in words, as ErrCacheCorrupt.
type verifiedBlob struct {
	io.ReadCloser
	digest string
}

func (b verifiedBlob) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && strings.Contains(err.Error(), "error verifying") {
		err = fmt.Errorf("%w: %s (%v)", ErrCacheCorrupt, b.digest, err)
	}
	return n, err
}

// Store uploads the blobs the registry lacks and tags an entry manifest
// naming them, with annotations, as key. Storing a key again replaces the
// entry (the same inputs give the same outputs, so it is the same entry).
func (s *CacheStore) Store(ctx context.Context, key string, blobs []CacheBlob, annotations map[string]string) error {
	if !ValidCacheKey(key) {
		return fmt.Errorf("cache key %q is not a valid tag", key)
	}
	pusher := s.pusher
	layers := make([]v1.Descriptor, len(blobs))
	for i, b := range blobs {
		h, err := v1.NewHash(b.Digest)
		if err != nil {
			return fmt.Errorf("store %s: blob digest %q: %w", key, b.Digest, err)
		}
		l := &fileLayer{path: b.Path, digest: h, size: b.Size}
		if err := pusher.Upload(ctx, s.repo, l); err != nil {
			return fmt.Errorf("store %s: upload %s: %w", key, b.Digest, explain(err, s.repo))
		}
		layers[i] = v1.Descriptor{MediaType: types.MediaType("application/octet-stream"), Digest: h, Size: b.Size}
	}
	if err := pusher.Upload(ctx, s.repo, emptyLayer{}); err != nil {
		return fmt.Errorf("store %s: upload the empty config: %w", key, explain(err, s.repo))
	}
	cfgDigest, cfgSize, _ := v1.SHA256(bytes.NewReader(emptyJSON))
	m := map[string]any{
		"schemaVersion": 2, "mediaType": types.OCIManifestSchema1, "artifactType": CacheArtifactType,
		"config": v1.Descriptor{MediaType: emptyMediaType, Digest: cfgDigest, Size: cfgSize},
		"layers": layers, "annotations": annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	if err := pusher.Push(ctx, s.repo.Tag(key), rawTaggable{raw: raw, mt: types.OCIManifestSchema1}); err != nil {
		return fmt.Errorf("store %s in %s: %w", key, s.repo.Name(), explain(err, s.repo))
	}
	return nil
}

// rawTaggable is a manifest given as bytes.
type rawTaggable struct {
	raw []byte
	mt  types.MediaType
}

func (r rawTaggable) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawTaggable) MediaType() (types.MediaType, error) { return r.mt, nil }

// fileLayer uploads a local file whose digest and size are known, without
// reading it until the registry asks for it.
type fileLayer struct {
	path   string
	digest v1.Hash
	size   int64
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return "application/octet-stream", nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	return os.Open(l.path)
}

// emptyLayer is the OCI empty descriptor's content, uploaded as a blob.
type emptyLayer struct{}

func (emptyLayer) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(emptyJSON))
	return h, err
}
func (e emptyLayer) DiffID() (v1.Hash, error)          { return e.Digest() }
func (emptyLayer) Size() (int64, error)                { return int64(len(emptyJSON)), nil }
func (emptyLayer) MediaType() (types.MediaType, error) { return emptyMediaType, nil }
func (emptyLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(emptyJSON)), nil
}
func (emptyLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(emptyJSON)), nil
}
