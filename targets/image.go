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
// /tmp) or the configured base. Prints the index digest and each
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
	_, err = s.BuildImage(ctx, "image:build")
	return err
}
