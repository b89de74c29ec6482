package docker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// dockerTag turns a version into a Docker tag. Semver build metadata uses
// "+", which Docker tags do not allow; "_" is the usual stand-in.
func dockerTag(v *semver.Version) string {
	return strings.ReplaceAll(v.String(), "+", "_")
}

// versionRef is the <name>:<version> reference of the daemonless image.
func versionRef(s *session.Session, v *semver.Version) string {
	return s.ImageName() + ":" + dockerTag(v)
}

// dockerfileRef is where docker:build puts the Dockerfile's result. It
// gets a tag of its own so that both images of one version can sit side by
// side and be compared, and so a Dockerfile build never silently replaces
// the image that docker:load put there.
func dockerfileRef(s *session.Session, v *semver.Version) string {
	return versionRef(s, v) + "-dockerfile"
}

// loadTags are the tags docker:load gives the image.
func loadTags(s *session.Session, v *semver.Version) []string {
	tags := []string{versionRef(s, v)}
	if s.Env.Docker.Latest {
		tags = append(tags, s.ImageName()+":latest")
	}
	return tags
}

// loadImage puts the built image for the daemon's platform into the daemon
// and returns the tags it carries. An image the daemon already holds under
// every tag is not sent again.
func loadImage(ctx context.Context, s *session.Session, c *conn) ([]string, error) {
	const target = "docker:load"
	if s.Cfg.Image.Skip {
		return nil, errors.New("Image.Skip is set, so there is no image to load: unset it in the magefile's Configure")
	}
	ver, err := currentVersion(ctx, s)
	if err != nil {
		return nil, err
	}
	want, err := daemonPlatform(ctx, s, c)
	if err != nil {
		return nil, err
	}
	layout := s.Dist("image")
	idx, err := image.ReadLayout(ctx, layout, s.LayoutRefName(ver))
	if err != nil {
		return nil, fmt.Errorf("read the image built by image:build: %w", err)
	}
	img, got, err := pickImage(idx, want)
	if err != nil {
		return nil, err
	}
	ids, err := imageIDs(img)
	if err != nil {
		return nil, fmt.Errorf("read the %s image from %s: %w", platformString(got), s.Rel(layout), err)
	}
	tags := loadTags(s, ver)
	if c.holds(ctx, ids, tags) {
		s.Logf(target, "%s already loaded (%s, image %s): nothing to do", strings.Join(tags, ", "), platformString(got), short(ids[0]))
		return tags, nil
	}
	tarball := s.Dist("image_" + slug(got) + ".tar")
	if err := image.WriteTarball(ctx, tarball, tags[0], img); err != nil {
		return nil, err
	}
	if err := c.eng.Load(ctx, tarball, tags...); err != nil {
		return nil, err
	}
	info, err := c.eng.Image(ctx, tags[0])
	if err != nil {
		return nil, err
	}
	s.Logf(target, "loaded %s (%s, image %s, %s) into %s", strings.Join(tags, ", "), platformString(got), short(info.ID), mib(info.Size), c.eng.Host())
	return tags, nil
}

// holds reports whether every tag already names one of the image's IDs.
// Daemons with the classic store use the config digest as the image ID,
// those with the containerd store the manifest digest, so both count.
func (c *conn) holds(ctx context.Context, ids, tags []string) bool {
	for _, t := range tags {
		info, err := c.eng.Image(ctx, t)
		if err != nil || !slices.Contains(ids, info.ID) {
			return false
		}
	}
	return true
}

func imageIDs(img v1.Image) ([]string, error) {
	cfg, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	man, err := img.Digest()
	if err != nil {
		return nil, err
	}
	return []string{cfg.String(), man.String()}, nil
}

// daemonPlatform is the platform whose image docker:load picks: the one
// DOCKER_PLATFORM names (for a daemon that emulates others), else the
// daemon's own.
func daemonPlatform(ctx context.Context, s *session.Session, c *conn) (v1.Platform, error) {
	if v := s.Env.Docker.Platform; v != "" {
		p, err := platform.Parse(v)
		if err != nil {
			return v1.Platform{}, fmt.Errorf("DOCKER_PLATFORM: %w", err)
		}
		return p.OCI(), nil
	}
	os, arch, err := c.eng.Platform(ctx)
	if err != nil {
		return v1.Platform{}, err
	}
	return v1.Platform{OS: os, Architecture: arch}, nil
}

// pickImage finds want's image in the index. A want without a variant
// takes any variant of its architecture, the newest one first, since the
// daemon reports no variant and newer hardware runs older variants' code.
func pickImage(idx v1.ImageIndex, want v1.Platform) (v1.Image, v1.Platform, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Platform{}, fmt.Errorf("read the image index: %w", err)
	}
	var best *v1.Descriptor
	var have []string
	for i, d := range im.Manifests {
		if d.Platform == nil {
			continue
		}
		p := *d.Platform
		have = append(have, platformString(p))
		if p.OS != want.OS || p.Architecture != want.Architecture {
			continue
		}
		if want.Variant != "" && p.Variant != want.Variant {
			continue
		}
		if best == nil || p.Variant > best.Platform.Variant {
			best = &im.Manifests[i]
		}
	}
	if best == nil {
		return nil, v1.Platform{}, fmt.Errorf("the image has no %s variant (it has %s): add %s to PLATFORMS and rebuild, or set DOCKER_PLATFORM to one it has",
			platformString(want), strings.Join(have, ", "), platformString(want))
	}
	img, err := idx.Image(best.Digest)
	if err != nil {
		return nil, v1.Platform{}, fmt.Errorf("open the %s image %s: %w", platformString(*best.Platform), best.Digest, err)
	}
	return img, *best.Platform, nil
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// slug names per-platform files the way image:build's tarballs are named,
// so docker:load and HOIST_IMAGE_TARBALL write the same file.
func slug(p v1.Platform) string {
	return strings.ReplaceAll(platformString(p), "/", "_")
}

// short abbreviates an image ID for progress lines.
func short(id string) string {
	if len(id) > len("sha256:")+12 {
		return id[:len("sha256:")+12]
	}
	return id
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
