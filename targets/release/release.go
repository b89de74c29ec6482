package release

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/targets"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// Release groups the release targets besides the one-command release itself.
type Release mg.Namespace

// Snapshot builds everything a release would, as <next>-snapshot.<sha>, without bump, tag or remote push.
//
// Binaries, archives, SBOMs, checksums, CHANGELOG.md, the image (pushed to
// the embedded registry only) and dist/release.json. The tree may be dirty.
func (Release) Snapshot(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return s.RunRelease(ctx, true, steps())
}

// Plan prints what release would do, without side effects; JSON=1 prints JSON.
//
// The version and tag and why, every artifact, the image references and
// platforms, and which steps would run or be skipped. SNAPSHOT=1 plans
// release:snapshot instead; BUMP forces a level as it does for release.
func (Release) Plan(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return s.PrintPlan(ctx, s.Getenv("SNAPSHOT") == "1")
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

// Level runs release with an explicit bump: major, minor, patch or prerelease.
func (Release) Level(ctx context.Context, level string) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	if err := s.SetBump(level); err != nil {
		return err
	}
	return s.RunRelease(ctx, false, steps())
}

// steps are the gates a release runs, the same list as in package
// targets, whose copy is unexported so that mage lists only targets.
func steps() session.Steps {
	return session.Steps{Tidy: session.TidyCheck, Vet: targets.Go.Vet, Test: targets.Go.Test}
}
