package release

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/checksum"
	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/publish"
	"github.com/hoistdev/hoist/registry"
	"github.com/hoistdev/hoist/sign"
	"github.com/hoistdev/hoist/version"
)

// preflightStage decides the version and, for a release, refuses whatever
// would make the release fail later.
type preflightStage struct{}

func (preflightStage) Name() string               { return "preflight" }
func (preflightStage) Skip(*State) (string, bool) { return "", false }

func (s preflightStage) Plan(ctx context.Context, st *State) (string, error) {
	return s.check(ctx, st)
}

func (s preflightStage) Run(ctx context.Context, st *State) (string, error) {
	reason, err := s.check(ctx, st)
	if err == nil && st.Mode == ModeRelease && st.Decision.Release {
		st.W.Logf("release", "%s: %s", st.Decision.Tag, st.Decision.Reason)
	}
	return reason, err
}

// check is preflight, for the plan and the run alike: the run also starts
// the embedded registry once to see that it can, which a plan must not.
func (preflightStage) check(ctx context.Context, st *State) (string, error) {
	w := st.W
	if on, _ := w.signing(st.Mode); on {
		// Opening a cosign key runs scrypt, made slow on purpose (about
		// 0.2 s); it overlaps with the git and registry checks, and
		// checkSigner below waits for it.
		go func() { _, _ = w.Signer(ctx) }()
	}
	platforms, err := w.Cfg.ParsedPlatforms()
	if err != nil {
		return "", err
	}
	if st.Mode == ModeSnapshot {
		vopts, err := w.versionOptions(ctx)
		if err != nil {
			return "", err
		}
		d, err := version.Plan(ctx, w.Cfg.Dir, vopts...)
		if err != nil {
			return "", err
		}
		if err := platform.Validate(ctx, "go", platforms); err != nil {
			return "", err
		}
		if err := w.checkSigner(ctx, st.Mode); err != nil {
			return "", err
		}
		rev, err := w.headRevision(ctx)
		if err != nil {
			return "", err
		}
		st.Decision, st.Head = d, rev.Commit
		return "snapshot: decides the version only; the tree may be dirty, since nothing is committed or tagged", nil
	}
	rc := w.Cfg.Release
	prefix, _, err := w.tagPrefix(ctx)
	if err != nil {
		return "", err
	}
	d, err := Preflight(ctx, PreflightOptions{
		Dir: w.Cfg.Dir, Dist: w.Cfg.Dist, VersionFile: w.Cfg.VersionFile, Prefix: prefix, PlainTags: prefix == "",
		Paths: rc.Paths, Bump: w.Env.Bump, PreID: rc.PreID, AllowDetached: rc.AllowDetached,
		Check: func(ctx context.Context, d version.Decision) error {
			var errs []error
			if err := platform.Validate(ctx, "go", platforms); err != nil {
				errs = append(errs, err)
			}
			if !w.Cfg.Image.Skip && d.Next != nil {
				errs = append(errs, checkTags(w.ImageTags(d.Next)))
			}
			if d.Release {
				errs = append(errs, w.checkForge(ctx, d.Tag))
			}
			return errors.Join(errs...)
		},
		CheckRegistry: func(ctx context.Context) error {
			if w.Cfg.Image.Skip || (st.planning && len(w.Repositories()) == 0) {
				return nil
			}
			return w.CheckRegistries(ctx)
		},
	})
	// The key last: its scrypt ran while the checks above did.
	if d.Release {
		if kerr := w.checkSigner(ctx, st.Mode); kerr != nil {
			var pe *PreflightError
			if errors.As(err, &pe) {
				pe.Problems = append(pe.Problems, kerr)
			} else if err == nil {
				err = &PreflightError{Problems: []error{kerr}}
			}
		}
	}
	st.Decision = d
	if err != nil {
		return "", err
	}
	rev, err := project.GitRevision(ctx, w.Cfg.Dir)
	if err != nil {
		return "", err
	}
	st.Head = rev.Commit
	if on, _ := w.signing(st.Mode); on {
		return "checks the git identity, a clean tree, the branch, a full clone, the platforms, VERSION, the tags, the signing key and the registries, before anything is built", nil
	}
	return "checks the git identity, a clean tree, the branch, a full clone, the platforms, VERSION, the tags and the registries, before anything is built", nil
}

// versionOptions are the version decision's settings.
func (w *Workspace) versionOptions(ctx context.Context) ([]version.Option, error) {
	prefix, _, err := w.tagPrefix(ctx)
	if err != nil {
		return nil, err
	}
	rc := w.Cfg.Release
	opts := []version.Option{version.WithVersionFile(w.Cfg.VersionFile), version.WithBump(w.Env.Bump), version.WithPrefix(prefix)}
	if len(rc.Paths) > 0 {
		opts = append(opts, version.WithPaths(rc.Paths...))
	}
	return opts, nil
}

// gateStage is one of the quality gates, run by the mage layer's targets.
type gateStage struct{ name string }

func (g gateStage) Name() string { return g.name }

func (g gateStage) Skip(st *State) (string, bool) {
	if reason, skip := st.nothing(); skip {
		return reason, true
	}
	if st.Mode == ModeSnapshot && !st.W.Env.SnapshotChecks {
		return "snapshots skip the gates; HOIST_SNAPSHOT_CHECKS=1 runs them", true
	}
	if g.name == "vuln" && st.W.Cfg.Vuln.Off {
		return "skipped on purpose: HOIST_VULN=off (Vuln.Off)", true
	}
	return "", false
}

func (g gateStage) Plan(ctx context.Context, st *State) (string, error) {
	switch g.name {
	case "tidy":
		return "go.mod and go.sum must already be tidy (go mod tidy -diff, go mod verify)", nil
	case "vet":
		return "go vet ./...", nil
	case "vuln":
		return st.W.vulnPlan(), nil
	}
	_, gate := st.W.CoverageGate(ctx)
	return "go test over every package; " + gate, nil
}

func (g gateStage) Run(ctx context.Context, st *State) (string, error) {
	reason, _ := g.Plan(ctx, st)
	fn := map[string]func(context.Context) error{"tidy": st.Gates.Tidy, "vet": st.Gates.Vet, "test": st.Gates.Test, "vuln": st.Gates.Vuln}[g.name]
	if fn == nil {
		return reason, fmt.Errorf("the %s gate was not given to the pipeline", g.name)
	}
	return reason, st.W.timeGate(g.name, reason, func() error { return fn(ctx) })
}

// timeGate runs a gate between a line that says what it checks and one
// that says how it ended and how long it took, so that a long gate is
// never silent about what is going on.
func (w *Workspace) timeGate(name, what string, fn func() error) error {
	w.Logf(name, "checking: %s", what)
	start := time.Now()
	err := fn()
	d := time.Since(start).Round(time.Millisecond)
	if err != nil {
		w.Logf(name, "failed after %s", d)
		return err
	}
	w.Logf(name, "passed in %s", d)
	return nil
}

// versionStage settles what the build is stamped with: for a release the
// release commit, written off the branch; for a snapshot HEAD.
type versionStage struct{}

func (versionStage) Name() string                  { return "version" }
func (versionStage) Skip(st *State) (string, bool) { return st.nothing() }
func (v versionStage) Plan(ctx context.Context, st *State) (string, error) {
	return v.settle(ctx, st, nil)
}

func (v versionStage) Run(ctx context.Context, st *State) (string, error) {
	if st.Mode == ModeSnapshot {
		reason, err := v.settle(ctx, st, nil)
		if err == nil {
			st.W.Logf("release:snapshot", "snapshot version %s", st.Stamp.Version)
		}
		return reason, err
	}
	txn, err := Begin(ctx, st.W.Cfg.Dir, st.W.Cfg.VersionFile)
	if err != nil {
		return "", err
	}
	if txn.Head() != st.Head {
		return "", fmt.Errorf("HEAD moved from %s to %s while the release ran its checks: run release again, so the version and changelog cover the new commits", short(st.Head), short(txn.Head()))
	}
	reason, err := v.settle(ctx, st, txn)
	if err != nil {
		return "", err
	}
	st.txn = txn
	d := st.Decision
	if !d.Next.Equal(d.Current) {
		st.W.Logf("release", "VERSION %s -> %s in release commit %s (not on the branch until the tag stage)", d.Current, d.Next, shortHash12(st.Stamp.Rev.Commit))
	}
	return reason, startJournal(ctx, st)
}

// settle computes the stamp: with txn it prepares the release commit, and
// without one (a plan) it computes the same commit without writing it.
func (versionStage) settle(ctx context.Context, st *State, txn *Txn) (string, error) {
	w, d := st.W, st.Decision
	if st.Mode == ModeSnapshot {
		rev, err := w.headRevision(ctx)
		if err != nil {
			return "", err
		}
		v, err := SnapshotVersion(d, rev.Short)
		if err != nil {
			return "", err
		}
		st.Stamp = Stamp{Version: v, Rev: rev}
		return fmt.Sprintf("snapshot: VERSION stays %s; the build is called %s", d.Current, v), nil
	}
	var commit string
	var when time.Time
	var err error
	if txn != nil {
		commit, when, err = txn.Prepare(ctx, d.Next, d.Tag, w.Env.SourceDate)
	} else {
		commit, when, err = PlanCommit(ctx, w.Cfg.Dir, w.Cfg.VersionFile, d.Next, d.Tag, w.Env.SourceDate)
	}
	if err != nil {
		return "", err
	}
	if !w.Env.SourceDate.IsZero() {
		when = w.Env.SourceDate
	}
	st.Stamp = Stamp{Version: d.Next, Rev: project.Revision{Commit: commit, Short: short7(commit), Time: when}}
	if d.Next.Equal(d.Current) {
		return fmt.Sprintf("VERSION already holds %s, which no tag has yet: released as is, from HEAD %s", d.Current, shortHash12(commit)), nil
	}
	return fmt.Sprintf("VERSION %s -> %s (%s) in release commit %s, which stays off the branch until the tag stage", d.Current, d.Next, d.Level, shortHash12(commit)), nil
}

func short7(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}

func shortHash12(h string) string { return short(h) }

// buildStage compiles the matrix once, stamped with the release.
type buildStage struct{}

func (buildStage) Name() string                  { return "build" }
func (buildStage) Skip(st *State) (string, bool) { return st.nothing() }

func (buildStage) Plan(ctx context.Context, st *State) (string, error) {
	results, err := st.W.build(ctx, st.Stamp, true)
	if err != nil {
		return "", err
	}
	st.Built = results
	_, line := buildSummary(results)
	return line, nil
}

func (buildStage) Run(ctx context.Context, st *State) (string, error) {
	// New binaries make a new image, which a snapshot pushes to the
	// embedded registry: start it as soon as the first binary is to be
	// compiled or restored, so that its start-up (a compile of
	// hoist-registry on a cold machine) overlaps the build, packages and
	// image. Only a snapshot does this: a release with a registry
	// configured never starts the embedded one.
	if _, skip := imageSkip(st); !skip && st.Mode == ModeSnapshot {
		st.W.onBuildWork = func() { st.W.startEmbeddedEarly(ctx) }
		defer func() { st.W.onBuildWork = nil }()
	}
	results, err := st.W.BuildBinaries(ctx, st.Stamp)
	if err != nil {
		return "", err
	}
	st.Built = results
	_, line := buildSummary(results)
	return line, nil
}

// builtArtifacts are the binaries of st's build as the artifact list
// records them.
func (st *State) builtArtifacts() []artifact.Artifact {
	out := make([]artifact.Artifact, len(st.Built))
	for i, r := range st.Built {
		out[i] = r.Artifact(st.W.Cfg.Dir)
	}
	return out
}

// packageStage writes the archives, SBOMs and checksums.txt.
type packageStage struct{}

func (packageStage) Name() string                  { return "package" }
func (packageStage) Skip(st *State) (string, bool) { return st.nothing() }

const packWhat = "archives, SBOMs and " + ChecksumsFile

func (packageStage) Plan(ctx context.Context, st *State) (string, error) {
	if compiled, _ := st.compiled(); compiled {
		return packWhat + " to write: the binaries change", nil
	}
	res, err := Package(ctx, st.W.packageOptions(st.Stamp, st.builtArtifacts(), true))
	if err != nil {
		return "", err
	}
	return packReason(res), nil
}

func (packageStage) Run(ctx context.Context, st *State) (string, error) {
	res, err := st.W.Pack(ctx, st.Stamp)
	if err != nil {
		return "", err
	}
	if compiled, _ := st.compiled(); compiled {
		return packWhat + " to write: the binaries change", nil
	}
	return packReason(res), nil
}

func packReason(res *PackageResult) string {
	if res.Skipped {
		return packWhat + " up to date"
	}
	return packWhat + " to write: " + res.Reason
}

// changelogStage writes dist/CHANGELOG.md, the notes of the release.
type changelogStage struct{}

func (changelogStage) Name() string                  { return "changelog" }
func (changelogStage) Skip(st *State) (string, bool) { return st.nothing() }

func (changelogStage) Plan(_ context.Context, st *State) (string, error) {
	d := st.Decision
	since := d.PreviousTag
	if since == "" {
		since = "the first commit"
	}
	return fmt.Sprintf("%s since %s into %s", count(len(d.Commits), "commit", "commits"), since, distPath(st.W, "CHANGELOG.md")), nil
}

func (c changelogStage) Run(ctx context.Context, st *State) (string, error) {
	reason, _ := c.Plan(ctx, st)
	w, d := st.W, st.Decision
	if st.Mode == ModeSnapshot {
		d.Tag, d.Next = "", st.Stamp.Version
	}
	file := w.Dist("CHANGELOG.md")
	if err := WriteChangelog(ctx, file, d, st.Stamp.Rev.Time); err != nil {
		return "", err
	}
	sum, size, err := checksum.SHA256File(ctx, file)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", file, err)
	}
	w.Arts.Replace(artifact.Changelog, artifact.Artifact{Type: artifact.Changelog, Name: "CHANGELOG.md", Path: w.Rel(file), Digest: "sha256:" + sum, Size: size})
	return reason, w.SaveArtifacts()
}

// distPath is a dist path as plans and reasons show it.
func distPath(w *Workspace, elem ...string) string { return w.Rel(w.Dist(elem...)) }

// publishesImage reports whether a release of this configuration pushes
// an image: one is not skipped and some platform is linux.
func (w *Workspace) publishesImage() bool {
	if w.Cfg.Image.Skip {
		return false
	}
	platforms, err := w.Cfg.ParsedPlatforms()
	return err != nil || slices.ContainsFunc(platforms, func(p platform.Platform) bool { return p.OS == "linux" })
}

// imageSkip is the skip rule the image, push and image tags stages share.
func imageSkip(st *State) (string, bool) {
	if reason, skip := st.nothing(); skip {
		return reason, true
	}
	if st.W.Cfg.Image.Skip {
		return "Image.Skip is set", true
	}
	platforms, err := st.W.Cfg.ParsedPlatforms()
	if err == nil && !slices.ContainsFunc(platforms, func(p platform.Platform) bool { return p.OS == "linux" }) {
		return "no linux platform is built, and images run linux binaries", true
	}
	return "", false
}

// imageStage builds the OCI index from the binaries just built.
type imageStage struct{}

func (imageStage) Name() string                  { return "image" }
func (imageStage) Skip(st *State) (string, bool) { return imageSkip(st) }

func (s imageStage) what(st *State) string {
	var plats []string
	for _, r := range st.Built {
		if p := r.Platform.String(); r.Platform.OS == "linux" && !slices.Contains(plats, p) {
			plats = append(plats, p)
		}
	}
	return fmt.Sprintf("%s index for %s into %s", st.W.VersionTag(st.Stamp.Version), strings.Join(plats, ", "), distPath(st.W, "image"))
}

func (s imageStage) Plan(ctx context.Context, st *State) (string, error) {
	if _, linux := st.compiled(); linux {
		return s.what(st) + ": the binaries change", nil
	}
	w := st.W
	bins, cfg, err := w.imageInputs("image:build", st.Stamp, st.builtArtifacts(), true)
	if err != nil {
		return "", err
	}
	lay, err := image.BuildLayout(ctx, bins, cfg, w.imageLayout(st.Stamp, true))
	if err != nil {
		return "", err
	}
	st.Digest = lay.Digest
	return s.imageReason(st, lay.Skipped, lay.Reason), nil
}

func (s imageStage) Run(ctx context.Context, st *State) (string, error) {
	out, err := st.W.BuildImage(ctx, "image:build", st.Stamp)
	if err != nil {
		return "", err
	}
	st.Digest = out.Digest
	if _, linux := st.compiled(); linux {
		return s.what(st) + ": the binaries change", nil
	}
	return s.imageReason(st, out.Skipped, out.Reason), nil
}

func (s imageStage) imageReason(st *State, skipped bool, why string) string {
	if skipped {
		return s.what(st) + ": " + why
	}
	return s.what(st) + ": to build, " + why
}

// pushStage sends the image by digest: nothing anyone pulls by name moves.
// A snapshot goes to the embedded registry only, with its snapshot tag.
type pushStage struct{}

func (pushStage) Name() string                  { return "push" }
func (pushStage) Skip(st *State) (string, bool) { return imageSkip(st) }

func (pushStage) Plan(ctx context.Context, st *State) (string, error) {
	w := st.W
	st.Tags = w.ImageTags(st.Stamp.Version)
	repos := w.Repositories()
	if st.Mode == ModeRelease && len(repos) > 0 {
		st.Repos = repos
		return fmt.Sprintf("the index and the blobs missing there, by digest, to %s; no tag moves yet", strings.Join(repos, ", ")), nil
	}
	st.Repos = []string{w.embeddedHost(ctx) + "/" + w.ImageName()}
	where := w.embeddedWhere(ctx)
	if st.Mode == ModeSnapshot {
		return fmt.Sprintf("snapshot: remote registries are left alone; the embedded registry (%s) receives %s:%s", where, st.Repos[0], st.Tags[0]), nil
	}
	return fmt.Sprintf("no registry configured: the embedded registry (%s) receives the index and its blobs by digest; no tag moves yet", where), nil
}

func (s pushStage) Run(ctx context.Context, st *State) (string, error) {
	reason, err := s.Plan(ctx, st)
	if err != nil {
		return "", err
	}
	w := st.W
	if st.Mode == ModeSnapshot {
		// A snapshot's one tag moves inside pushImage, so its signatures
		// attach there, before the tag, as in image:push.
		var attach func(*pushed) error
		if on, _ := w.signing(st.Mode); on {
			signer, err := w.Signer(ctx)
			if err != nil {
				return "", err
			}
			// Not kept for an undo: the snapshot's tag moves right after,
			// and a signature is not taken back from a tagged image.
			attach = func(p *pushed) error {
				_, err := w.attachOrUndo(ctx, "image:push", signer, st.Stamp, p)
				return err
			}
		}
		p, err := w.pushImage(ctx, "image:push", st.Stamp, true, attach)
		st.push = p
		if p != nil && p.digest != "" {
			st.Digest = p.digest
		}
		return reason, err
	}
	p, err := w.pushIndex(ctx, "image:push", st.Stamp, w.Repositories())
	st.push = p
	if err != nil {
		return "", err
	}
	st.Digest = p.digest
	return reason, nil
}

// signStage writes the provenance of everything the release made and,
// with a key, signs checksums.txt and the provenance and attaches to the
// pushed image a signature, an SBOM and the provenance, all by digest:
// nothing is tagged yet, so a failure here moves no name.
type signStage struct{}

func (signStage) Name() string                  { return "sign" }
func (signStage) Skip(st *State) (string, bool) { return st.nothing() }

func (s signStage) Plan(ctx context.Context, st *State) (string, error) {
	w := st.W
	what := fmt.Sprintf("writes the SLSA provenance of every output to %s", distPath(w, ProvenanceFile))
	on, why := w.signing(st.Mode)
	if !on {
		return what + "; " + why, nil
	}
	signer, err := w.Signer(ctx)
	if err != nil {
		return "", err
	}
	st.signer = signer
	what = fmt.Sprintf("%s; signs %s and the provenance with %s", what, ChecksumsFile, signer)
	if _, skip := imageSkip(st); skip || len(st.Repos) == 0 {
		return what, nil
	}
	plats := 0
	if ps, err := w.Cfg.ParsedPlatforms(); err == nil {
		for _, p := range ps {
			if p.OS == "linux" {
				plats++
			}
		}
	}
	attaches := "attaches"
	if st.Mode == ModeSnapshot {
		attaches = "the push stage attached"
	}
	return fmt.Sprintf("%s; %s a signature, an SPDX SBOM and the provenance to the index and %s in %s, as OCI 1.1 referrers",
		what, attaches, count(plats, "platform image", "platform images"), strings.Join(st.Repos, ", ")), nil
}

func (s signStage) Run(ctx context.Context, st *State) (string, error) {
	reason, err := s.Plan(ctx, st)
	if err != nil {
		return "", err
	}
	w := st.W
	var signer sign.Signer
	if on, _ := w.signing(st.Mode); on {
		if signer, err = w.Signer(ctx); err != nil {
			return "", err
		}
	}
	switch {
	case st.Mode == ModeSnapshot:
		// The push stage attached (or not) before the snapshot tag moved.
	case signer != nil && st.push != nil:
		if _, skip := imageSkip(st); !skip {
			st.attached, err = w.attachImage(ctx, "release", signer, st.Stamp, st.push)
			if err != nil {
				return "", err
			}
		}
	default:
		// Nothing attached this time: release.json must not list the
		// referrers of an earlier run.
		w.Arts.Replace(artifact.Referrer)
	}
	var repos []string
	if _, skip := imageSkip(st); !skip {
		repos = st.Repos
	}
	tag := ""
	if st.Mode == ModeRelease {
		tag = st.Decision.Tag
	}
	return reason, w.signFiles(ctx, signer, st.Stamp, tag, repos, st.Digest)
}

func (signStage) Undo(ctx context.Context, st *State) error {
	if len(st.attached) == 0 {
		return nil
	}
	// Bounded: a run cut short by a signal has seconds left; the journal
	// records the attachments, so the next release finishes the undo.
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	opts := append(st.W.publishOptions("release"), publish.WithRetry(1, time.Second, time.Second))
	if err := publish.Detach(tctx, st.attached, opts...); err != nil {
		return fmt.Errorf("remove the signatures and attestations attached: %w", err)
	}
	st.attached = nil
	return nil
}

// embeddedWhere says which embedded registry a push reaches: the one
// already serving the data directory, or one started for the push.
func (w *Workspace) embeddedWhere(ctx context.Context) string {
	if data, err := w.EmbeddedDataDir(); err == nil && !w.ownEarly() {
		if host, pid, ok := registry.Running(ctx, data); ok {
			return fmt.Sprintf("already serving at %s, pid %d", host, pid)
		}
	}
	return fmt.Sprintf("started for the push; registry:serve serves it at %s", w.Cfg.Publish.EmbeddedAddr)
}

// tagStage moves the branch to the release commit and tags it, once every
// artifact exists and every push succeeded.
type tagStage struct{}

func (tagStage) Name() string { return "tag" }

func (tagStage) Skip(st *State) (string, bool) {
	if reason, skip := st.nothing(); skip {
		return reason, true
	}
	if st.Mode == ModeSnapshot {
		return "snapshots are not tagged", true
	}
	return "", false
}

func (tagStage) Plan(_ context.Context, st *State) (string, error) {
	d := st.Decision
	if d.Next != nil && d.Current != nil && d.Next.Equal(d.Current) {
		return fmt.Sprintf("creates the annotated tag %s on HEAD, once every push succeeded", d.Tag), nil
	}
	return fmt.Sprintf("moves the branch to the release commit and creates the annotated tag %s, once every push succeeded", d.Tag), nil
}

func (s tagStage) Run(ctx context.Context, st *State) (string, error) {
	reason, _ := s.Plan(ctx, st)
	if st.txn == nil {
		return "", errors.New("no release transaction: the version stage did not run")
	}
	if err := st.journal.setPhase(st, phaseFinishing); err != nil {
		return "", err
	}
	msg := st.tagMessage
	if msg == "" {
		msg = version.TagMessage(st.Decision.Tag, st.Decision.Commits)
	}
	// The coverage the tests measured at the commit released, for the
	// next release's ratchet.
	if st.tagMessage = st.W.withCoverage(msg, st.Head); st.tagMessage != msg {
		msg = st.tagMessage
		if err := st.journal.save(st); err != nil {
			return "", err
		}
	}
	commit, err := st.txn.Finish(ctx, st.Decision.Tag, msg)
	if err != nil {
		return "", err
	}
	st.W.Logf("release", "tagged %s at %s", st.Decision.Tag, commit)
	return reason, nil
}

func (tagStage) Undo(ctx context.Context, st *State) error {
	if st.txn == nil {
		return nil
	}
	return st.txn.Rollback(ctx)
}

// imageTagsStage points the registry tags at the pushed index, once the git
// tag exists.
type imageTagsStage struct{}

func (imageTagsStage) Name() string { return "image tags" }

func (imageTagsStage) Skip(st *State) (string, bool) {
	if reason, skip := imageSkip(st); skip {
		return reason, true
	}
	if st.Mode == ModeSnapshot {
		return "snapshot: the push gave it its one tag", true
	}
	return "", false
}

func (imageTagsStage) Plan(_ context.Context, st *State) (string, error) {
	return fmt.Sprintf("points %s at the pushed index in %s, the version tag last, once the git tag exists", strings.Join(st.Tags, ", "), strings.Join(st.Repos, ", ")), nil
}

func (s imageTagsStage) Run(ctx context.Context, st *State) (string, error) {
	reason, _ := s.Plan(ctx, st)
	if st.push == nil {
		return "", errors.New("no push to tag: the push stage did not run")
	}
	states, err := st.W.tagPushed(ctx, "image:push", st.push, st.Tags, func(ts publish.TagState) error {
		killpoint("image tags: before " + ts.Tag)
		st.tagged = append(st.tagged, ts)
		return st.journal.save(st)
	})
	if err != nil {
		st.tagged = nil // TagAll put back what it moved
		return "", err
	}
	st.tagged = states
	return reason, nil
}

func (imageTagsStage) Undo(ctx context.Context, st *State) error {
	if len(st.tagged) == 0 {
		return nil
	}
	tctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	opts := append(st.W.publishOptions("image:push"), publish.WithRetry(1, time.Second, time.Second))
	if err := publish.Untag(tctx, st.tagged, opts...); err != nil {
		return fmt.Errorf("put the registry tags back: %w", err)
	}
	st.tagged = nil
	return nil
}

// manifestStage records the release in dist/release.json.
type manifestStage struct{}

func (manifestStage) Name() string                  { return "manifest" }
func (manifestStage) Skip(st *State) (string, bool) { return st.nothing() }

func (manifestStage) Plan(_ context.Context, st *State) (string, error) {
	return "records every artifact, image digest and stage time in " + distPath(st.W, ManifestFile), nil
}

func (s manifestStage) Run(ctx context.Context, st *State) (string, error) {
	reason, _ := s.Plan(ctx, st)
	w := st.W
	m := &Manifest{
		Version: st.Stamp.Version.String(), PreviousTag: st.Decision.PreviousTag, Commit: st.Stamp.Rev.Commit,
		Date: st.Stamp.Rev.Time, Snapshot: st.Mode == ModeSnapshot, Stages: st.rec.Stages(),
	}
	if last := len(m.Stages) - 1; last >= 0 && m.Stages[last].Name == s.Name() {
		m.Stages[last].Status, m.Stages[last].Reason, m.Stages[last].Error = StatusOK, reason, ""
	}
	if st.Mode == ModeRelease {
		m.Tag = st.Decision.Tag
	}
	m.ForgeRelease = st.forgeURL
	for _, a := range w.Arts.All() {
		switch a.Type {
		case artifact.ImagePush:
			m.Images = append(m.Images, ImageRef{Ref: a.Name, Digest: a.Digest})
			continue
		case artifact.Referrer:
			m.Referrers = append(m.Referrers, ReferrerRef{Ref: a.Name, Kind: a.Extra["kind"], Subject: a.Extra["subject"], Platform: a.Platform})
			continue
		}
		m.AddArtifacts(a)
	}
	file := w.Dist(ManifestFile)
	if err := m.WriteManifest(ctx, file); err != nil {
		return "", err
	}
	if err := st.journal.remove(); err != nil {
		return "", err
	}
	st.journal = nil
	var total time.Duration
	for _, s := range m.Stages {
		total += time.Duration(s.DurationMS) * time.Millisecond
	}
	w.Logf(st.Mode.String(), "%s done in %s; manifest %s", m.Version, total.Round(time.Millisecond), w.Rel(file))
	return reason, nil
}
