package release

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/release"
	"github.com/hoistdev/hoist/targets"
	"github.com/hoistdev/hoist/targets/internal/session"
	"github.com/hoistdev/hoist/version"
)

// Release groups the release targets besides the one-command release itself.
type Release mg.Namespace

// Snapshot builds everything a release would, as <next>-snapshot.<sha>, without bump, tag or remote push.
//
// Binaries, archives, SBOMs, checksums, CHANGELOG.md, the image (pushed to
// the embedded registry only) and dist/release.json. The tree may be dirty.
// Env: HOIST_SNAPSHOT_CHECKS=1 (also run tidy, vet and test), PLATFORMS,
// HOIST_FORCE=1, HOIST_REGISTRY_DATA, HOIST_REGISTRY_COMMAND.
func (Release) Snapshot(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return session.Interruptible(ctx, func(ctx context.Context) error {
		return s.Release(ctx, release.ModeSnapshot, gates())
	})
}

// Plan prints what release would do, without side effects; JSON=1 prints JSON.
//
// The same stages as the run, asked what they would do: the version, the
// tag scheme and the commit the binaries will carry, every artifact, the
// image references, which stages run or are skipped and why, and
// preflight's refusals (then it exits 1). SNAPSHOT=1 plans release:snapshot
// instead; BUMP forces a level as it does for release; JSON=1.
func (Release) Plan(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	mode := release.ModeRelease
	if s.Env.Snapshot {
		mode = release.ModeSnapshot
	}
	return s.PrintPlan(ctx, mode)
}

// Verify builds HEAD twice in clean clones and fails if any artifact digest differs.
//
// Compares every binary, archive, SBOM, checksums.txt and the image index.
// Nothing is pushed.
func (Release) Verify(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return s.Verify(ctx)
}

// Check verifies the published release of VERSION: signatures, SBOMs and provenance against the public key.
//
// In every registry (or the embedded one), the version tag's index and each
// platform manifest must carry a signature, an SPDX SBOM and a SLSA
// provenance statement signed by the key, about exactly that digest, and
// the provenance must name the commit the git tag points at. When dist/
// holds the release's files, checksums.txt's signatures, every file it
// lists and the signed provenance are checked too. Trusts only the public
// key. Env: COSIGN_PUBLIC_KEY (default cosign.pub at the root, else the
// public half of COSIGN_KEY), REGISTRY, HOIST_INSECURE_REGISTRIES,
// HOIST_REGISTRY_DATA.
func (Release) Check(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return session.Interruptible(ctx, s.Check)
}

// Keygen writes a new signing key pair, cosign.key and cosign.pub, in cosign's format.
//
// The private key is encrypted with COSIGN_PASSWORD (which may be empty);
// the files are written at the module root and never overwritten. Keep
// cosign.key secret (a CI secret, COSIGN_KEY) and commit cosign.pub, which
// release:check and cosign verify --key use.
func (Release) Keygen(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return s.Keygen(ctx)
}

// Level runs release with an explicit bump: major, minor, patch or prerelease.
func (Release) Level(ctx context.Context, level string) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	l, err := version.ParseLevel(level)
	if err != nil {
		return err
	}
	s.Env.Bump = l
	return session.Interruptible(ctx, func(ctx context.Context) error {
		return s.Release(ctx, release.ModeRelease, gates())
	})
}

// gates are the gates a release runs: the same targets as the one-command
// release in package targets uses.
func gates() release.Gates {
	return session.Gates(session.TidyCheck, targets.Go.Vet, targets.Go.Test, targets.Go.Vuln)
}
