package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/internal/lockfile"
	"github.com/hoistdev/hoist/internal/statcache"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/version"
)

// Workspace is one project as hoist works on it: the resolved
// configuration, the environment the edge read, the discovered project, the
// artifact list kept in dist/artifacts.json, and where progress lines go.
// Each mage target opens one and calls one method; the release pipeline
// hands it to every stage. A Workspace serves one run at a time.
type Workspace struct {
	// Cfg is the resolved configuration; Dir is absolute.
	Cfg config.Config
	// Env is the environment, read once by the caller.
	Env config.Env
	// Proj is the discovered project.
	Proj *project.Project
	// Arts is the artifact list, loaded from dist/artifacts.json.
	Arts *artifact.List
	// Out receives progress lines.
	Out io.Writer
	// TTY lets progress bars redraw lines: Out is a terminal and this is
	// not a CI log.
	TTY bool
	// Targets names what this process runs, for the dist/ lock's holder.
	Targets string
	// CacheProg is a command that serves the Go build cache protocol with
	// hoist-cache's flags, such as the running magefile binary with the
	// argument that makes it do so. Empty, GoCacheProg looks for the
	// hoist-cache tool in go.mod.
	CacheProg []string

	prefixMu             sync.Mutex
	prefixDone           bool
	prefix, prefixScheme string

	lockMu    sync.Mutex
	distLock  *lockfile.Lock
	lockDepth int

	keys keyRing

	cacheRunOnce sync.Once
	cacheRun     string

	earlyMu   sync.Mutex
	early     *earlyEmbedded
	statsOnce sync.Once
	stats     *statcache.Cache

	outMu sync.Mutex // serialises writes to Out from Logf and Writer

	forgeMu   sync.Mutex
	forgeDone bool
	forgeT    *forgeTarget
	forgeErr  error

	// onBuildWork runs once when go:build is about to compile or restore
	// a binary (gobuild.WithOnWork); nil when nothing waits for that.
	onBuildWork func()
}

// statCache is the stat cache of dist/ (gobuild.StatCachePath), opened
// once per process and shared by the build, the packages and the image,
// so that a binary hashed by one step is not read again by the next.
func (w *Workspace) statCache() *statcache.Cache {
	w.statsOnce.Do(func() { w.stats = statcache.Open(gobuild.StatCachePath(w.Dist())) })
	return w.stats
}

// saveStats writes the stat cache back after a step; a failure costs the
// next run a hash of every file, so it is a note, not an error.
func (w *Workspace) saveStats(ctx context.Context, target string) {
	if err := w.statCache().Save(context.WithoutCancel(ctx)); err != nil {
		w.Logf(target, "note: %v (the next run hashes its files again)", err)
	}
}

// lockDist takes dist/'s lock for the work that follows, so that two runs
// never write one dist/ at once; the returned function gives it back.
// Nested calls share one lock. A lock left by a killed run is free again:
// the kernel drops it with its holder.
func (w *Workspace) lockDist() (func(), error) {
	w.lockMu.Lock()
	defer w.lockMu.Unlock()
	if w.lockDepth == 0 {
		what := w.Targets
		if what == "" {
			what = "hoist"
		}
		l, err := lockfile.Acquire(w.Dist(".hoist", "lock"), lockfile.Holder{PID: pid, What: what})
		var held *lockfile.HeldError
		if errors.As(err, &held) {
			return nil, fmt.Errorf("another hoist run (pid %d, %s, since %s) is using %s: wait for it or stop it", held.Holder.PID, held.Holder.What, held.Holder.Since.Format(time.RFC3339), w.Rel(w.Dist()))
		}
		if err != nil {
			return nil, err
		}
		w.distLock = l
	}
	w.lockDepth++
	return func() {
		w.lockMu.Lock()
		defer w.lockMu.Unlock()
		if w.lockDepth--; w.lockDepth == 0 {
			_ = w.distLock.Release()
			w.distLock = nil
		}
	}, nil
}

// Open resolves cfg (the defaults fill what it leaves out, then env's
// overrides apply), validates it, discovers the project in cfg.Dir and
// loads the artifact list. A contradiction in the settings is an error
// here, before any work starts.
func Open(cfg config.Config, env config.Env, out io.Writer) (*Workspace, error) {
	cfg = cfg.Merge(config.Defaults())
	cfg.ApplyEnv(env)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hoist configuration: %w", err)
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", cfg.Dir, err)
	}
	cfg.Dir = abs
	proj, err := project.Discover(cfg.Dir, cfg.Mains...)
	if err != nil {
		return nil, err
	}
	if cfg.Name != "" {
		proj.Name = cfg.Name
	}
	arts, err := artifact.Load(cfg.Path(filepath.Join(cfg.Dist, "artifacts.json")))
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = io.Discard
	}
	names := make([]string, len(proj.Mains))
	for i, m := range proj.Mains {
		names[i] = m.Name
	}
	for n, b := range cfg.Binaries {
		if !slices.Contains(names, n) && (b.Name == "" || b.Name != n) {
			return nil, fmt.Errorf("hoist configuration: Binaries names %q, which is not a binary of the project (%s)", n, strings.Join(names, ", "))
		}
	}
	if err := renameBinaries(&cfg, proj); err != nil {
		return nil, fmt.Errorf("hoist configuration: %w", err)
	}
	for i, m := range proj.Mains {
		names[i] = m.Name
	}
	w := &Workspace{Cfg: cfg, Env: env, Proj: proj, Arts: arts, Out: out}
	// A misspelt Image.Main, or an entrypoint the image will not hold,
	// would otherwise surface only after go:build.
	if !cfg.Image.Skip && cfg.Image.Main != "" {
		if _, err := w.imageMain(); err != nil {
			return nil, fmt.Errorf("hoist configuration: %w", err)
		}
	}
	if ic := cfg.Image; !ic.Skip && (ic.Entrypoint != nil || ic.Paths != nil) {
		c := image.Config{Base: ic.Base, Entrypoint: ic.Entrypoint, Env: ic.Env, WorkDir: ic.WorkDir, Files: ic.Files, Paths: ic.Paths}
		if err := c.CheckEntrypoint(names); err != nil {
			return nil, fmt.Errorf("hoist configuration: %s", strings.ReplaceAll(err.Error(), "Config.", "Image."))
		}
	}
	return w, nil
}

// Dist returns a path under the output directory.
func (w *Workspace) Dist(elem ...string) string {
	return w.Cfg.Path(filepath.Join(append([]string{w.Cfg.Dist}, elem...)...))
}

// Rel returns path relative to the project root, slash-separated, for
// artifact records and messages.
func (w *Workspace) Rel(path string) string {
	rel, err := filepath.Rel(w.Cfg.Dir, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// SaveArtifacts writes the artifact list for later targets and processes.
func (w *Workspace) SaveArtifacts() error {
	return w.Arts.Save(w.Dist("artifacts.json"))
}

// Logf prints one progress line under a target's name. Lines from
// goroutines working at once (the restores of one build) do not mix.
func (w *Workspace) Logf(target, format string, args ...any) {
	line := fmt.Sprintf("%s: %s\n", target, fmt.Sprintf(format, args...))
	w.outMu.Lock()
	defer w.outMu.Unlock()
	_, _ = io.WriteString(w.Out, line)
}

// Writer returns a writer that prefixes every line with the target's name.
func (w *Workspace) Writer(target string) io.Writer {
	return prefixWriter{w: w.Out, mu: &w.outMu, prefix: target + ": "}
}

// Stamp is what a build carries: the version and the commit with its
// date. A release stamps the release commit it prepared; every other run
// stamps HEAD (CurrentStamp).
type Stamp struct {
	// Version is the version built.
	Version *semver.Version
	// Rev is the commit and the build date.
	Rev project.Revision
	// Snapshot is true when Version is a snapshot version, because VERSION
	// was released from another commit: such a build never claims the
	// released version.
	Snapshot bool
	// Released is the git tag HEAD was released as, when it was.
	Released string
	// Past is the release tag of VERSION that a snapshot's HEAD is past.
	Past string
}

// CurrentStamp is the stamp of a build outside a release, dated with
// SOURCE_DATE_EPOCH when set, else with the commit time (outside git the
// commit is "unknown" and the date the Unix epoch, never the clock). Its
// version is VERSION's while that version has no tag yet, or HEAD is the
// commit tagged with it; once VERSION's release tag is on another commit,
// HEAD is unreleased work and gets the snapshot version release:snapshot
// would give it, <next>-snapshot.<sha>, so that no binary or image claims
// a version it is not.
func (w *Workspace) CurrentStamp(ctx context.Context) (Stamp, error) {
	v, err := version.ReadFile(w.Cfg.Path(w.Cfg.VersionFile))
	if err != nil {
		return Stamp{}, err
	}
	rev, err := w.headRevision(ctx)
	if err != nil {
		return Stamp{}, err
	}
	st := Stamp{Version: v, Rev: rev}
	if rev.Commit == "unknown" {
		return st, nil
	}
	prefix, _, err := w.tagPrefix(ctx)
	if err != nil {
		return Stamp{}, err
	}
	tag := prefix + v.String()
	tagged, err := git(ctx, w.Cfg.Dir, "rev-parse", "--verify", "-q", "refs/tags/"+tag+"^{commit}")
	switch {
	case err != nil || tagged == "":
		return st, nil // not released yet
	case tagged == rev.Commit:
		st.Released = tag
		return st, nil
	}
	vopts, err := w.versionOptions(ctx)
	if err != nil {
		return Stamp{}, err
	}
	d, err := version.Plan(ctx, w.Cfg.Dir, vopts...)
	if err != nil {
		return Stamp{}, err
	}
	if st.Version, err = SnapshotVersion(d, rev.Short); err != nil {
		return Stamp{}, err
	}
	st.Snapshot, st.Past = true, tag
	return st, nil
}

// tagPrefix is the release tag prefix: the configured one, or the scheme
// the repository's tags use (version.DiscoverPrefix), worked out once.
// scheme says which, in a few words, for the plan.
func (w *Workspace) tagPrefix(ctx context.Context) (prefix, scheme string, err error) {
	w.prefixMu.Lock()
	defer w.prefixMu.Unlock()
	if w.prefixDone {
		return w.prefix, w.prefixScheme, nil
	}
	switch p := w.Cfg.Release.TagPrefix; p {
	case config.NoTagPrefix:
		w.prefix, w.prefixScheme = "", "plain tags such as 1.2.3 (Release.TagPrefix)"
	case "":
		p, from, err := version.DiscoverPrefix(ctx, w.Cfg.Dir)
		if err != nil {
			return "", "", err
		}
		w.prefix = p
		switch {
		case from == "":
			w.prefixScheme = fmt.Sprintf("%q, the default: the repository has no version tag yet", p)
		case p == "":
			w.prefixScheme = fmt.Sprintf("plain tags, as on %s, the newest version tag (set Release.TagPrefix to choose)", from)
		default:
			w.prefixScheme = fmt.Sprintf("%q, as on %s, the newest version tag (set Release.TagPrefix to choose)", p, from)
		}
	default:
		w.prefix, w.prefixScheme = p, fmt.Sprintf("%q (Release.TagPrefix)", p)
	}
	w.prefixDone = true
	return w.prefix, w.prefixScheme, nil
}

// headRevision is HEAD with the build date the environment asks for.
func (w *Workspace) headRevision(ctx context.Context) (project.Revision, error) {
	rev, err := project.GitRevision(ctx, w.Cfg.Dir)
	if err != nil {
		if !errors.Is(err, project.ErrNoCommit) {
			return rev, err
		}
		rev = project.Revision{Commit: "unknown", Short: "unknown", Time: time.Unix(0, 0).UTC()}
	}
	if !w.Env.SourceDate.IsZero() {
		rev.Time = w.Env.SourceDate
	}
	return rev, nil
}

// prefixWriter prefixes each line written through it.
type prefixWriter struct {
	w      io.Writer
	mu     *sync.Mutex // the workspace's, shared with Logf
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	var sb strings.Builder
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" {
			sb.WriteString(p.prefix + l)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.w, sb.String()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// renameBinaries gives the mains that Binaries[…].Name renames their new
// names, and makes their settings findable by the new names too, on a
// copy of the map (the directory names stay, so that opening the same
// configuration again, as release:verify does in its clones, works).
func renameBinaries(cfg *config.Config, proj *project.Project) error {
	renamed := false
	for _, b := range cfg.Binaries {
		renamed = renamed || b.Name != ""
	}
	if !renamed {
		return nil
	}
	bins := maps.Clone(cfg.Binaries)
	for i, m := range proj.Mains {
		if b, ok := cfg.Binaries[m.Name]; ok && b.Name != "" {
			proj.Mains[i].Name = b.Name
			bins[b.Name] = b
		}
	}
	seen := map[string]string{}
	for _, m := range proj.Mains {
		if prev, dup := seen[m.Name]; dup {
			return fmt.Errorf("two binaries would be named %s (%s and %s): change Binaries[…].Name", m.Name, prev, m.Dir)
		}
		seen[m.Name] = m.Dir
	}
	cfg.Binaries = bins
	return nil
}
