package targets

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/targets/internal/session"
)

// Image groups the daemonless OCI image targets.
type Image mg.Namespace

// Build assembles a multi-arch OCI image from the compiled binaries into dist/image.
//
// No Docker daemon and no second compile: the linux binaries from go:build
// go onto hoist's built-in static base (CA certificates, nonroot user 65532,
// /tmp) or the configured base, with the asset directories ui/, web/,
// static/ and public/ (when they hold no code) under the working directory
// unless Image.Files says otherwise. Prints the index digest and each
// platform's digest and compressed size, and records them in
// dist/artifacts.json. Env: HOIST_IMAGE_TARBALL=linux/amd64 also writes a
// docker-loadable tarball.
func (Image) Build(ctx context.Context) error {
	mg.CtxDeps(ctx, Go.Build)
	s, err := session.Load()
	if err != nil {
		return err
	}
	if s.Cfg.Image.Skip {
		s.Logf("image:build", "skipped: Image.Skip is set")
		return nil
	}
	st, err := s.CurrentStamp(ctx)
	if err != nil {
		return err
	}
	_, err = s.BuildImage(ctx, "image:build", st)
	return err
}

// PushByDigest pushes each platform image by digest, untagged, for a split CI build.
//
// Each runner builds its own platform (PLATFORMS=linux/arm64) and runs this;
// it writes dist/digests/<platform>.digest. A final job gathers those files
// and runs image:merge. Needs REGISTRY.
func (Image) PushByDigest(ctx context.Context) error {
	mg.CtxDeps(ctx, Image.Build)
	s, err := session.Load()
	if err != nil {
		return err
	}
	st, err := s.CurrentStamp(ctx)
	if err != nil {
		return err
	}
	return s.PushPlatforms(ctx, "image:pushByDigest", st)
}

// Merge assembles one multi-arch index from per-platform digests and tags it.
//
// The merge step of a split CI build: reads dist/digests/*.digest (or
// DIGESTS=sha256:…,sha256:…), builds an OCI index over those images in each
// REGISTRY destination, pushes it by digest, then applies the version tags.
func (Image) Merge(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	st, err := s.CurrentStamp(ctx)
	if err != nil {
		return err
	}
	return s.Merge(ctx, "image:merge", st)
}
