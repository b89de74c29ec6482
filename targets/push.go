package targets

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/targets/internal/session"
)

// Push pushes the image to every configured registry, or the embedded one.
//
// The index, its manifests and blobs go by digest; the version tag moves
// only after everything is there, and never away from a released image: a
// commit past the release is pushed as a snapshot version. Only missing
// blobs are uploaded. Run alone in a CI job it uses dist/image and
// dist/artifacts.json from an earlier image:build instead of rebuilding
// when the binaries are not there. With no registry configured it pushes
// to hoist's embedded registry and verifies the push by pulling it back.
// With HOIST_SIGN=1 and a key, it signs the index and each platform
// manifest and attaches an SBOM and the provenance, before the tag moves.
// Env: REGISTRY (comma-separated repository prefixes, e.g. ghcr.io/acme),
// HOIST_INSECURE_REGISTRIES, HOIST_FLOATING_TAGS=1 (also move latest and
// MAJOR.MINOR), HOIST_FORCE=1, HOIST_REGISTRY_DATA, HOIST_REGISTRY_COMMAND,
// HOIST_SIGN=1, COSIGN_KEY, COSIGN_PASSWORD.
func (Image) Push(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	if s.Cfg.Image.Skip {
		s.Logf("image:push", "skipped: Image.Skip is set")
		return nil
	}
	st, err := s.CurrentStamp(ctx)
	if err != nil {
		return err
	}
	if s.HasImage(ctx, st) && !s.HasBinaries() {
		s.Logf("image:push", "using the image built earlier in %s (the binaries are not here to rebuild it)", s.Rel(s.Dist("image")))
	} else {
		mg.CtxDeps(ctx, Image.Build)
	}
	return s.PushImage(ctx, "image:push", st, false)
}
