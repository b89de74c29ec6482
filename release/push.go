package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/publish"
	"github.com/hoistdev/hoist/registry"
	"github.com/hoistdev/hoist/sign"
)

// ImageTag is the registry tag of version v: the version without the tag
// prefix, with "+" (build metadata, which registry tags cannot hold)
// written "_", the stand-in Helm and Docker users know.
// 1.2.3+build.5 is tagged 1.2.3_build.5.
func ImageTag(v *semver.Version) string {
	return strings.ReplaceAll(v.String(), "+", "_")
}

// Tags returns the image tags for v: always ImageTag(v), plus "MAJOR.MINOR"
// when minor and "latest" when latest, both only for versions that are not
// prereleases, so a candidate never moves a tag users pull by habit. The
// version tag comes first. A nil v has no tags.
func Tags(v *semver.Version, latest, minor bool) []string {
	if v == nil {
		return nil
	}
	tags := []string{ImageTag(v)}
	if v.Prerelease() != "" {
		return tags
	}
	if minor {
		tags = append(tags, fmt.Sprintf("%d.%d", v.Major(), v.Minor()))
	}
	if latest {
		tags = append(tags, "latest")
	}
	return tags
}

// ImageTags returns the tags version v is pushed under with this
// configuration: the version, plus MAJOR.MINOR and latest when
// configured, with Publish.TagPrefix before the version's digits; or what
// Publish.Tags returns.
func (w *Workspace) ImageTags(v *semver.Version) []string {
	if v == nil {
		return nil
	}
	pub := w.Cfg.Publish
	if pub.Tags != nil {
		return pub.Tags(v)
	}
	tags := Tags(v, pub.Latest, pub.MinorTag)
	for i, t := range tags {
		if t != "latest" {
			tags[i] = pub.TagPrefix + t
		}
	}
	return tags
}

// VersionTag is the image tag that names version v itself: the first of
// ImageTags.
func (w *Workspace) VersionTag(v *semver.Version) string {
	if tags := w.ImageTags(v); len(tags) > 0 {
		return tags[0]
	}
	return ImageTag(v)
}

// checkTags refuses tags no registry accepts, before anything is built.
func checkTags(tags []string) error {
	if len(tags) == 0 {
		return errors.New("Publish.Tags returned no image tags for this version: return at least the version's own tag")
	}
	for _, t := range tags {
		if !publish.ValidTag(t) {
			return fmt.Errorf("the version gives the image tag %q, which registries refuse (up to 128 letters, digits, '_', '.' and '-'): shorten the prerelease or build part of VERSION", t)
		}
	}
	return nil
}

// Repositories returns the configured destinations with the image name
// appended, or nil when the embedded registry is the destination.
func (w *Workspace) Repositories() []string {
	var repos []string
	for _, r := range w.Cfg.Publish.Registries {
		repos = append(repos, strings.TrimSuffix(r, "/")+"/"+w.ImageName())
	}
	return repos
}

// publishOptions are the options every registry operation uses.
func (w *Workspace) publishOptions(target string) []publish.Option {
	opts := []publish.Option{publish.WithProgress(w.Out, w.TTY && !w.Env.CI), publish.WithProgressPrefix(target + ": ")}
	if len(w.Cfg.Publish.Insecure) > 0 {
		opts = append(opts, publish.WithInsecure(w.Cfg.Publish.Insecure...))
	}
	if w.Cfg.Publish.Jobs > 0 {
		opts = append(opts, publish.WithJobs(w.Cfg.Publish.Jobs))
	}
	return opts
}

// CheckRegistries tests that every configured destination is reachable and
// accepts our credentials; with none configured it checks that the
// embedded registry can start.
func (w *Workspace) CheckRegistries(ctx context.Context) error {
	repos := w.Repositories()
	if len(repos) == 0 {
		reg, err := w.StartEmbedded(ctx)
		if err != nil {
			return err
		}
		return reg.Stop(ctx)
	}
	var errs []error
	for _, r := range repos {
		if err := publish.Check(ctx, r, w.publishOptions("preflight")...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Embedded is a handle on the embedded registry, started by this run or
// already serving the same data directory. Either way the run holds a
// lease on it until Stop, so that the run which started it waits for this
// one before stopping it.
type Embedded struct {
	// Host is the registry's host:port.
	Host  string
	proc  *registry.Process
	lease *registry.Lease
}

// served is where the registry serves once this run is over: the address
// of the instance that was already serving, or registry:serve's address
// when this run started a private one.
func (e *Embedded) served(w *Workspace) string {
	if e.proc == nil {
		return e.Host
	}
	return w.Cfg.Publish.EmbeddedAddr
}

// Stop gives the lease back and, if this run started the registry, stops
// it once no other run holds a lease.
func (e *Embedded) Stop(ctx context.Context) error {
	if e == nil {
		return nil
	}
	err := e.lease.Release()
	e.lease = nil
	if e.proc != nil {
		err = errors.Join(err, e.proc.Stop(ctx))
	}
	return err
}

// slowRegistryStart is how long the embedded registry may take to start
// before the run says why it waits.
const slowRegistryStart = 2 * time.Second

// RegistryToolRecords is where hoist keeps the path of the hoist-registry
// binary that `go tool` resolved, under cacheDir (config.Env.CacheDir), so
// that later starts skip the go command's check (registry.WithToolRecord).
func RegistryToolRecords(cacheDir string) string { return filepath.Join(cacheDir, "registry-tool") }

// SlowRegistryNote explains a slow start of the embedded registry.
const SlowRegistryNote = "still starting the embedded registry: its first use compiles hoist-registry " +
	"(go tool hoist-registry), once per hoist version; that takes about a minute on two cores"

// earlyEmbedded is an embedded registry started ahead of the push that
// will use it, so that its start-up overlaps the stages before the push.
type earlyEmbedded struct {
	done chan struct{}
	emb  *Embedded
	err  error
}

// startEmbeddedEarly starts the embedded registry in the background for a
// push later in this run. StartEmbedded takes it over; dropEarlyEmbedded
// stops it when nothing did.
func (w *Workspace) startEmbeddedEarly(ctx context.Context) {
	w.earlyMu.Lock()
	defer w.earlyMu.Unlock()
	if w.early != nil {
		return
	}
	e := &earlyEmbedded{done: make(chan struct{})}
	w.early = e
	go func() {
		defer close(e.done)
		e.emb, e.err = w.startEmbedded(ctx)
	}()
}

// takeEarlyEmbedded returns the registry startEmbeddedEarly started, or nil.
func (w *Workspace) takeEarlyEmbedded(ctx context.Context) *Embedded {
	w.earlyMu.Lock()
	e := w.early
	w.early = nil
	w.earlyMu.Unlock()
	if e == nil {
		return nil
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		go func() {
			<-e.done
			if e.emb != nil {
				_ = e.emb.Stop(context.WithoutCancel(ctx))
			}
		}()
		return nil
	}
	return e.emb // nil after a failed start, which a normal start repeats and reports
}

// ownEarly reports whether the embedded registry serving now is one this
// run started early, which the push describes as started for it, as the
// plan does.
func (w *Workspace) ownEarly() bool {
	w.earlyMu.Lock()
	e := w.early
	w.earlyMu.Unlock()
	if e == nil {
		return false
	}
	<-e.done
	return e.err == nil && e.emb != nil && e.emb.proc != nil
}

// dropEarlyEmbedded stops an early registry that no push took over.
func (w *Workspace) dropEarlyEmbedded(ctx context.Context) {
	if emb := w.takeEarlyEmbedded(context.WithoutCancel(ctx)); emb != nil {
		_ = emb.Stop(context.WithoutCancel(ctx))
	}
}

// StartEmbedded starts hoist's embedded registry on a free loopback port
// with the configured data directory. If a registry:serve or another run
// already serves that directory, that instance is used instead.
func (w *Workspace) StartEmbedded(ctx context.Context) (*Embedded, error) {
	if emb := w.takeEarlyEmbedded(ctx); emb != nil {
		return emb, nil
	}
	return w.startEmbedded(ctx)
}

func (w *Workspace) startEmbedded(ctx context.Context) (*Embedded, error) {
	data, err := w.EmbeddedDataDir()
	if err != nil {
		return nil, err
	}
	lease, err := registry.TakeLease(data)
	if err != nil {
		return nil, err
	}
	// A registry:serve or another run that serves the directory already is
	// used as it is: starting hoist-registry only to learn that would cost
	// its compile on a machine whose Go build cache is empty.
	if host, _, ok := registry.Running(ctx, data); ok {
		return &Embedded{Host: host, lease: lease}, nil
	}
	opts := []registry.Option{registry.WithDataDir(data), registry.WithDir(w.RegistryDir()), registry.WithAddr("127.0.0.1:0"),
		registry.WithWaitNote(func(n int) {
			w.Logf("registry", "waiting for %s still pushing to the embedded registry before stopping it", count(n, "other run", "other runs"))
		}),
		registry.WithStartContext(ctx),
		registry.WithSlowStart(slowRegistryStart, func() { w.Logf("registry", "%s", SlowRegistryNote) })}
	if len(w.Cfg.Publish.EmbeddedCommand) > 0 {
		opts = append(opts, registry.WithCommand(w.Cfg.Publish.EmbeddedCommand...))
	} else if w.Env.CacheDir != "" {
		opts = append(opts, registry.WithToolRecord(RegistryToolRecords(w.Env.CacheDir)))
	}
	for attempt := 1; ; attempt++ {
		// The registry outlives the caller's ctx: an interrupted release
		// still needs it to put tags back. Every caller stops it explicitly.
		proc, err := registry.Start(context.WithoutCancel(ctx), opts...)
		var inUse *registry.InUseError
		if errors.As(err, &inUse) {
			// An instance that is stopping still holds the directory for
			// a moment; wait for it to go, then start our own.
			if perr := registry.Ping(ctx, inUse.Host); perr == nil || attempt >= 25 {
				return &Embedded{Host: inUse.Host, lease: lease}, nil
			}
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if err != nil {
			_ = lease.Release()
			if ctx.Err() != nil {
				return nil, errors.New("stopped the embedded registry while it was still starting, with everything it had started")
			}
			return nil, fmt.Errorf("no registry configured, and the embedded one did not start: %w%s", err, w.RegistryToolHint())
		}
		return &Embedded{Host: proc.Host(), proc: proc, lease: lease}, nil
	}
}

// EmbeddedDataDir is where the embedded registry keeps its data.
func (w *Workspace) EmbeddedDataDir() (string, error) {
	if w.Cfg.Publish.EmbeddedData != "" {
		return w.Cfg.Path(w.Cfg.Publish.EmbeddedData), nil
	}
	if w.Env.DefaultRegistryData == "" {
		return "", errors.New("no data dir for the embedded registry: HOME is not set; set HOIST_REGISTRY_DATA to a directory")
	}
	return w.Env.DefaultRegistryData, nil
}

// embeddedHost names the embedded registry in records and plans: the
// address a live instance serving the data directory listens on (a
// registry:serve in another terminal), else the address registry:serve
// would use. Images pushed to a private port are served there afterwards.
func (w *Workspace) embeddedHost(ctx context.Context) string {
	if data, err := w.EmbeddedDataDir(); err == nil && !w.ownEarly() {
		if host, _, ok := registry.Running(ctx, data); ok {
			return host
		}
	}
	return w.Cfg.Publish.EmbeddedAddr
}

// RegistryDir is where `go tool hoist-registry` runs: the module root when
// its go.mod lists the tool, else magefiles/ when that module lists it, as
// in the recommended layout where hoist is a dependency of magefiles/go.mod
// only.
func (w *Workspace) RegistryDir() string {
	for _, d := range []string{w.Cfg.Dir, filepath.Join(w.Cfg.Dir, "magefiles")} {
		if project.ListsTool(d, registry.ToolPackage) {
			return d
		}
	}
	return w.Cfg.Dir
}

// RegistryToolHint names the go.mod to add hoist-registry to when the
// consumer keeps its magefiles in a module of their own, since the generic
// hint would send the tool, and hoist's dependencies, into the service's
// go.mod.
func (w *Workspace) RegistryToolHint() string {
	if len(w.Cfg.Publish.EmbeddedCommand) > 0 || !fileExists(filepath.Join(w.Cfg.Dir, "magefiles", "go.mod")) {
		return ""
	}
	return "\nwith a separate magefiles/go.mod, add the tool there: cd magefiles && go get -tool " + registry.ToolPackage
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// PushImage pushes the index stamped st from dist/image to every
// destination, by digest first and tags last, and records the pushed
// references. With no registry configured it starts the embedded registry,
// pushes, pulls the digest back to verify it, and stops the registry again.
// local keeps the image on this machine: the embedded registry only.
//
// Outside a release, a released version tag never moves: the build of a
// commit past the release carries a snapshot version (CurrentStamp), and
// a version tag that already names another digest is refused. Floating
// tags (latest, MAJOR.MINOR) move only in a release, or when
// HOIST_FLOATING_TAGS=1 asks for them.
func (w *Workspace) PushImage(ctx context.Context, target string, st Stamp, local bool) error {
	unlock, err := w.lockDist()
	if err != nil {
		return err
	}
	defer unlock()
	var signer sign.Signer
	if on, _ := w.signing(ModeSnapshot); on {
		if signer, err = w.Signer(ctx); err != nil {
			return err
		}
	}
	// Signatures attach by digest before any tag moves, as in a release;
	// if the tags then fail to move, the signatures go too.
	var attach func(*pushed) error
	var attached []publish.Attached
	if signer != nil {
		attach = func(p *pushed) error {
			var err error
			attached, err = w.attachOrUndo(ctx, target, signer, st, p)
			return err
		}
	}
	p, err := w.pushImage(ctx, target, st, local, attach)
	if err != nil && len(attached) > 0 {
		opts := append(w.publishOptions(target), publish.WithRetry(1, time.Second, time.Second))
		if derr := publish.Detach(context.WithoutCancel(ctx), attached, opts...); derr != nil {
			err = fmt.Errorf("%w; and removing the signatures attached failed: %v", err, derr)
		}
	}
	p.stop(ctx)
	return err
}

// pushImage is PushImage without the dist lock, and it leaves a registry
// it started running for the caller to stop (p.stop). attach, when not
// nil, runs once the index is pushed by digest and before any tag moves.
func (w *Workspace) pushImage(ctx context.Context, target string, st Stamp, local bool, attach func(*pushed) error) (*pushed, error) {
	tags := []string{w.VersionTag(st.Version)}
	if w.Env.FloatingTags && !st.Snapshot {
		tags = w.ImageTags(st.Version)
	}
	if st.Snapshot {
		w.Logf(target, "HEAD is past %s: pushing this build as %s (released version tags move only in a release)", st.Past, st.Version)
	}
	repos := w.Repositories()
	if local {
		repos = nil
	}
	if len(repos) == 0 {
		if err := w.checkEmbeddedTags(tags); err != nil {
			return nil, err
		}
	}
	// The shortcut reads storage only; signatures need the registry.
	if len(repos) == 0 && !w.Env.Force && attach == nil {
		idx, err := w.readImage(ctx, st)
		if err != nil {
			return nil, err
		}
		held, err := w.embeddedHolds(ctx, idx, tags)
		if err != nil {
			return nil, err
		}
		if held != nil {
			w.Logf(target, "the embedded registry already holds %s, every blob included: nothing to push (HOIST_FORCE=1 pushes anyway)", strings.Join(refNames(held), ", "))
			w.Arts.Replace(artifact.ImagePush, held...)
			return nil, w.SaveArtifacts()
		}
	}
	// Digests first, tags after, the way a release does it: a failure part
	// of the way through the tags puts back the ones already moved.
	p, err := w.pushIndex(ctx, target, st, repos)
	if err != nil {
		return p, err
	}
	if !st.Snapshot {
		if err := w.keepVersionTag(ctx, target, p, tags[0]); err != nil {
			return p, err
		}
	}
	if attach != nil {
		if err := attach(p); err != nil {
			return p, err
		}
	} else {
		w.Arts.Replace(artifact.Referrer) // none this time
	}
	_, err = w.tagPushed(ctx, target, p, tags, nil)
	return p, err
}

// keepVersionTag refuses to move a version tag that already names another
// image: outside a release, pushing the same digest again is all a version
// tag allows.
func (w *Workspace) keepVersionTag(ctx context.Context, target string, p *pushed, tag string) error {
	for _, repo := range p.repos {
		have, err := publish.TagDigest(ctx, repo, tag, w.publishOptions(target)...)
		if err != nil {
			return err
		}
		if have != "" && have != p.digest {
			return fmt.Errorf("%s:%s already names %s, not this build's %s: a released version tag never moves outside a release; "+
				"release a new version (go tool mage release), or commit and push again, which pushes a snapshot version", repo, tag, have, p.digest)
		}
	}
	return nil
}

// pushed is where pushIndex sent the index and, when the embedded registry
// received it, the running registry.
type pushed struct {
	emb    *Embedded
	repos  []string
	digest string
	refs   []artifact.Artifact
}

// stop stops the embedded registry pushIndex started, if any.
func (p *pushed) stop(ctx context.Context) {
	if p != nil && p.emb != nil {
		_ = p.emb.Stop(context.WithoutCancel(ctx))
	}
}

func (w *Workspace) readImage(ctx context.Context, st Stamp) (v1.ImageIndex, error) {
	idx, err := image.ReadLayout(ctx, w.Dist("image"), w.LayoutRefName(st.Version))
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("read the image built for %s: %w", st.Version, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("read the image built for %s: %w (run image:build first)", st.Version, err)
	}
	return idx, nil
}

// pushIndex pushes dist/image to repos by digest, with no tag, or to the
// embedded registry (left running for the caller to stop) when repos is
// empty.
func (w *Workspace) pushIndex(ctx context.Context, target string, st Stamp, repos []string) (*pushed, error) {
	idx, err := w.readImage(ctx, st)
	if err != nil {
		return nil, err
	}
	p := &pushed{repos: repos}
	if len(repos) == 0 {
		if p.emb, err = w.StartEmbedded(ctx); err != nil {
			return nil, err
		}
		p.repos = []string{p.emb.Host + "/" + w.ImageName()}
		w.Logf(target, "no registry configured: pushing to the embedded registry at %s", p.emb.Host)
		killpoint("push: registry ready")
	}
	dests := make([]publish.Destination, len(p.repos))
	for i, r := range p.repos {
		dests[i] = publish.Destination{Repository: r}
	}
	start := time.Now()
	res, err := publish.Push(ctx, idx, dests, w.publishOptions(target)...)
	for _, r := range res {
		if r.Err != nil {
			continue // the error returned below names each failure
		}
		p.digest = r.Digest.String()
		w.Logf(target, "%s: %s uploaded (%s), %d already there", r.Repository, count(r.BlobsUploaded, "blob", "blobs"), humanBytes(r.BytesUploaded), r.BlobsSkipped)
		for _, ref := range r.Refs {
			w.Logf(target, "  pushed %s", ref)
		}
	}
	if err != nil {
		return p, err
	}
	if p.emb != nil {
		for _, r := range res {
			ref := r.Repository + "@" + r.Digest.String()
			if err := publish.Verify(ctx, ref, w.publishOptions(target)...); err != nil {
				return p, fmt.Errorf("verify the push by pulling it back: %w", err)
			}
			w.Logf(target, "verified %s by pulling it back", ref)
		}
	}
	w.Logf(target, "done in %s", time.Since(start).Round(time.Millisecond))
	return p, nil
}

// tagPushed moves tags to the pushed index in every destination pushIndex
// reached (publish.TagAll: the version tag last) and records the pushed
// references, one per repository and tag, each with the index digest. On failure it puts back every tag it moved; the states it
// returns let a later failure do the same. before sees each tag's state
// before the tag moves.
func (w *Workspace) tagPushed(ctx context.Context, target string, p *pushed, tags []string, before func(publish.TagState) error) ([]publish.TagState, error) {
	if p.emb != nil {
		if err := w.checkEmbeddedTags(tags); err != nil {
			return nil, err
		}
	}
	states, err := publish.TagAll(ctx, p.repos, p.digest, tags, before, w.publishOptions(target)...)
	if err != nil {
		return nil, err
	}
	refs := w.tagRefs(target, p, p.digest, tags, "")
	// Per-architecture tags point at each platform's own manifest.
	for _, pt := range w.archTags(tags) {
		st, err := publish.TagAll(ctx, p.repos, pt.digest, pt.tags, before, w.publishOptions(target)...)
		states = append(states, st...)
		if err != nil {
			if uerr := publish.Untag(context.WithoutCancel(ctx), states, w.publishOptions(target)...); uerr != nil {
				err = fmt.Errorf("%w; and putting the tags back failed: %v", err, uerr)
			}
			return nil, err
		}
		refs = append(refs, w.tagRefs(target, p, pt.digest, pt.tags, pt.platform)...)
	}
	if p.emb != nil {
		w.Logf(target, "registry:serve serves it as %s", strings.Join(refNames(refs), ", "))
	}
	w.Arts.Replace(artifact.ImagePush, refs...)
	return states, w.SaveArtifacts()
}

// tagRefs logs the tags just moved to digest in every repository of p
// (of one platform when platform is set) and returns the references the
// artifact list records for them: as registry:serve serves them for the
// embedded registry, else one per repository and tag.
func (w *Workspace) tagRefs(target string, p *pushed, digest string, tags []string, platform string) []artifact.Artifact {
	of := digest
	if platform != "" {
		of += ", " + platform
	}
	var refs []artifact.Artifact
	for _, repo := range p.repos {
		for _, t := range tags {
			w.Logf(target, "  tagged %s:%s (%s)", repo, t, of)
			refs = append(refs, artifact.Artifact{Type: artifact.ImagePush, Name: repo + ":" + t, Digest: digest})
		}
	}
	if p.emb != nil {
		return w.embeddedRefs(p.emb.served(w), digest, tags)
	}
	return refs
}

// archTag is the per-architecture tags of one platform manifest.
type archTag struct {
	platform, digest string
	tags             []string
}

// archTags are the per-architecture tags (Publish.ArchTags) of tags, for
// each platform image the artifact list records, in platform order.
func (w *Workspace) archTags(tags []string) []archTag {
	if !w.Cfg.Publish.ArchTags {
		return nil
	}
	var out []archTag
	for _, a := range artifact.Select(w.Arts.All(), artifact.ByType(artifact.Image)) {
		p, err := platform.Parse(a.Platform)
		if err != nil || a.Digest == "" {
			continue
		}
		at := archTag{platform: a.Platform, digest: a.Digest}
		for _, t := range tags {
			at.tags = append(at.tags, ArchTag(t, p))
		}
		out = append(out, at)
	}
	slices.SortFunc(out, func(a, b archTag) int { return strings.Compare(a.platform, b.platform) })
	return out
}

// ArchTag is tag for one architecture: 1.2.3-amd64, 1.2.3-armv7.
func ArchTag(tag string, p platform.Platform) string {
	return tag + "-" + p.Arch + p.Variant
}

// embeddedRefs names an image pushed to the embedded registry the way host
// serves it afterwards, one reference per tag.
func (w *Workspace) embeddedRefs(host, digest string, tags []string) []artifact.Artifact {
	repo := host + "/" + w.ImageName()
	var out []artifact.Artifact
	for _, t := range tags {
		out = append(out, artifact.Artifact{Type: artifact.ImagePush, Name: repo + ":" + t, Digest: digest})
	}
	return out
}

// checkEmbeddedTags refuses to go on with a damaged tag in the embedded
// registry's storage, naming the file and the repair.
func (w *Workspace) checkEmbeddedTags(tags []string) error {
	data, err := w.EmbeddedDataDir()
	if err != nil {
		return err
	}
	for _, t := range tags {
		if err := registry.CheckTag(data, w.ImageName(), t); err != nil {
			return err
		}
	}
	return nil
}

// embeddedHolds returns the pushed references when the embedded registry's
// data directory already has every tag at the index digest, with every
// manifest and blob of the image stored, or nil.
func (w *Workspace) embeddedHolds(ctx context.Context, idx v1.ImageIndex, tags []string) ([]artifact.Artifact, error) {
	d, err := idx.Digest()
	if err != nil {
		return nil, fmt.Errorf("digest the image index: %w", err)
	}
	data, err := w.EmbeddedDataDir()
	if err != nil {
		return nil, err
	}
	manifests, blobs, err := imageParts(idx)
	if err != nil {
		return nil, err
	}
	for _, t := range tags {
		if !registry.HoldsAll(data, w.ImageName(), t, d.String(), manifests, blobs) {
			return nil, nil
		}
	}
	return w.embeddedRefs(w.embeddedHost(ctx), d.String(), tags), nil
}

// imageParts lists the child manifests of idx and the blobs (configs and
// layers) of its images.
func imageParts(idx v1.ImageIndex) (manifests, blobs []string, err error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, nil, fmt.Errorf("read the image index: %w", err)
	}
	for _, desc := range im.Manifests {
		manifests = append(manifests, desc.Digest.String())
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, nil, fmt.Errorf("read image %s: %w", desc.Digest, err)
		}
		m, err := img.Manifest()
		if err != nil {
			return nil, nil, fmt.Errorf("read image %s: %w", desc.Digest, err)
		}
		blobs = append(blobs, m.Config.Digest.String())
		for _, l := range m.Layers {
			blobs = append(blobs, l.Digest.String())
		}
	}
	return manifests, blobs, nil
}

func refNames(as []artifact.Artifact) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name
	}
	return out
}
