package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// base is a resolved Config.Base: either a multi-platform index or a single
// image, and the name recorded in the base.name annotation.
type base struct {
	name  string
	index v1.ImageIndex // set for a multi-platform base
	image v1.Image      // set for a single-platform base
}

const layoutPrefix = "oci:"

// resolveBase fetches the manifest (not the layers) of a registry or OCI
// layout base. Layers are read lazily, only when the result is written.
func resolveBase(ctx context.Context, ref string, o *options) (*base, error) {
	if rest, ok := strings.CutPrefix(ref, layoutPrefix); ok {
		return resolveLayoutBase(ref, rest)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("base image reference %q is invalid: %w; use repo:tag, repo@sha256:<hex>, oci:<dir>[:<ref-name>|@sha256:<hex>], or leave Base empty for the built-in static base", ref, err)
	}
	ropts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(o.keychain)}, o.remote...)
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("fetch base image %s: %w (check the reference, the network and `docker login` for private registries)", r.Name(), err)
	}
	b := &base{name: r.Name()}
	switch {
	case desc.MediaType.IsIndex():
		b.index, err = desc.ImageIndex()
	case desc.MediaType.IsImage():
		b.image, err = desc.Image()
	default:
		return nil, fmt.Errorf("base image %s has media type %s, which is neither an image nor an index: use an image reference", r.Name(), desc.MediaType)
	}
	if err != nil {
		return nil, fmt.Errorf("read base image %s: %w", r.Name(), err)
	}
	return b, nil
}

// resolveLayoutBase reads "DIR", "DIR:REFNAME" or "DIR@sha256:HEX" from an
// OCI image layout.
func resolveLayoutBase(ref, rest string) (*base, error) {
	dir, sel, bySel := rest, "", ""
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		dir, sel, bySel = rest[:i], rest[i+1:], "digest"
	} else if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		dir, sel, bySel = rest[:i], rest[i+1:], "ref"
	}
	if dir == "" {
		return nil, fmt.Errorf("base image reference %q is invalid: name the layout directory, as in oci:dist/base:1.0", ref)
	}
	var want v1.Hash
	if bySel == "digest" {
		h, err := v1.NewHash(sel)
		if err != nil {
			return nil, fmt.Errorf("base image reference %q is invalid: %w; write the digest as sha256:<64 hex digits>", ref, err)
		}
		want = h
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("base image %s: %s is not an OCI image layout (no index.json): check the path or write the layout first", ref, dir)
		}
		return nil, fmt.Errorf("read base image layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read base image layout %s: %w", dir, err)
	}
	var picked []v1.Descriptor
	var refNames []string
	for _, d := range im.Manifests {
		if rn := d.Annotations[AnnotationRefName]; rn != "" {
			refNames = append(refNames, rn)
		}
		switch bySel {
		case "digest":
			if d.Digest == want {
				picked = append(picked, d)
			}
		case "ref":
			if d.Annotations[AnnotationRefName] == sel {
				picked = append(picked, d)
			}
		default:
			picked = append(picked, d)
		}
	}
	if len(picked) != 1 {
		have := "none"
		if len(refNames) > 0 {
			have = strings.Join(refNames, ", ")
		}
		if len(picked) == 0 {
			return nil, fmt.Errorf("base image %s: no manifest matches in %s (ref names there: %s): use oci:%s:<ref-name> or oci:%s@sha256:<digest>", ref, dir, have, dir, dir)
		}
		return nil, fmt.Errorf("base image %s: %d manifests in %s (ref names there: %s): pick one with oci:%s:<ref-name> or oci:%s@sha256:<digest>", ref, len(picked), dir, have, dir, dir)
	}
	d := picked[0]
	b := &base{name: ref}
	switch {
	case d.MediaType.IsIndex():
		b.index, err = idx.ImageIndex(d.Digest)
	case d.MediaType.IsImage():
		b.image, err = idx.Image(d.Digest)
	default:
		return nil, fmt.Errorf("base image %s: manifest %s has media type %s, which is neither an image nor an index", ref, d.Digest, d.MediaType)
	}
	if err != nil {
		return nil, fmt.Errorf("read base image %s: %w", ref, err)
	}
	return b, nil
}

// digest identifies the whole base: the index digest for a multi-platform
// base, else the image digest. It goes into the index's base.digest.
func (b *base) digest() (v1.Hash, error) {
	if b.index != nil {
		return b.index.Digest()
	}
	return b.image.Digest()
}

// forPlatform picks the base image for p and converts it to OCI media types.
// The returned digest is that of the image as the base publishes it, before
// conversion, so it can be looked up in the base's registry.
func (b *base) forPlatform(p v1.Platform) (v1.Image, v1.Hash, error) {
	img := b.image
	if b.index != nil {
		im, err := b.index.IndexManifest()
		if err != nil {
			return nil, v1.Hash{}, fmt.Errorf("read base %s: %w", b.name, err)
		}
		var have []string
		var exact, loose []v1.Descriptor
		for _, d := range im.Manifests {
			if d.Platform == nil || !d.MediaType.IsImage() {
				continue
			}
			have = append(have, platformString(*d.Platform))
			switch matchPlatform(p, *d.Platform) {
			case matchExact:
				exact = append(exact, d)
			case matchLoose:
				loose = append(loose, d)
			}
		}
		cands := exact
		if len(cands) == 0 {
			cands = loose
		}
		switch len(cands) {
		case 0:
			return nil, v1.Hash{}, fmt.Errorf("base %s has no %s image (it has: %s): choose a base that covers every platform you build, or stop building %s",
				b.name, platformString(p), strings.Join(have, ", "), platformString(p))
		case 1:
		default:
			var vs []string
			for _, c := range cands {
				vs = append(vs, platformString(*c.Platform))
			}
			return nil, v1.Hash{}, fmt.Errorf("base %s has several images for %s (%s): set the binary's Platform.Variant to pick one", b.name, platformString(p), strings.Join(vs, ", "))
		}
		if img, err = b.index.Image(cands[0].Digest); err != nil {
			return nil, v1.Hash{}, fmt.Errorf("read base %s for %s: %w", b.name, platformString(p), err)
		}
	} else {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, v1.Hash{}, fmt.Errorf("read base %s config: %w", b.name, err)
		}
		got := v1.Platform{}
		if cp := cf.Platform(); cp != nil {
			got = *cp
		}
		if matchPlatform(p, got) == matchNone {
			return nil, v1.Hash{}, fmt.Errorf("base %s is a single-platform image for %s, so it cannot carry the %s binaries: use a multi-platform base or build only %s",
				b.name, platformString(got), platformString(p), platformString(got))
		}
	}
	d, err := img.Digest()
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("read base %s for %s: %w", b.name, platformString(p), err)
	}
	oci, err := toOCI(img)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("convert base %s for %s to OCI media types: %w", b.name, platformString(p), err)
	}
	return oci, d, nil
}

type platformMatch int

const (
	matchNone platformMatch = iota
	matchLoose
	matchExact
)

// matchPlatform compares the OS, architecture and variant. arm64 and
// arm64/v8 are the same thing; a binary without a variant accepts any
// variant of its architecture, but an exact match is preferred.
func matchPlatform(want, have v1.Platform) platformMatch {
	if want.OS != have.OS || want.Architecture != have.Architecture {
		return matchNone
	}
	wv, hv := normVariant(want), normVariant(have)
	switch {
	case wv == hv:
		return matchExact
	case wv == "":
		return matchLoose
	}
	return matchNone
}

func normVariant(p v1.Platform) string {
	if p.Architecture == "arm64" && p.Variant == "v8" {
		return ""
	}
	return p.Variant
}

// toOCI rewrites a Docker schema 2 image with OCI media types, keeping the
// layers' bytes (the compression formats are the same) and the config
// unchanged, so that the index hoist writes is OCI throughout.
func toOCI(img v1.Image) (v1.Image, error) {
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	switch mt {
	case types.OCIManifestSchema1:
		return img, nil
	case types.DockerManifestSchema2:
	default:
		return nil, fmt.Errorf("unsupported manifest media type %s: use a Docker schema 2 or OCI image", mt)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	adds := make([]mutate.Addendum, 0, len(layers))
	for _, l := range layers {
		lmt, err := l.MediaType()
		if err != nil {
			return nil, err
		}
		omt := ociLayerType(lmt)
		adds = append(adds, mutate.Addendum{Layer: &typedLayer{Layer: l, mt: omt}, MediaType: omt})
	}
	out := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if out, err = mutate.Append(out, adds...); err != nil {
		return nil, err
	}
	// Append added one history entry per layer; put the base's own history
	// and diff IDs back.
	return mutate.ConfigFile(out, cf.DeepCopy())
}

func ociLayerType(mt types.MediaType) types.MediaType {
	switch mt {
	case types.DockerLayer:
		return types.OCILayer
	case types.DockerUncompressedLayer:
		return types.OCIUncompressedLayer
	case types.DockerForeignLayer:
		return types.OCIRestrictedLayer
	}
	return mt
}

// typedLayer reports a different media type for the same bytes.
type typedLayer struct {
	v1.Layer
	mt types.MediaType
}

// MediaType implements v1.Layer.
func (t *typedLayer) MediaType() (types.MediaType, error) { return t.mt, nil }

// statBinary checks a binary before anything is built, so a missing
// cross-compile is reported as such rather than as a tar error.
func statBinary(b Binary) (int64, error) {
	fi, err := os.Stat(b.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("binary %s for %s not found at %s: run go:build first so that it is cross-compiled", b.Name, platformString(b.Platform), b.Path)
		}
		return 0, fmt.Errorf("binary %s for %s: %w", b.Name, platformString(b.Platform), err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("binary %s for %s: %s is not a regular file: point Binary.Path at the compiled executable", b.Name, platformString(b.Platform), b.Path)
	}
	return fi.Size(), nil
}
