package image

import (
	"archive/tar"
	"context"
	"fmt"
	"maps"
	"os"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// Result is what Build produced: an OCI image index over one image per
// linux platform, all still in memory until WriteLayout, WriteTarball or a
// push writes them somewhere.
type Result struct {
	// Index is the multi-platform OCI image index.
	Index v1.ImageIndex
	// Digest is the index digest, the value to pin or push by.
	Digest v1.Hash
	// Images has one entry per linux platform, sorted by platform string.
	Images []PlatformImage
	// Skipped lists the non-linux platforms whose binaries were ignored,
	// sorted, so the caller can report them in one line.
	Skipped []v1.Platform
	// BaseName is the base.name annotation value.
	BaseName string
	// BaseDigest is the index's base.digest annotation value: the base
	// index digest, or the base image digest for a single-platform base.
	// For the built-in base it is the digest of an index over the
	// generated per-platform base images.
	BaseDigest v1.Hash
}

// PlatformImage is the image of one platform within a Result.
type PlatformImage struct {
	// Platform is the platform as the binaries declared it.
	Platform v1.Platform
	// Image is the finished image.
	Image v1.Image
	// Digest is the image manifest digest.
	Digest v1.Hash
	// Size is what a registry stores for this image: the compressed layers
	// (base layers included), the config and the manifest, in bytes.
	Size int64
	// BaseName names the platform's base image, as in its base.name
	// annotation.
	BaseName string
	// BaseDigest is the base image's digest, as in its base.digest
	// annotation.
	BaseDigest v1.Hash
}

// ForPlatform returns the image built for p, for callers that need one
// platform only, such as a docker-loadable tarball for the host.
func (r *Result) ForPlatform(p v1.Platform) (PlatformImage, bool) {
	for _, pi := range r.Images {
		if matchPlatform(p, pi.Platform) != matchNone {
			return pi, true
		}
	}
	return PlatformImage{}, false
}

// Build puts already-compiled binaries on a base image and returns an OCI
// image index with one image per linux platform found in binaries. Each
// image has the base's layers, then one layer with the binaries under
// /usr/local/bin, then, if cfg has Files or Dirs, one layer with those.
//
// Nothing is compiled and no daemon is used. The output depends only on
// the binaries' bytes, cfg and the base, so two calls with the same input
// give the same Result.Digest.
func Build(ctx context.Context, binaries []Binary, cfg Config, opts ...Option) (*Result, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	groups, skipped, err := groupBinaries(binaries)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	var names []string
	for _, g := range groups {
		for _, b := range g.bins {
			if !contains(names, b.Name) {
				names = append(names, b.Name)
			}
		}
	}
	sort.Strings(names)
	p, err := cfg.plan(names)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	for _, g := range groups {
		if !g.has(p.main) {
			return nil, fmt.Errorf("build image: %s has no %s binary, which the entrypoint runs: build it for every platform or set Config.Main", platformString(g.platform), p.main)
		}
	}
	for _, s := range skipped {
		fmt.Fprintf(o.logger, "image: skipping %s binaries: images are linux only\n", platformString(s))
	}

	extra, err := extraLayer(ctx, p, names, o.level)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	src, err := newBaseSource(ctx, cfg, p, o)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}

	images := make([]PlatformImage, len(groups))
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(o.jobs)
	for i, g := range groups {
		eg.Go(func() error {
			pi, err := buildPlatform(gctx, g, p, src, extra, o)
			if err != nil {
				return fmt.Errorf("build image for %s: %w", platformString(g.platform), err)
			}
			images[i] = pi
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	// Logged after the fact and in platform order: the logger need not be
	// safe for concurrent use, and the output stays stable between runs.
	for _, pi := range images {
		fmt.Fprintf(o.logger, "image: %s %s (%d bytes) on %s@%s\n", platformString(pi.Platform), pi.Digest, pi.Size, pi.BaseName, pi.BaseDigest)
	}

	baseDigest, err := src.digest(images)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	adds := make([]mutate.IndexAddendum, 0, len(images))
	for _, pi := range images {
		plat := pi.Platform
		adds = append(adds, mutate.IndexAddendum{Add: pi.Image, Descriptor: v1.Descriptor{Platform: &plat}})
	}
	idx = mutate.AppendManifests(idx, adds...)
	idx = mutate.Annotations(idx, p.annotations(src.name, baseDigest)).(v1.ImageIndex)
	d, err := idx.Digest()
	if err != nil {
		return nil, fmt.Errorf("build image: compute index digest: %w", err)
	}
	return &Result{Index: idx, Digest: d, Images: images, Skipped: skipped, BaseName: src.name, BaseDigest: baseDigest}, nil
}

// platformGroup is the binaries of one linux platform.
type platformGroup struct {
	platform v1.Platform
	bins     []Binary
	sizes    []int64
}

func (g platformGroup) has(name string) bool {
	for _, b := range g.bins {
		if b.Name == name {
			return true
		}
	}
	return false
}

// groupBinaries sorts binaries into platforms, checks that each exists and
// sets the non-linux ones aside.
func groupBinaries(binaries []Binary) ([]platformGroup, []v1.Platform, error) {
	if len(binaries) == 0 {
		return nil, nil, fmt.Errorf("no binaries given: run go:build first and pass its linux outputs")
	}
	byPlat := map[string]*platformGroup{}
	skipped := map[string]v1.Platform{}
	for _, b := range binaries {
		if b.Platform.OS == "" || b.Platform.Architecture == "" {
			return nil, nil, fmt.Errorf("binary %s has no platform: set Binary.Platform.OS and .Architecture (as GOOS and GOARCH)", b.Path)
		}
		key := platformString(b.Platform)
		if b.Platform.OS != "linux" {
			skipped[key] = v1.Platform{OS: b.Platform.OS, Architecture: b.Platform.Architecture, Variant: b.Platform.Variant}
			continue
		}
		if b.Path == "" {
			return nil, nil, fmt.Errorf("binary %q for %s has no Path: point it at the go:build output", b.Name, key)
		}
		if b.Name == "" {
			b.Name = baseName(b.Path)
		}
		if strings.ContainsAny(b.Name, "/\\") || b.Name == "." || b.Name == ".." {
			return nil, nil, fmt.Errorf("binary name %q for %s: use a plain file name; it goes under %s", b.Name, key, BinDir)
		}
		size, err := statBinary(b)
		if err != nil {
			return nil, nil, err
		}
		g := byPlat[key]
		if g == nil {
			g = &platformGroup{platform: v1.Platform{OS: b.Platform.OS, Architecture: b.Platform.Architecture, Variant: b.Platform.Variant}}
			byPlat[key] = g
		}
		if g.has(b.Name) {
			return nil, nil, fmt.Errorf("binary %s is given twice for %s: pass each binary once per platform", b.Name, key)
		}
		g.bins = append(g.bins, b)
		g.sizes = append(g.sizes, size)
	}
	var skip []v1.Platform
	for _, k := range sortedKeys(skipped) {
		skip = append(skip, skipped[k])
	}
	if len(byPlat) == 0 {
		return nil, nil, fmt.Errorf("no linux binaries among %d given (only %d other platforms): build at least one linux platform for the image", len(binaries), len(skip))
	}
	var groups []platformGroup
	for _, k := range sortedKeys(byPlat) {
		groups = append(groups, *byPlat[k])
	}
	return groups, skip, nil
}

// copyLine describes the binaries layer in the image's history: "web
// /usr/local/bin/" as before when every binary is there, else each
// binary with its path.
func copyLine(bins []Binary, c Config) string {
	var names, placed []string
	moved := false
	for _, b := range bins {
		names = append(names, b.Name)
		bp := c.BinaryPath(b.Name)
		placed = append(placed, b.Name+" "+bp)
		moved = moved || bp != BinDir+"/"+b.Name
	}
	if !moved {
		return strings.Join(names, " ") + " " + BinDir + "/"
	}
	return strings.Join(placed, ", ")
}

func baseName(p string) string {
	p = strings.TrimRight(strings.ReplaceAll(p, "\\", "/"), "/")
	return p[strings.LastIndex(p, "/")+1:]
}

// extraLayer builds the Files and Dirs layer once; its bytes are the same
// for every platform.
func extraLayer(ctx context.Context, p *plan, names []string, level int) (*memLayer, error) {
	if len(p.cfg.Files) == 0 && len(p.cfg.Dirs) == 0 {
		return nil, nil
	}
	l := newLayerFS()
	if err := addFiles(l, p.cfg.Files, p.cfg.Dirs); err != nil {
		return nil, err
	}
	for _, n := range names {
		if bp := p.cfg.BinaryPath(n); l.entries[strings.TrimPrefix(bp, "/")] != nil {
			return nil, fmt.Errorf("Config.Files writes %s, which would replace the %s binary: choose another destination", bp, n)
		}
	}
	layer, err := l.build(ctx, p.created, level)
	if err != nil {
		return nil, fmt.Errorf("build the extra-files layer: %w", err)
	}
	return layer, nil
}

// binariesLayer holds one platform's binaries, mode 0755, owned by root so
// that the nonroot user cannot replace them.
func binariesLayer(ctx context.Context, g platformGroup, p *plan, level int) (*memLayer, error) {
	l := newLayerFS()
	for i, b := range g.bins {
		e := entry{name: strings.TrimPrefix(p.cfg.BinaryPath(b.Name), "/"), typeflag: tar.TypeReg, mode: 0o755, src: b.Path, size: g.sizes[i]}
		if err := l.add(e, "binary "+b.Path); err != nil {
			return nil, err
		}
	}
	return l.build(ctx, p.created, level)
}

func buildPlatform(ctx context.Context, g platformGroup, p *plan, src *baseSource, extra *memLayer, o *options) (PlatformImage, error) {
	baseImg, baseDigest, err := src.forPlatform(ctx, g.platform)
	if err != nil {
		return PlatformImage{}, err
	}
	bins, err := binariesLayer(ctx, g, p, o.level)
	if err != nil {
		return PlatformImage{}, err
	}
	created := v1.Time{Time: p.created}
	adds := []mutate.Addendum{{
		Layer:     bins,
		MediaType: types.OCILayer,
		History:   v1.History{Created: created, CreatedBy: "hoist: COPY " + copyLine(g.bins, p.cfg)},
	}}
	if extra != nil {
		adds = append(adds, mutate.Addendum{
			Layer:     extra,
			MediaType: types.OCILayer,
			History:   v1.History{Created: created, CreatedBy: "hoist: COPY Config.Files, Config.Dirs"},
		})
	}
	img, err := mutate.Append(baseImg, adds...)
	if err != nil {
		return PlatformImage{}, fmt.Errorf("append layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return PlatformImage{}, fmt.Errorf("read config: %w", err)
	}
	cf = cf.DeepCopy()
	anns := p.annotations(src.name, baseDigest)
	p.applyConfig(cf, g.platform, anns)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return PlatformImage{}, fmt.Errorf("set config: %w", err)
	}
	img = mutate.Annotations(img, anns).(v1.Image)
	d, err := img.Digest()
	if err != nil {
		return PlatformImage{}, fmt.Errorf("compute digest: %w", err)
	}
	size, err := storedSize(img)
	if err != nil {
		return PlatformImage{}, err
	}
	return PlatformImage{Platform: g.platform, Image: img, Digest: d, Size: size, BaseName: src.name, BaseDigest: baseDigest}, nil
}

// applyConfig writes the runtime settings, platform and times into cf.
func (p *plan) applyConfig(cf *v1.ConfigFile, plat v1.Platform, anns map[string]string) {
	cf.Created = v1.Time{Time: p.created}
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	// Docker-build leftovers from a base would make the config depend on
	// the machine that built the base; hoist never sets them.
	cf.Container, cf.DockerVersion = "", "" //nolint:staticcheck // clearing the deprecated field is the point
	c := &cf.Config
	c.Hostname = ""
	c.Entrypoint = append([]string(nil), p.entrypoint...)
	c.Cmd = append([]string(nil), p.cfg.Cmd...)
	c.Env = mergeEnv(c.Env, p.cfg.Env)
	c.User = p.user
	c.WorkingDir = p.workdir
	if len(p.ports) > 0 {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		maps.Copy(c.ExposedPorts, p.ports)
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	maps.Copy(c.Labels, p.cfg.Labels)
	for k, v := range anns {
		if contains(reservedKeys, k) {
			c.Labels[k] = v
		}
	}
	if p.healthTest != nil {
		h := p.cfg.Healthcheck
		c.Healthcheck = &v1.HealthConfig{Test: p.healthTest, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
}

// annotations are the standard keys plus Config.Annotations; base.digest
// differs between the index and each platform's manifest.
func (p *plan) annotations(baseName string, baseDigest v1.Hash) map[string]string {
	a := map[string]string{}
	maps.Copy(a, p.cfg.Annotations)
	set := func(k, v string) {
		if v != "" {
			a[k] = v
		}
	}
	set(AnnotationVersion, p.cfg.Version)
	set(AnnotationRevision, p.cfg.Revision)
	set(AnnotationSource, p.cfg.Source)
	set(AnnotationCreated, p.created.Format("2006-01-02T15:04:05Z07:00"))
	title := p.cfg.Title
	if title == "" {
		title = p.main
	}
	set(AnnotationTitle, title)
	set(AnnotationBaseName, baseName)
	set(AnnotationBaseDigest, baseDigest.String())
	return a
}

// storedSize adds up what a registry stores for img.
func storedSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, fmt.Errorf("read manifest: %w", err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return 0, fmt.Errorf("read manifest: %w", err)
	}
	size := m.Config.Size + int64(len(raw))
	for _, l := range m.Layers {
		size += l.Size
	}
	return size, nil
}

// baseSource hands out the base image per platform: generated for the
// built-in base, picked from the resolved reference otherwise.
type baseSource struct {
	name    string
	remote  *base     // nil for the built-in base
	static  *memLayer // the built-in base layer
	created v1.Time
}

func newBaseSource(ctx context.Context, cfg Config, p *plan, o *options) (*baseSource, error) {
	if cfg.Base != "" {
		b, err := resolveBase(ctx, cfg.Base, o)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(o.logger, "image: base %s\n", b.name)
		return &baseSource{name: b.name, remote: b}, nil
	}
	var zoneinfo []byte
	if cfg.TZData {
		root := o.goroot
		if root == "" {
			var err error
			if root, err = goroot(ctx); err != nil {
				return nil, err
			}
		}
		var err error
		if zoneinfo, err = os.ReadFile(zoneinfoPath(root)); err != nil {
			return nil, fmt.Errorf("read the time zone database for Config.TZData: %w; point image.WithGoRoot at a Go installation or drop TZData", err)
		}
	}
	layer, err := staticLayer(ctx, p.created, zoneinfo)
	if err != nil {
		return nil, err
	}
	return &baseSource{name: BuiltinBaseName, static: layer, created: v1.Time{Time: p.created}}, nil
}

func (s *baseSource) forPlatform(ctx context.Context, plat v1.Platform) (v1.Image, v1.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, v1.Hash{}, err
	}
	if s.remote != nil {
		return s.remote.forPlatform(plat)
	}
	img, err := staticImage(s.static, plat, s.created.Time)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("built-in base for %s: %w", platformString(plat), err)
	}
	return img, d, nil
}

// digest is the base.digest of the index. For the built-in base it is the
// digest of an OCI index over the per-platform base images, built the same
// way as hoist's own index, so that the index-level annotation names an
// index just as each manifest-level one names an image.
func (s *baseSource) digest(images []PlatformImage) (v1.Hash, error) {
	if s.remote != nil {
		return s.remote.digest()
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, pi := range images {
		img, err := staticImage(s.static, pi.Platform, s.created.Time)
		if err != nil {
			return v1.Hash{}, err
		}
		plat := pi.Platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &plat}})
	}
	return idx.Digest()
}
