package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// Destination is one repository to push to, with the tags that should point
// at the pushed digest once everything else is in place.
type Destination struct {
	// Repository is a full repository name including the registry, such as
	// "127.0.0.1:5000/web" or "ghcr.io/acme/web", without tag or digest.
	Repository string
	// Tags are moved to the pushed digest last, in order. Empty pushes by
	// digest only, which is what split CI jobs want.
	Tags []string
}

// Result describes what happened at one destination, so that callers can
// print a summary and record the digest in release metadata.
type Result struct {
	// Repository is the destination's repository as given.
	Repository string
	// Digest is the digest of the pushed index or image.
	Digest v1.Hash
	// Refs lists what now resolves at the destination: "repo@sha256:…"
	// first, then "repo:tag" for each tag applied.
	Refs []string
	// BlobsUploaded counts layers and configs sent to the registry.
	BlobsUploaded int
	// BlobsSkipped counts blobs the registry already had.
	BlobsSkipped int
	// BytesUploaded is the compressed size of the uploaded blobs, without
	// manifests and without bytes resent by retries.
	BytesUploaded int64
	// Duration is the wall time spent on this destination.
	Duration time.Duration
	// Err is why this destination failed, or nil.
	Err error
}

// Push sends idx with all its platform images to every destination, by
// digest. At each destination it uploads the blobs the registry lacks
// (several at once, each shared blob once), then PUTs each platform
// manifest, then the index, all by digest, and only then points the tags at
// the index. Destinations are pushed concurrently, and a failure at one does
// not stop the others. There is one Result per destination, in order; the
// error is non-nil if any destination failed and names each of them.
func Push(ctx context.Context, idx v1.ImageIndex, dests []Destination, opts ...Option) ([]Result, error) {
	if idx == nil {
		return nil, errors.New("push: no index given")
	}
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	defer o.release()
	targets, err := parseDestinations(dests, o)
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	p, err := planIndex(idx)
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	return pushAll(ctx, o, p, targets)
}

// PushImage sends a single-platform image to dest by digest, then applies
// dest.Tags, with the same ordering and skipping rules as Push. Split CI jobs
// use it to push their platform with no tags, and AssembleIndex merges the
// digests afterwards.
func PushImage(ctx context.Context, img v1.Image, dest Destination, opts ...Option) (Result, error) {
	if img == nil {
		return Result{Repository: dest.Repository}, errors.New("push: no image given")
	}
	o, err := makeOptions(opts...)
	if err != nil {
		return Result{Repository: dest.Repository}, fmt.Errorf("push: %w", err)
	}
	defer o.release()
	targets, err := parseDestinations([]Destination{dest}, o)
	if err != nil {
		return Result{Repository: dest.Repository}, fmt.Errorf("push: %w", err)
	}
	p := newPlan()
	if _, err := p.addImage(img); err != nil {
		return Result{Repository: dest.Repository}, fmt.Errorf("push: %w", err)
	}
	p.finish()
	res, err := pushAll(ctx, o, p, targets)
	return res[0], err
}

// target is a validated Destination.
type target struct {
	dest Destination
	repo name.Repository
	tags []string
}

// parseRepository validates a destination repository. A registry must be
// named explicitly: hoist never guesses Docker Hub.
func parseRepository(s string, o *options) (name.Repository, error) {
	if s == "" {
		return name.Repository{}, errors.New(`empty repository: set it to a full name such as "127.0.0.1:5000/web" or "ghcr.io/acme/web"`)
	}
	if strings.Contains(s, "@") {
		return name.Repository{}, fmt.Errorf("repository %q contains a digest: give the bare repository, the digest comes from the image", s)
	}
	if !strings.Contains(s, "/") {
		return name.Repository{}, fmt.Errorf("repository %q is not a full name: use registry/name such as \"127.0.0.1:5000/web\" or \"docker.io/acme/web\"", s)
	}
	nopts := []name.Option{name.StrictValidation}
	if host, _, _ := strings.Cut(s, "/"); isLoopbackHost(host) || o.allowed.matches(host) {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(s, nopts...)
	if err != nil {
		if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
			return name.Repository{}, fmt.Errorf("repository %q contains a tag: move %q into Destination.Tags", s, s[i+1:])
		}
		return name.Repository{}, fmt.Errorf("repository %q: %w (use a full name such as \"127.0.0.1:5000/web\")", s, err)
	}
	return repo, nil
}

// digestRef is repo@digest, checked, keeping repo's registry settings:
// building it from the name string would drop the plain-HTTP permission a
// HOIST_INSECURE_REGISTRIES host was given, and the tag step would then
// speak HTTPS to a registry that serves HTTP.
func digestRef(repo name.Repository, digest string) (name.Digest, error) {
	if _, err := name.NewDigest(repo.Name()+"@"+digest, name.StrictValidation); err != nil {
		return name.Digest{}, err
	}
	return repo.Digest(digest), nil
}

// parseDestinations validates every destination before anything is sent, so
// a typo in the last one does not leave the first ones pushed.
func parseDestinations(dests []Destination, o *options) ([]target, error) {
	if len(dests) == 0 {
		return nil, errors.New(`no destinations: pass at least one Destination{Repository: "127.0.0.1:5000/web"}`)
	}
	seen := map[string]bool{}
	var errs []error
	var out []target
	for _, d := range dests {
		repo, err := parseRepository(d.Repository, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[repo.Name()] {
			errs = append(errs, fmt.Errorf("destination %s is listed twice: merge its tags into one Destination", repo.Name()))
			continue
		}
		seen[repo.Name()] = true
		t := target{dest: d, repo: repo}
		tagSeen := map[string]bool{}
		for _, tag := range d.Tags {
			if !validTag.MatchString(tag) {
				errs = append(errs, fmt.Errorf("tag %q for %s is not valid: tags are up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", tag, repo.Name()))
				continue
			}
			if !tagSeen[tag] {
				tagSeen[tag] = true
				t.tags = append(t.tags, tag)
			}
		}
		out = append(out, t)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// validTag is the tag grammar of the OCI distribution spec; go-containerregistry
// accepts a little more (a leading '.' or '-') than registries do.
var validTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// ValidTag reports whether registries accept t as a tag: up to 128
// letters, digits, '_', '.' and '-', not starting with '.' or '-'.
func ValidTag(t string) bool { return validTag.MatchString(t) }

// blobItem is one layer or config to make present at each destination.
type blobItem struct {
	layer  v1.Layer
	digest v1.Hash
	size   int64
}

// manifestItem is one manifest to PUT by digest.
type manifestItem struct {
	digest    v1.Hash
	mediaType types.MediaType
	raw       []byte
}

// plan is the destination-independent part of a push, worked out once: the
// distinct blobs, and the manifests in an order where every manifest comes
// after the ones it references. The last manifest is the root that tags
// point at.
type plan struct {
	blobs     []blobItem
	manifests []manifestItem
	root      manifestItem

	seenBlobs     map[v1.Hash]bool
	seenManifests map[v1.Hash]bool
}

func newPlan() *plan {
	return &plan{seenBlobs: map[v1.Hash]bool{}, seenManifests: map[v1.Hash]bool{}}
}

func planIndex(idx v1.ImageIndex) (*plan, error) {
	p := newPlan()
	if _, err := p.addIndex(idx); err != nil {
		return nil, err
	}
	p.finish()
	return p, nil
}

// finish splits the root off the manifest list.
func (p *plan) finish() {
	p.root = p.manifests[len(p.manifests)-1]
	p.manifests = p.manifests[:len(p.manifests)-1]
}

func (p *plan) addManifest(m partial.Describable, raw []byte) (manifestItem, error) {
	h, err := m.Digest()
	if err != nil {
		return manifestItem{}, err
	}
	mt, err := m.MediaType()
	if err != nil {
		return manifestItem{}, err
	}
	item := manifestItem{digest: h, mediaType: mt, raw: raw}
	if !p.seenManifests[h] {
		p.seenManifests[h] = true
		p.manifests = append(p.manifests, item)
	}
	return item, nil
}

func (p *plan) addIndex(idx v1.ImageIndex) (manifestItem, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return manifestItem{}, fmt.Errorf("read index manifest: %w", err)
	}
	for _, desc := range im.Manifests {
		switch {
		case desc.MediaType.IsIndex():
			child, err := idx.ImageIndex(desc.Digest)
			if err != nil {
				return manifestItem{}, fmt.Errorf("read child index %s: %w", desc.Digest, err)
			}
			if _, err := p.addIndex(child); err != nil {
				return manifestItem{}, err
			}
		case desc.MediaType.IsImage():
			child, err := idx.Image(desc.Digest)
			if err != nil {
				return manifestItem{}, fmt.Errorf("read image %s: %w", desc.Digest, err)
			}
			if _, err := p.addImage(child); err != nil {
				return manifestItem{}, err
			}
		default:
			return manifestItem{}, fmt.Errorf("index entry %s has media type %q, which is neither an image nor an index", desc.Digest, desc.MediaType)
		}
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return manifestItem{}, fmt.Errorf("read index manifest: %w", err)
	}
	return p.addManifest(idx, raw)
}

func (p *plan) addImage(img v1.Image) (manifestItem, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return manifestItem{}, fmt.Errorf("read image manifest: %w", err)
	}
	h, err := img.Digest()
	if err != nil {
		return manifestItem{}, fmt.Errorf("digest image manifest: %w", err)
	}
	if p.seenManifests[h] {
		return p.addManifest(img, raw)
	}
	// Walk the manifest's own descriptors: they are what the registry will
	// check, including media types an Addendum overrode.
	m, err := img.Manifest()
	if err != nil {
		return manifestItem{}, fmt.Errorf("read image manifest %s: %w", h, err)
	}
	cfg, err := partial.ConfigLayer(img)
	if err != nil {
		return manifestItem{}, fmt.Errorf("read config of image %s: %w", h, err)
	}
	p.addBlob(cfg, m.Config)
	for _, desc := range m.Layers {
		// Foreign layers live elsewhere by design; registries reject or
		// ignore uploads of them.
		if !desc.MediaType.IsDistributable() {
			continue
		}
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return manifestItem{}, fmt.Errorf("image %s layer %s: %w", h, desc.Digest, err)
		}
		p.addBlob(l, desc)
	}
	return p.addManifest(img, raw)
}

// addBlob records l under the digest and size its manifest declares.
func (p *plan) addBlob(l v1.Layer, desc v1.Descriptor) {
	if p.seenBlobs[desc.Digest] {
		return
	}
	p.seenBlobs[desc.Digest] = true
	p.blobs = append(p.blobs, blobItem{layer: l, digest: desc.Digest, size: desc.Size})
}

// pushAll pushes p to every target and gathers the results. Registries
// are pushed concurrently; several repositories of one registry go one
// after the other, so that every one after the first mounts the blobs from
// the first instead of uploading them again.
func pushAll(ctx context.Context, o *options, p *plan, targets []target) ([]Result, error) {
	results := make([]Result, len(targets))
	byRegistry := map[string][]int{}
	var order []string
	for i, t := range targets {
		reg := t.repo.RegistryStr()
		if _, ok := byRegistry[reg]; !ok {
			order = append(order, reg)
		}
		byRegistry[reg] = append(byRegistry[reg], i)
	}
	var wg sync.WaitGroup
	for _, reg := range order {
		wg.Go(func() {
			var from *name.Repository
			for _, i := range byRegistry[reg] {
				results[i] = pushOne(ctx, o, p, targets[i], from)
				if results[i].Err == nil && from == nil {
					repo := targets[i].repo
					from = &repo
				}
			}
		})
	}
	wg.Wait()
	o.progress.close()

	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	if len(errs) > 0 {
		return results, fmt.Errorf("push failed for %d of %d destinations: %w", len(errs), len(results), errors.Join(errs...))
	}
	return results, nil
}

// pushOne carries out the plan at one destination through
// go-containerregistry's Pusher: every blob (Upload checks whether the
// registry has it, mounts it from mountFrom when that is another
// repository of the same registry, and uploads it otherwise), then every
// manifest by digest, children first and the root last, and only then the
// tags.
func pushOne(ctx context.Context, o *options, p *plan, t target, mountFrom *name.Repository) (res Result) {
	start := time.Now()
	res = Result{Repository: t.dest.Repository, Digest: p.root.digest}
	defer func() {
		res.Duration = time.Since(start)
		if res.Err != nil {
			res.Err = redact(fmt.Errorf("push to %s: %w", t.dest.Repository, explain(res.Err, t.repo)))
		}
	}()
	repoName := t.repo.Name()
	o.warnInsecure(ctx, t.repo.RegistryStr())
	pusher, err := remote.NewPusher(o.remoteOptions(ctx)...)
	if err != nil {
		res.Err = err
		return res
	}

	// Blobs first: nothing may reference content the registry lacks.
	var uploaded, skipped atomic.Int64
	var sent atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.jobs)
	for _, b := range p.blobs {
		g.Go(func() error {
			cl := &countedLayer{Layer: b.layer, o: o, repo: repoName, digest: b.digest, size: b.size}
			var l v1.Layer = cl
			if mountFrom != nil {
				l = &remote.MountableLayer{Layer: cl, Reference: mountFrom.Digest(b.digest.String())}
			}
			err := o.retry.do(gctx, "blob "+shortDigest(b.digest)+" to "+repoName, func() error {
				return pusher.Upload(gctx, t.repo, l)
			})
			cl.bar.finish(err)
			if err != nil {
				return fmt.Errorf("upload blob %s: %w", b.digest, err)
			}
			if cl.opened.Load() {
				uploaded.Add(1)
				sent.Add(b.size)
				return nil
			}
			skipped.Add(1)
			if mountFrom != nil {
				o.progress.note(fmt.Sprintf("mounted %s %s from %s", shortDigest(b.digest), humanBytes(b.size), mountFrom.Name()))
			} else {
				o.progress.exists(repoName, b.digest, b.size)
			}
			return nil
		})
	}
	err = g.Wait()
	res.BlobsUploaded, res.BlobsSkipped, res.BytesUploaded = int(uploaded.Load()), int(skipped.Load()), sent.Load()
	if err != nil {
		res.Err = err
		return res
	}

	// Then every manifest by digest, children before the manifests that
	// list them, and the root last.
	for _, m := range append(slices.Clone(p.manifests), p.root) {
		err := o.retry.do(ctx, "manifest "+shortDigest(m.digest)+" to "+repoName, func() error {
			return pusher.Put(ctx, t.repo.Digest(m.digest.String()), rawManifest{m})
		})
		if err != nil {
			res.Err = fmt.Errorf("put manifest %s: %w", m.digest, err)
			return res
		}
		o.progress.note(fmt.Sprintf("manifest %s to %s", shortDigest(m.digest), repoName))
	}
	res.Refs = append(res.Refs, t.repo.Digest(p.root.digest.String()).String())

	// Only now, with everything the root references in place, move tags.
	for _, tag := range t.tags {
		ref := t.repo.Tag(tag)
		err := o.retry.do(ctx, "tag "+ref.String(), func() error {
			return pusher.Put(ctx, ref, rawManifest{p.root})
		})
		if err != nil {
			res.Err = fmt.Errorf("tag %s: %w", tag, err)
			return res
		}
		res.Refs = append(res.Refs, ref.String())
		o.progress.note(fmt.Sprintf("tagged %s -> %s", ref, shortDigest(p.root.digest)))
	}
	return res
}

// rawManifest is a manifest of the plan as go-containerregistry's Pusher
// takes it: its bytes, media type and digest, exactly as planned.
type rawManifest struct{ m manifestItem }

func (r rawManifest) RawManifest() ([]byte, error)        { return r.m.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.m.mediaType, nil }
func (r rawManifest) Digest() (v1.Hash, error)            { return r.m.digest, nil }
func (r rawManifest) Size() (int64, error)                { return int64(len(r.m.raw)), nil }

// countedLayer is a blob being pushed. go-containerregistry opens its
// content only to upload it, so an opened layer is an uploaded one, and
// the bytes read from it drive the progress bar.
type countedLayer struct {
	v1.Layer
	o      *options
	repo   string
	digest v1.Hash
	size   int64
	opened atomic.Bool
	bar    *blobBar
}

func (c *countedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := c.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	if c.opened.Swap(true) {
		c.bar.restart() // a retry sends it again from the start
	} else {
		c.bar = c.o.progress.start(c.repo, c.digest, c.size)
	}
	return c.bar.wrap(rc), nil
}
