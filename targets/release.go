package targets

import (
	"context"

	"github.com/hoistdev/hoist/release"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// Release bumps the version, builds, packages, pushes the image and tags, all or nothing.
//
// Stages: preflight (clean tree, git identity, no existing tag, valid
// VERSION, reachable registry), go mod tidy check, go vet, go test (the
// gate targets, as mage dependencies), version, build, package, changelog,
// image, push by digest, the git commit and annotated tag, the registry
// tags, and dist/release.json. A VERSION never tagged is released as is;
// after that the Conventional Commits since the last tag pick the bump.
// Nothing is committed or tagged until everything is built and pushed; on
// failure or SIGINT/SIGTERM the repository is put back as it was, and a
// release killed outright is finished or rolled back by the next run.
// Env: BUMP=major|minor|patch|prerelease, REGISTRY,
// HOIST_INSECURE_REGISTRIES, HOIST_ALLOW_DETACHED=1, SOURCE_DATE_EPOCH,
// PLATFORMS, COVERAGE_MIN, TEST_ARGS, HOIST_REGISTRY_DATA.
func Release(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return session.Interruptible(ctx, func(ctx context.Context) error {
		return s.Release(ctx, release.ModeRelease, session.Gates(session.TidyCheck, Go.Vet, Go.Test, Go.Vuln))
	})
}
