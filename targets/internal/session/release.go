package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/publish"
	"github.com/hoistdev/hoist/release"
	"github.com/hoistdev/hoist/version"
)

// Steps are the gate targets a release runs as mage dependencies: the same
// functions as go:tidy (check mode), go:vet and go:test, so a gate that
// already ran in the process is not run twice. The targets package fills
// it in, since this package cannot import it. The fields are any because
// mage takes both functions and namespace method expressions.
type Steps struct {
	Tidy, Vet, Test any
}

// run is the state of one release or snapshot in this process.
type run struct {
	head     string // HEAD when preflight decided the version
	snapshot bool
	decision version.Decision
	txn      *release.Txn
	rec      *release.Recorder
	push     *pushed
	tagged   []publish.TagState
}

// RunRelease runs the release pipeline, each step a mage dependency that
// runs once: preflight, tidy check, vet, test, version, build, package,
// image, push by digest, the git commit and tag, the registry tags, and
// finally dist/release.json.
//
// Nothing changes in the repository until every artifact is built and
// pushed: the version step writes the release commit to git's object store
// without moving any ref, the build stamps that commit, and the tag step
// moves the branch to it and tags it. Registry tags move only after the git
// tag exists. Any failure puts back the branch, VERSION, the git tag and
// every registry tag moved so far.
//
// A snapshot skips the bump, the commit, the tag and any remote push (and
// the tidy, vet and test gates unless HOIST_SNAPSHOT_CHECKS=1): it builds
// <next>-snapshot.<sha> and pushes only to the embedded registry.
func (s *Session) RunRelease(ctx context.Context, snapshot bool, steps Steps) (err error) {
	name := "release"
	if snapshot {
		name = "release:snapshot"
	}
	r := &run{snapshot: snapshot, rec: release.NewRecorder()}
	s.mu.Lock()
	s.run = r
	s.mu.Unlock()
	defer func() {
		if r.push != nil && r.push.emb != nil {
			_ = r.push.emb.Stop(context.WithoutCancel(ctx))
		}
	}()
	defer func() {
		p := recover()
		if p == nil && err == nil {
			return
		}
		s.rollback(ctx, name, r)
		if p != nil {
			panic(p)
		}
	}()

	s.step(ctx, r, "preflight", preflightStep)
	if !r.decision.Release && !snapshot {
		s.Logf(name, "nothing to release: %s", r.decision.Reason)
		return nil
	}
	if !snapshot || s.Getenv("HOIST_SNAPSHOT_CHECKS") == "1" {
		s.step(ctx, r, "tidy", steps.Tidy)
		s.step(ctx, r, "vet", steps.Vet)
		s.step(ctx, r, "test", steps.Test)
	} else {
		for _, gate := range []string{"tidy", "vet", "test"} {
			r.rec.Skip(gate, "snapshots skip the gates; HOIST_SNAPSHOT_CHECKS=1 runs them")
		}
	}
	s.step(ctx, r, "version", bumpStep)
	s.step(ctx, r, "build", buildStep)
	s.step(ctx, r, "package", packageStep)
	if s.Cfg.Image.Skip {
		r.rec.Skip("image", "Image.Skip is set")
		r.rec.Skip("push", "Image.Skip is set")
		for _, t := range []artifact.Type{artifact.Image, artifact.ImageIndex, artifact.ImagePush} {
			s.Arts.Replace(t)
		}
	} else {
		s.step(ctx, r, "image", imageStep)
		s.step(ctx, r, "push", pushStep)
	}
	if snapshot {
		r.rec.Skip("tag", "snapshots are not tagged")
	} else {
		s.step(ctx, r, "tag", tagStep)
		if !s.Cfg.Image.Skip {
			s.step(ctx, r, "image tags", imageTagStep)
		}
	}
	return s.writeManifest(ctx, name, r)
}

// rollback undoes a failed release: git first, since it takes
// milliseconds and mage gives an interrupted run only seconds, then the
// registry tags, within a bounded time.
func (s *Session) rollback(ctx context.Context, name string, r *run) {
	ctx = context.WithoutCancel(ctx)
	if r.txn != nil {
		if err := r.txn.Rollback(ctx); err != nil {
			s.Logf(name, "ROLLBACK FAILED: %v", err)
		} else {
			s.Logf(name, "failed: the branch, VERSION and the git tag are back as they were")
		}
	}
	if len(r.tagged) > 0 {
		tctx, cancel := context.WithTimeout(ctx, 4*time.Second)
		defer cancel()
		if err := publish.Untag(tctx, r.tagged, append(s.publishOptions(name), publish.WithRetry(1, time.Second, time.Second))...); err != nil {
			s.Logf(name, "ROLLBACK of registry tags incomplete: %v", err)
		} else {
			s.Logf(name, "registry tags put back")
		}
	}
}

// afterStep, when set by a test, runs after each successful step and can
// fail it, so tests can fail a release after a step's side effects.
var afterStep func(name string) error

// step runs one pipeline step as a mage dependency and records its time
// and outcome for release.json.
func (s *Session) step(ctx context.Context, r *run, name string, fn any) {
	done := r.rec.Stage(name)
	defer func() {
		if p := recover(); p != nil {
			done(fmt.Errorf("%v", p))
			panic(p)
		}
	}()
	mg.CtxDeps(ctx, fn)
	if afterStep != nil {
		if err := afterStep(name); err != nil {
			panic(mg.Fatal(1, err.Error()))
		}
	}
	done(nil)
}

// loadRun returns the session and the release in progress, for the step
// functions, which mage calls without arguments.
func loadRun() (*Session, *run, error) {
	s, err := Load()
	if err != nil {
		return nil, nil, err
	}
	r, err := s.current()
	return s, r, err
}

func (s *Session) current() (*run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run == nil {
		return nil, errors.New("this step only runs inside release or release:snapshot")
	}
	return s.run, nil
}

// preflightStep decides the version and, for a release, refuses a dirty
// tree, a detached HEAD, an existing tag, a bad VERSION, a missing git
// identity and an unreachable registry, before anything is built.
func preflightStep(ctx context.Context) error {
	s, r, err := loadRun()
	if err != nil {
		return err
	}
	bump, err := version.ParseLevel(s.Getenv("BUMP"))
	if err != nil {
		return fmt.Errorf("BUMP: %w", err)
	}
	rc := s.Cfg.Release
	if r.snapshot {
		opts := []version.Option{version.WithVersionFile(s.Cfg.VersionFile), version.WithBump(bump)}
		if rc.TagPrefix != "" {
			opts = append(opts, version.WithPrefix(rc.TagPrefix))
		}
		if len(rc.Paths) > 0 {
			opts = append(opts, version.WithPaths(rc.Paths...))
		}
		r.decision, err = version.Plan(ctx, s.Cfg.Dir, opts...)
		return err
	}
	r.decision, err = release.Preflight(ctx, release.PreflightOptions{
		Dir: s.Cfg.Dir, Dist: s.Cfg.Dist, VersionFile: s.Cfg.VersionFile, Prefix: rc.TagPrefix,
		Paths: rc.Paths, Bump: bump, PreID: rc.PreID,
		AllowDetached: rc.AllowDetached || s.Getenv("HOIST_ALLOW_DETACHED") == "1",
		CheckRegistry: func(ctx context.Context) error {
			if s.Cfg.Image.Skip {
				return nil
			}
			return s.CheckRegistries(ctx)
		},
	})
	if err != nil {
		return err
	}
	if r.decision.Release {
		s.Logf("release", "%s: %s", r.decision.Tag, r.decision.Reason)
	}
	rev, err := project.GitRevision(ctx, s.Cfg.Dir)
	if err != nil {
		return err
	}
	r.head = rev.Commit
	return nil
}

// bumpStep writes the next version to VERSION inside the transaction, or
// sets the snapshot version for this run only.
func bumpStep(ctx context.Context) error {
	s, r, err := loadRun()
	if err != nil {
		return err
	}
	if r.snapshot {
		rev, err := s.Revision(ctx)
		if err != nil {
			return err
		}
		v, err := release.SnapshotVersion(r.decision, rev.Short)
		if err != nil {
			return err
		}
		s.SetVersion(v)
		s.Logf("release:snapshot", "snapshot version %s", v)
		return nil
	}
	if r.txn, err = release.Begin(ctx, s.Cfg.Dir, s.Cfg.VersionFile); err != nil {
		return err
	}
	if r.txn.Head() != r.head {
		return fmt.Errorf("HEAD moved from %s to %s while the release ran its checks: run release again, so the version and changelog cover the new commits", short(r.head), short(r.txn.Head()))
	}
	var when time.Time
	if v := s.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		if when, err = project.ParseSourceDateEpoch(v); err != nil {
			return err
		}
	}
	commit, when, err := r.txn.Prepare(ctx, r.decision.Next, r.decision.Tag, when)
	if err != nil {
		return err
	}
	s.SetVersion(r.decision.Next)
	s.SetRevision(project.Revision{Commit: commit, Short: commit[:7], Time: when})
	if !r.decision.Next.Equal(r.decision.Current) {
		s.Logf("release", "VERSION %s -> %s in release commit %s (not on the branch until the end)", r.decision.Current, r.decision.Next, commit[:12])
	}
	return nil
}

// buildStep compiles the binaries with the release's version and commit.
// It is the release's own function, not go:build, so that a go:build that
// already ran in this process with the old version cannot stand in for it.
func buildStep(ctx context.Context) error {
	s, err := Load()
	if err != nil {
		return err
	}
	return s.BuildBinaries(ctx)
}

// imageStep builds the image from the release's binaries.
func imageStep(ctx context.Context) error {
	s, err := Load()
	if err != nil {
		return err
	}
	_, err = s.BuildImage(ctx, "image:build")
	return err
}

// pushStep pushes the image: for a release by digest only, tags come after
// the git tag; for a snapshot with its tag, to the embedded registry.
func pushStep(ctx context.Context) error {
	s, r, err := loadRun()
	if err != nil {
		return err
	}
	if r.snapshot {
		_, err := s.PushImage(ctx, "image:push")
		return err
	}
	r.push, err = s.pushIndex(ctx, "image:push", s.Repositories(), nil)
	return err
}

// imageTagStep moves the registry tags once the git tag exists.
func imageTagStep(ctx context.Context) error {
	s, r, err := loadRun()
	if err != nil {
		return err
	}
	if r.push == nil {
		return errors.New("no push to tag: the push step did not run")
	}
	v, err := s.Version()
	if err != nil {
		return err
	}
	r.tagged, err = s.tagPushed(ctx, "image:push", r.push, s.ImageTags(v))
	return err
}

// packageStep writes the archives, SBOMs, checksums.txt and CHANGELOG.md.
func packageStep(ctx context.Context) error {
	s, r, err := loadRun()
	if err != nil {
		return err
	}
	if err := s.Package(ctx); err != nil {
		return err
	}
	v, err := s.Version()
	if err != nil {
		return err
	}
	rev, err := s.Revision(ctx)
	if err != nil {
		return err
	}
	cl := r.decision
	if r.snapshot {
		cl.Tag, cl.Next = "", v
	}
	path := s.Dist("CHANGELOG.md")
	if err := release.WriteChangelog(path, cl, rev.Time); err != nil {
		return err
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return fmt.Errorf("hash %s: %w", path, err)
	}
	s.Arts.Replace(artifact.Changelog, artifact.Artifact{Type: artifact.Changelog, Name: "CHANGELOG.md", Path: s.Rel(path), Digest: "sha256:" + sum})
	return s.SaveArtifacts()
}

// packageOptions are the packaging settings for version.
func (s *Session) packageOptions(ctx context.Context, version string) (release.PackageOptions, error) {
	rev, err := s.Revision(ctx)
	if err != nil {
		return release.PackageOptions{}, err
	}
	return release.PackageOptions{
		Root: s.Cfg.Dir, Dist: s.Cfg.Dist, Project: s.Proj.Name, Version: version, ModTime: rev.Time,
		Binaries: s.Arts.Filter(artifact.ByType(artifact.Binary)), ExtraFiles: s.Cfg.Release.ExtraFiles,
		Force: s.Getenv("HOIST_FORCE") == "1", Log: s.Out,
	}, nil
}

// Package packs the binaries of the artifact list into archives, SBOMs and
// checksums.txt, and records them.
func (s *Session) Package(ctx context.Context) error {
	v, err := s.Version()
	if err != nil {
		return err
	}
	opts, err := s.packageOptions(ctx, v.String())
	if err != nil {
		return err
	}
	res, err := release.Package(ctx, opts)
	if err != nil {
		return err
	}
	for _, t := range []artifact.Type{artifact.Archive, artifact.SBOM, artifact.Checksums} {
		s.Arts.Replace(t, filterType(res.Artifacts, t)...)
	}
	return s.SaveArtifacts()
}

func filterType(as []artifact.Artifact, t artifact.Type) []artifact.Artifact {
	var out []artifact.Artifact
	for _, a := range as {
		if a.Type == t {
			out = append(out, a)
		}
	}
	return out
}

// tagStep commits VERSION and creates the annotated tag, the last step.
func tagStep(ctx context.Context) error {
	s, r, err := loadRun()
	if err != nil {
		return err
	}
	if r.txn == nil {
		return errors.New("no release transaction: the version step did not run")
	}
	commit, err := r.txn.Finish(ctx, r.decision.Tag, version.TagMessage(r.decision.Tag, r.decision.Commits))
	if err != nil {
		return err
	}
	s.Logf("release", "tagged %s at %s", r.decision.Tag, commit)
	return nil
}

// writeManifest records the release in dist/release.json.
func (s *Session) writeManifest(ctx context.Context, name string, r *run) error {
	if afterStep != nil {
		if err := afterStep("manifest"); err != nil {
			return err
		}
	}
	v, err := s.Version()
	if err != nil {
		return err
	}
	rev, err := s.Revision(ctx)
	if err != nil {
		return err
	}
	m := &release.Manifest{
		Version: v.String(), PreviousTag: r.decision.PreviousTag, Commit: rev.Commit,
		Date: rev.Time, Snapshot: r.snapshot, Stages: r.rec.Stages(),
	}
	if !r.snapshot {
		m.Tag = r.decision.Tag
	}
	for _, a := range s.Arts.All() {
		if a.Type == artifact.ImagePush {
			m.Images = append(m.Images, release.ImageRef{Ref: a.Name, Digest: a.Digest})
			continue
		}
		m.AddArtifacts(a)
	}
	path := s.Dist("release.json")
	if err := m.WriteManifest(path); err != nil {
		return err
	}
	var total time.Duration
	for _, st := range m.Stages {
		total += time.Duration(st.DurationMS) * time.Millisecond
	}
	s.Logf(name, "%s done in %s; manifest %s", v, total.Round(time.Millisecond), s.Rel(path))
	return nil
}

// Plan returns the dry run of a release or snapshot without side effects.
func (s *Session) Plan(ctx context.Context, snapshot bool) (*release.Plan, error) {
	bump, err := version.ParseLevel(s.Getenv("BUMP"))
	if err != nil {
		return nil, fmt.Errorf("BUMP: %w", err)
	}
	rc := s.Cfg.Release
	opts := []version.Option{version.WithVersionFile(s.Cfg.VersionFile), version.WithBump(bump)}
	if rc.TagPrefix != "" {
		opts = append(opts, version.WithPrefix(rc.TagPrefix))
	}
	if len(rc.Paths) > 0 {
		opts = append(opts, version.WithPaths(rc.Paths...))
	}
	d, err := version.Plan(ctx, s.Cfg.Dir, opts...)
	if err != nil {
		return nil, err
	}
	rev, err := s.Revision(ctx)
	if err != nil {
		return nil, err
	}
	platforms, err := s.Cfg.ParsedPlatforms()
	if err != nil {
		return nil, err
	}
	var bins []string
	for _, m := range s.Proj.Mains {
		bins = append(bins, m.Name)
	}
	regs := s.Cfg.Publish.Registries
	if snapshot {
		regs = nil
	}
	p, err := release.BuildPlan(release.PlanOptions{
		Decision: d, Snapshot: snapshot, SnapshotChecks: s.Getenv("HOIST_SNAPSHOT_CHECKS") == "1", ShortCommit: rev.Short, Project: s.Proj.Name, Dist: s.Cfg.Dist,
		Platforms: platforms, Binaries: bins,
		Image: release.ImagePlan{
			Skip: s.Cfg.Image.Skip, Name: s.ImageName(), Registries: regs, EmbeddedAddr: s.Cfg.Publish.EmbeddedAddr,
			Latest: s.Cfg.Publish.Latest, MinorTag: s.Cfg.Publish.MinorTag,
		},
	})
	if err != nil {
		return nil, err
	}
	if snapshot || d.Next.Equal(d.Current) {
		s.predict(ctx, p, rev)
	} else if d.Release {
		setStep(p, "build", true, "%s: the new version and the release commit change every binary", stepReason(p, "build"))
	}
	return p, nil
}

// predict replaces the plan's "decided at run time" for the build and
// package steps with the decision itself, read from the build and package
// records without compiling or writing anything. It is used where the
// stamp is known in advance: snapshots, and a version released as is.
func (s *Session) predict(ctx context.Context, p *release.Plan, rev project.Revision) {
	results, err := s.build(ctx, p.Version, rev, true)
	if err != nil {
		setStep(p, "build", true, "%s; whether each binary is current could not be told: %v", stepReason(p, "build"), err)
		return
	}
	var stale []string
	for _, r := range results {
		if !r.Skipped {
			stale = append(stale, fmt.Sprintf("%s %s (%s)", r.Name, r.Platform, r.Reason))
		}
	}
	if len(stale) > 0 {
		setStep(p, "build", true, "%d of %d binaries to compile: %s", len(stale), len(results), strings.Join(stale, "; "))
		return // the binaries change, so everything after them is redone
	}
	setStep(p, "build", false, "all %d binaries up to date: sources, flags, stamp and Go unchanged", len(results))
	rel, err := s.packageOptions(ctx, p.Version)
	if err != nil {
		return
	}
	rel.DryRun, rel.Log = true, io.Discard
	res, err := release.Package(ctx, rel)
	switch {
	case err != nil:
		setStep(p, "package", true, "%s; whether the archives are current could not be told: %v", stepReason(p, "package"), err)
	case res.Skipped:
		setStep(p, "package", false, "archives, SBOMs and checksums.txt up to date")
	default:
		setStep(p, "package", true, "archives, SBOMs and checksums.txt to write: %s", res.Reason)
	}
}

func setStep(p *release.Plan, name string, run bool, format string, args ...any) {
	for i := range p.Steps {
		if p.Steps[i].Name == name {
			p.Steps[i].Run, p.Steps[i].Reason = run, fmt.Sprintf(format, args...)
		}
	}
}

func stepReason(p *release.Plan, name string) string {
	for _, st := range p.Steps {
		if st.Name == name {
			return st.Reason
		}
	}
	return ""
}

// PrintPlan writes the plan as text, or as JSON when JSON=1.
func (s *Session) PrintPlan(ctx context.Context, snapshot bool) error {
	p, err := s.Plan(ctx, snapshot)
	if err != nil {
		return err
	}
	if s.Getenv("JSON") == "1" || s.Getenv("HOIST_JSON") == "1" {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	return p.WriteText(s.Out)
}

// Verify builds HEAD twice in clean clones and fails if any binary,
// archive, SBOM, checksums file or the image index differs.
func (s *Session) Verify(ctx context.Context) error {
	rep, err := release.Verify(ctx, release.VerifyOptions{
		Dir: s.Cfg.Dir,
		Log: s.Out,
		Build: func(ctx context.Context, dir string) (map[string]string, error) {
			c, err := NewAt(dir, s.Getenv, io.Discard)
			if err != nil {
				return nil, err
			}
			if err := c.BuildBinaries(ctx); err != nil {
				return nil, err
			}
			if err := c.Package(ctx); err != nil {
				return nil, err
			}
			digests := map[string]string{}
			for _, a := range c.Arts.Filter(artifact.ByType(artifact.Binary, artifact.Archive, artifact.SBOM, artifact.Checksums)) {
				digests[a.Path] = a.Digest
			}
			if !c.Cfg.Image.Skip {
				img, err := c.BuildImage(ctx, "release:verify")
				if err != nil {
					return nil, err
				}
				digests[c.Rel(img.Layout)+" (OCI index)"] = img.Digest
			}
			return digests, nil
		},
	})
	if rep != nil {
		if werr := rep.WriteText(s.Out); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// TidyCheck is the release's tidy step: go mod tidy in check mode, always.
func TidyCheck(ctx context.Context) error {
	s, err := Load()
	if err != nil {
		return err
	}
	return gobuild.Tidy(ctx, s.Cfg.Dir, true, s.Out)
}

// SetBump forces the bump level of this run, as BUMP does.
func (s *Session) SetBump(level string) error {
	if _, err := version.ParseLevel(level); err != nil {
		return err
	}
	get := s.Getenv
	s.Getenv = func(k string) string {
		if k == "BUMP" {
			return level
		}
		return get(k)
	}
	return nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
