package publish

import (
	"context"
	"errors"
	"fmt"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// AssembleIndex is the merge step of a split CI build: each runner pushed its
// platform image to repository by digest (PushImage), and this fetches those
// manifests, reads each platform from its config, builds an OCI index over
// them, pushes the index by digest and then applies tags. Entries are
// ordered by platform, so the same set of digests always gives the same
// index digest whichever runner finished first. It returns the index
// digest.
func AssembleIndex(ctx context.Context, repository string, digests []string, tags []string, opts ...Option) (v1.Hash, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("assemble index: %w", err)
	}
	defer o.release()
	targets, err := parseDestinations([]Destination{{Repository: repository, Tags: tags}}, o)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("assemble index: %w", err)
	}
	repo := targets[0].repo
	if len(digests) == 0 {
		return v1.Hash{}, errors.New("assemble index: no digests: pass the digests printed by each platform's PushImage")
	}

	type entry struct {
		img      v1.Image
		platform v1.Platform
	}
	var entries []entry
	byPlatform := map[string]string{}
	for _, d := range digests {
		ref, err := digestRef(repo, d)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("assemble index: %q is not a digest like sha256:<64 hex>: %w", d, err)
		}
		desc, err := remote.Get(ref, o.remoteOptions(ctx)...)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("assemble index: fetch %s: %w", ref, explain(err, repo))
		}
		if !desc.MediaType.IsImage() {
			return v1.Hash{}, fmt.Errorf("assemble index: %s is a %s, not a single-platform image: pass the digests PushImage returned", ref, desc.MediaType)
		}
		img, err := desc.Image()
		if err != nil {
			return v1.Hash{}, fmt.Errorf("assemble index: read %s: %w", ref, explain(err, repo))
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return v1.Hash{}, fmt.Errorf("assemble index: read config of %s: %w", ref, explain(err, repo))
		}
		p := cf.Platform()
		if p == nil || p.OS == "" || p.Architecture == "" {
			return v1.Hash{}, fmt.Errorf("assemble index: image %s has no os/architecture in its config: set them when building the image", ref)
		}
		key := p.String()
		if prev, dup := byPlatform[key]; dup {
			return v1.Hash{}, fmt.Errorf("assemble index: %s and %s are both %s: pass one image per platform", prev, d, key)
		}
		byPlatform[key] = d
		entries = append(entries, entry{img: img, platform: *p})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].platform.String() < entries[j].platform.String() })

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, e := range entries {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        e.img,
			Descriptor: v1.Descriptor{Platform: &e.platform},
		})
	}
	p, err := planIndex(idx)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("assemble index: %w", err)
	}
	res, err := pushAll(ctx, o, p, targets)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("assemble index: %w", err)
	}
	return res[0].Digest, nil
}
