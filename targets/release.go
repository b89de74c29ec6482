package targets

import (
	"context"

	"github.com/hoistdev/hoist/release"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// Release bumps the version, builds, packages, pushes the image and tags, all or nothing.
//
// Steps, each a mage dependency: preflight (clean tree, git identity, no
// existing tag, valid VERSION, reachable registry), go mod tidy check, go
// vet, go test, version bump, go:build, archives + SBOMs + checksums,
// image:build, image:push, then the VERSION commit and annotated tag, and
// dist/release.json. A VERSION never tagged is released as is; after that
// the Conventional Commits since the last tag pick the bump. Nothing is
// committed or tagged until everything is built and pushed; on failure the
// repository is put back as it was.
// Env: BUMP=major|minor|patch|prerelease, REGISTRY, HOIST_ALLOW_DETACHED=1.
func Release(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return session.Interruptible(ctx, func(ctx context.Context) error {
		return s.Release(ctx, release.ModeRelease, session.Gates(session.TidyCheck, Go.Vet, Go.Test))
	})
}
