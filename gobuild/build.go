package gobuild

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/checksum"
	"github.com/hoistdev/hoist/internal/atomicfile"
	"github.com/hoistdev/hoist/internal/proc"
	"github.com/hoistdev/hoist/internal/statcache"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
)

// Stamp is what a build writes into the binary's variables.
type Stamp struct {
	// Version is the release version, e.g. 1.2.3.
	Version string `json:"version"`
	// Commit is the full commit hash the binary is built from.
	Commit string `json:"commit"`
	// Date is the build date: the commit time, never the wall clock.
	Date time.Time `json:"date"`
}

// Result describes one binary after Build.
type Result struct {
	// Name is the binary name.
	Name string
	// Platform is the target it was built for.
	Platform platform.Platform
	// Path is the binary's absolute path.
	Path string
	// Skipped is true when the inputs matched the last build and the
	// compiler did not run.
	Skipped bool
	// Restored is true when the binary came from the Remote cache (and
	// Skipped is true too): new in this output directory, not compiled.
	Restored bool
	// Reason says why the binary was rebuilt, or why it was skipped.
	Reason string
	// SHA256 is the hex digest of the binary.
	SHA256 string
	// Size is the binary's size in bytes.
	Size int64
	// Duration is the time spent on this binary, check included.
	Duration time.Duration
	// Flags are the go build flags the binary is built with: -trimpath,
	// -ldflags with the stamped variables, -tags. Go does not record
	// -ldflags in a -trimpath binary, so provenance takes them from here.
	Flags []string
	// Env is the environment hoist sets for the build (CGO_ENABLED=0,
	// GOOS, GOARCH, the variant variables).
	Env []string
}

// Artifact converts the result for the artifact list, with the path made
// relative to root.
func (r Result) Artifact(root string) artifact.Artifact {
	rel, err := filepath.Rel(root, r.Path)
	if err != nil {
		rel = r.Path
	}
	a := artifact.Artifact{
		Type:     artifact.Binary,
		Name:     r.Name,
		Path:     filepath.ToSlash(rel),
		Platform: r.Platform.String(),
		Digest:   "sha256:" + r.SHA256,
		Size:     r.Size,
	}
	// The flags travel with the binary, so that a later process (image:push
	// signing what image:build made) can state how it was built.
	if len(r.Flags) > 0 || len(r.Env) > 0 {
		a.Extra = map[string]string{ExtraFlags: strings.Join(r.Flags, "\n"), ExtraEnv: strings.Join(r.Env, "\n")}
	}
	return a
}

// Keys of a binary artifact's Extra: its go build flags and the
// environment hoist set, one per line.
const (
	ExtraFlags = "go_flags"
	ExtraEnv   = "go_env"
)

// OutputPath returns where Build puts a binary: dist/<name>_<slug>/<name>[.exe].
func OutputPath(dist, name string, p platform.Platform) string {
	return filepath.Join(dist, name+"_"+p.Slug(), p.Exe(name))
}

// runner runs one `go build`; tests replace it to count compiler starts.
type runner func(ctx context.Context, dir string, env, args []string) error

type options struct {
	dist      string
	platforms []platform.Platform
	perMain   map[string][]platform.Platform // main name -> its own platforms
	stamp     Stamp
	vars      map[string]project.Vars
	jobs      int
	gobin     string
	log       io.Writer
	ldflags   []string
	tags      []string
	env       []string
	force     bool
	dryRun    bool
	run       runner
	remote    Remote
	stats     *statcache.Cache
	grouped   bool
	onWork    func()
	workOnce  sync.Once
}

// Option configures Build.
type Option func(*options)

// WithDist sets the output directory. Default: <root>/dist.
func WithDist(dir string) Option { return func(o *options) { o.dist = dir } }

// WithPlatforms sets the matrix. Default: platform.Defaults().
func WithPlatforms(ps ...platform.Platform) Option {
	return func(o *options) { o.platforms = slices.Clone(ps) }
}

// WithMainPlatforms builds the main packages named in m for their own
// platforms instead of WithPlatforms' matrix; a name with none is not
// built at all.
func WithMainPlatforms(m map[string][]platform.Platform) Option {
	return func(o *options) { o.perMain = m }
}

// WithStamp sets the version, commit and date written into the binaries.
// Default: version "dev", no commit, the Unix epoch; the caller is expected
// to pass the real values, and never the wall clock.
func WithStamp(s Stamp) Option { return func(o *options) { o.stamp = s } }

// WithVars sets, per binary name, which variables receive the stamp.
// Default: none, so nothing is stamped; discover them with
// project.DiscoverVars.
func WithVars(vars map[string]project.Vars) Option {
	return func(o *options) { o.vars = maps.Clone(vars) }
}

// WithJobs caps how many platforms build at once. Default: GOMAXPROCS.
func WithJobs(n int) Option { return func(o *options) { o.jobs = n } }

// WithGo sets the go command. Default: "go" from PATH.
func WithGo(gobin string) Option { return func(o *options) { o.gobin = gobin } }

// WithLog sets where progress lines go, one per binary. Default: nowhere.
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithLDFlags appends linker flags after hoist's own (-s -w and the -X stamps).
func WithLDFlags(flags ...string) Option {
	return func(o *options) { o.ldflags = append(o.ldflags, flags...) }
}

// WithTags sets build tags. Default: none.
func WithTags(tags ...string) Option { return func(o *options) { o.tags = slices.Clone(tags) } }

// WithEnv adds environment variables to every go build and to the skip
// key. Pass the caller's GOFLAGS here so that a change to it forces a
// rebuild. Default: none beyond the process environment.
func WithEnv(env ...string) Option { return func(o *options) { o.env = append(o.env, env...) } }

// WithForce rebuilds even when the inputs match the last build.
func WithForce(force bool) Option { return func(o *options) { o.force = force } }

// WithDryRun decides, for each binary, whether it would be built and why,
// without starting the compiler or writing anything. Default: false.
func WithDryRun(dry bool) Option { return func(o *options) { o.dryRun = dry } }

func withRunner(r runner) Option { return func(o *options) { o.run = r } }

// WithStatCache hashes through sc, which the caller saves, so that the
// steps of one run share what they hashed. Default: the cache at
// StatCachePath(dist), saved when Build returns.
func WithStatCache(sc *statcache.Cache) Option { return func(o *options) { o.stats = sc } }

// WithOnWork calls fn once, before the first binary is compiled or
// restored, and not at all when every binary is up to date: a release
// starts what it will need for new binaries (the embedded registry) so
// that its start-up overlaps the compile.
func WithOnWork(fn func()) Option { return func(o *options) { o.onWork = fn } }

// withSeparate builds every binary with a go command of its own, as
// before grouping; tests compare the two.
func withSeparate() Option { return func(o *options) { o.grouped = false } }

func makeOptions(root string, opts []Option) (*options, error) {
	o := &options{
		dist:      filepath.Join(root, "dist"),
		platforms: platform.Defaults(),
		stamp:     Stamp{Version: "dev", Date: time.Unix(0, 0).UTC()},
		jobs:      runtime.GOMAXPROCS(0),
		gobin:     "go",
		log:       io.Discard,
		grouped:   true,
	}
	for _, opt := range opts {
		opt(o)
	}
	if o.run == nil {
		o.run = o.goBuild
	}
	if o.jobs < 1 {
		return nil, fmt.Errorf("build jobs = %d: use at least 1", o.jobs)
	}
	if len(o.platforms) == 0 {
		return nil, errors.New("no platforms to build: configure at least one, for example linux/amd64")
	}
	if o.stamp.Version == "" {
		return nil, errors.New("empty version: set the version in the VERSION file")
	}
	if !filepath.IsAbs(o.dist) {
		o.dist = filepath.Join(root, o.dist)
	}
	return o, nil
}

// Build compiles every main package of proj for every platform. Binaries
// whose inputs are unchanged since their last build are skipped. The rest
// are compiled with one go command per platform (per set of build flags):
// the command loads the module once, compiles each shared package once and
// links the binaries in parallel, and the platforms run in parallel up to
// the jobs limit. Results come back in main × platform order.
func Build(ctx context.Context, proj *project.Project, opts ...Option) (results []Result, err error) {
	o, err := makeOptions(proj.Root, opts)
	if err != nil {
		return nil, err
	}
	if len(proj.Mains) == 0 {
		return nil, errors.New("no main packages to build")
	}
	goVersion, err := o.goVersion(ctx, proj.Root)
	if err != nil {
		return nil, err
	}
	mods, err := project.LocalModules(proj.Root)
	if err != nil {
		return nil, err
	}
	sc := o.stats
	if sc == nil {
		sc = statcache.Open(StatCachePath(o.dist))
		defer func() {
			if serr := sc.Save(context.WithoutCancel(ctx)); serr != nil && err == nil {
				fmt.Fprintf(o.log, "note: %v (the next run hashes its sources again)\n", serr)
			}
		}()
	}
	h := newHasher(proj.Root, sc)
	h.recDir = filepath.Join(o.dist, ".hoist", "build")

	jobs := make([]*job, 0, len(proj.Mains)*len(o.platforms))
	for _, m := range proj.Mains {
		plats := o.platforms
		if ps, ok := o.perMain[m.Name]; ok {
			plats = ps
		}
		for _, p := range plats {
			jobs = append(jobs, &job{m: m, p: p})
		}
	}
	if len(jobs) == 0 {
		return nil, errors.New("no binary is built for any platform of the matrix: check the binaries' own platforms (Binaries[…].Platforms) against Platforms")
	}
	var logMu sync.Mutex
	report := func(r Result) {
		if o.dryRun {
			return
		}
		logMu.Lock()
		defer logMu.Unlock()
		if r.Skipped {
			fmt.Fprintf(o.log, "%-10s %-16s skipped: %s\n", r.Name, r.Platform, r.Reason)
		} else {
			fmt.Fprintf(o.log, "%-10s %-16s built in %s: %s\n", r.Name, r.Platform, r.Duration.Round(time.Millisecond), r.Reason)
		}
	}

	// Decide for each binary: up to date, restored from the remote, or to
	// be compiled.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.jobs)
	for _, j := range jobs {
		g.Go(func() error {
			if err := o.check(gctx, proj, h, mods, goVersion, j); err != nil {
				return err
			}
			if j.done {
				report(j.res)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	// Compile the rest, one go command per group.
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(o.jobs)
	for _, grp := range o.groups(jobs) {
		g.Go(func() error {
			if err := o.compile(gctx, proj, h, grp); err != nil {
				return err
			}
			for _, j := range grp {
				report(j.res)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if !o.dryRun {
		h.pruneSets()
	}
	results = make([]Result, len(jobs))
	for i, j := range jobs {
		results[i] = j.res
	}
	return results, nil
}

// StatCachePath is where Build keeps the stat data of the files it hashed
// (see internal/statcache), under the output directory dist.
func StatCachePath(dist string) string { return filepath.Join(dist, ".hoist", "stat.json") }

// record is what the skip check compares; it is saved beside the dist
// output after each successful build.
type record struct {
	GoVersion string   `json:"go_version"`
	Args      []string `json:"args"`
	Env       []string `json:"env"`
	Stamp     Stamp    `json:"stamp"`
	// Sources are the files the binary is built from, with their digests,
	// and Dirs the directory listings that chose them (see scan): an
	// unchanged set lets the next run skip parsing the packages. Both are
	// stored in the source set named by SourceSet (see sets.go), not in
	// the record.
	Sources   map[string]string `json:"sources,omitempty"`
	Dirs      map[string]string `json:"dirs,omitempty"`
	SourceSet string            `json:"source_set,omitempty"`
	SHA256    string            `json:"sha256"`
	Size      int64             `json:"size"`
}

// job is one binary for one platform on its way through Build.
type job struct {
	m       project.Main
	p       platform.Platform
	start   time.Time
	args    []string // go build arguments for this binary alone
	now     record
	recPath string
	key     string // remote key, once computed
	done    bool   // skipped, restored or dry run: nothing to compile
	res     Result
}

// check decides whether j must be compiled. It fills j.res and sets
// j.done when the binary is up to date, was restored from the remote, or
// this is a dry run.
func (o *options) check(ctx context.Context, proj *project.Project, h *hasher, mods map[string]string, goVersion string, j *job) error {
	j.start = time.Now()
	m, p := j.m, j.p
	out := OutputPath(o.dist, m.Name, p)
	j.res = Result{Name: m.Name, Platform: p, Path: out}
	res := &j.res
	j.recPath = filepath.Join(o.dist, ".hoist", "build", m.Name+"_"+p.Slug()+".json")
	prev, prevErr := readRecord(j.recPath)
	if prevErr == nil && prev.SourceSet != "" {
		if s, err := h.loadSet(prev.SourceSet); err != nil {
			prevErr = err
		} else {
			prev.Sources, prev.Dirs = s.Sources, s.Dirs
		}
	}

	var sc scan
	set := ""
	switch {
	case prevErr == nil && prev.SourceSet != "" && h.unchangedSet(prev.SourceSet, scan{Sources: prev.Sources, Dirs: prev.Dirs}):
		sc, set = scan{Sources: prev.Sources, Dirs: prev.Dirs}, prev.SourceSet
	case prevErr == nil && prev.SourceSet == "" && h.unchanged(scan{Sources: prev.Sources, Dirs: prev.Dirs}):
		sc = scan{Sources: prev.Sources, Dirs: prev.Dirs} // a record from before source sets
	default:
		var err error
		if sc, err = h.sources(mods, m.ImportPath, p, o.tags); err != nil {
			return err
		}
	}
	j.args = o.args(m, out)
	env := o.buildEnv(p)
	// The flags without "build" and the trailing "-o OUT PKG": what any
	// machine would pass.
	res.Flags, res.Env = slices.Clone(j.args[1:len(j.args)-3]), env
	j.now = record{GoVersion: goVersion, Args: j.args, Env: env, Stamp: o.stamp, Sources: sc.Sources, Dirs: sc.Dirs, SourceSet: set}
	j.now.Stamp.Date = j.now.Stamp.Date.UTC()

	reason := ""
	if prevErr == nil {
		reason = changed(prev, j.now)
	}
	if !o.force && prevErr == nil && reason == "" {
		sum, size, err := checkBinary(h.sc, out, prev)
		if err == nil && prev.SourceSet == "" {
			err = h.writeRecord(j.recPath, &prev) // moves its sources into a set
		}
		if err == nil {
			res.Skipped, res.SHA256, res.Size = true, sum, size
			res.Reason = fmt.Sprintf("up to date (%d source files, flags, stamp and %s unchanged)", len(sc.Sources), goVersion)
			res.Duration, j.done = time.Since(j.start), true
			return nil
		}
		reason = err.Error()
	}
	switch {
	case o.force:
		reason = "forced"
	case prevErr != nil && errors.Is(prevErr, fs.ErrNotExist):
		reason = "no previous build"
	case prevErr != nil:
		reason = "previous build record unreadable"
	}
	res.Reason = reason
	if o.dryRun {
		res.Duration, j.done = time.Since(j.start), true
		return nil
	}
	if o.onWork != nil {
		o.workOnce.Do(o.onWork)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("build %s for %s: %w", m.Name, p, err)
	}
	if o.remote != nil && !o.force {
		j.key = remoteKey(j.now, m.ImportPath, m.Name, p.String(), res.Flags)
		sum, size, ok, err := o.remote.Restore(ctx, j.key, out)
		if err != nil {
			return fmt.Errorf("build %s for %s: %w", m.Name, p, err)
		}
		if ok {
			if err := h.sc.Remember(out, sum); err != nil {
				return err
			}
			j.now.SHA256, j.now.Size = sum, size
			if err := h.writeRecord(j.recPath, &j.now); err != nil {
				return err
			}
			res.Skipped, res.Restored, res.SHA256, res.Size = true, true, sum, size
			res.Reason = fmt.Sprintf("restored from cache (key %s): %s", j.key[:16], reason)
			res.Duration, j.done = time.Since(j.start), true
			return nil
		}
	}
	return nil
}

// groups splits the binaries left to compile into go commands: one per
// platform and set of flags, holding packages whose executables have
// different default names (the go command names each output in the
// directory after its package).
func (o *options) groups(jobs []*job) [][]*job {
	type bucket struct {
		key   string
		names map[string]bool
		jobs  []*job
	}
	var buckets []*bucket
	for _, j := range jobs {
		if j.done {
			continue
		}
		key := j.p.String() + "\x00" + strings.Join(j.args[:len(j.args)-3], "\x00") + "\x00" + strings.Join(j.now.Env, "\x00")
		name := execName(j.m.ImportPath, j.p)
		var b *bucket
		for _, c := range buckets {
			if c.key == key && !c.names[name] && o.grouped {
				b = c
				break
			}
		}
		if b == nil {
			b = &bucket{key: key, names: map[string]bool{}}
			buckets = append(buckets, b)
		}
		b.names[name] = true
		b.jobs = append(b.jobs, j)
	}
	out := make([][]*job, len(buckets))
	for i, b := range buckets {
		out[i] = b.jobs
	}
	return out
}

// execName is the file name the go command gives the executable of the
// package at importPath when it writes into a directory: the last path
// element, or the one before a major-version suffix such as /v2.
func execName(importPath string, p platform.Platform) string {
	dir, elem := path.Split(importPath)
	if dir != "" && isMajorVersion(elem) {
		_, elem = path.Split(strings.TrimSuffix(dir, "/"))
	}
	if p.OS == "windows" {
		elem += ".exe"
	}
	return elem
}

func isMajorVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] == '0' || s[1] == '1' && len(s) == 2 {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// compile runs one go command for a group of binaries of one platform
// with the same flags, then hashes and records each output. A group of
// one builds straight to its output, as `go build -o OUT PKG` would.
func (o *options) compile(ctx context.Context, proj *project.Project, h *hasher, grp []*job) error {
	first := grp[0]
	names := make([]string, len(grp))
	for i, j := range grp {
		names[i] = j.m.Name
	}
	what := fmt.Sprintf("build %s for %s", strings.Join(names, ", "), first.p)
	if len(grp) == 1 {
		if err := o.run(ctx, proj.Root, first.now.Env, first.args); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	} else {
		hoistDir := filepath.Join(o.dist, ".hoist")
		if err := os.MkdirAll(hoistDir, 0o755); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		tmp, err := os.MkdirTemp(hoistDir, "link-")
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		defer os.RemoveAll(tmp)
		args := append(slices.Clone(first.args[:len(first.args)-3]), "-o", tmp+string(filepath.Separator))
		for _, j := range grp {
			args = append(args, j.m.Pkg())
		}
		if err := o.run(ctx, proj.Root, first.now.Env, args); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		for _, j := range grp {
			if err := os.Rename(filepath.Join(tmp, execName(j.m.ImportPath, j.p)), j.res.Path); err != nil {
				return fmt.Errorf("%s: move %s into place: %w", what, j.m.Name, err)
			}
		}
	}
	for _, j := range grp {
		if err := o.finish(ctx, h, j); err != nil {
			return err
		}
	}
	return nil
}

// finish hashes a compiled binary, records it and saves it to the remote.
func (o *options) finish(ctx context.Context, h *hasher, j *job) error {
	out := j.res.Path
	sum, size, err := checksum.SHA256File(ctx, out)
	if err != nil {
		return fmt.Errorf("build %s for %s: %w", j.m.Name, j.p, err)
	}
	if err := h.sc.Remember(out, sum); err != nil {
		return err
	}
	j.now.SHA256, j.now.Size = sum, size
	if err := h.writeRecord(j.recPath, &j.now); err != nil {
		return err
	}
	if o.remote != nil {
		if j.key == "" {
			j.key = remoteKey(j.now, j.m.ImportPath, j.m.Name, j.p.String(), j.res.Flags)
		}
		if err := o.remote.Save(ctx, j.key, out, sum, size); err != nil {
			return fmt.Errorf("build %s for %s: %w", j.m.Name, j.p, err)
		}
	}
	j.res.SHA256, j.res.Size, j.res.Duration = sum, size, time.Since(j.start)
	return nil
}

// args returns the go build arguments for one binary, output included.
func (o *options) args(m project.Main, out string) []string {
	ld := []string{"-s", "-w"}
	v := o.vars[m.Name]
	date := o.stamp.Date.UTC().Format(time.RFC3339)
	for _, group := range []struct {
		syms []string
		val  string
	}{{v.Version, o.stamp.Version}, {v.Commit, o.stamp.Commit}, {v.Date, date}} {
		for _, s := range group.syms {
			ld = append(ld, "-X", s+"="+group.val)
		}
	}
	ld = append(ld, o.ldflags...)
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", quoteLD(ld)}
	if len(o.tags) > 0 {
		args = append(args, "-tags", strings.Join(o.tags, ","))
	}
	return append(args, "-o", out, m.Pkg())
}

// quoteLD joins linker flags the way the go command splits them: a value
// with spaces is wrapped in whichever quote it does not contain.
func quoteLD(flags []string) string {
	out := make([]string, len(flags))
	for i, f := range flags {
		switch {
		case !strings.ContainsAny(f, " \t\n'\""):
			out[i] = f
		case !strings.Contains(f, "'"):
			out[i] = "'" + f + "'"
		default:
			out[i] = `"` + f + `"`
		}
	}
	return strings.Join(out, " ")
}

// variantVars are cleared for platforms without a variant so that the
// machine's own GOAMD64 or GOARM cannot leak into a build.
var variantVars = []string{"GOARM", "GOAMD64", "GOARM64", "GO386", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM"}

// buildEnv is the environment difference a build applies on top of the
// process environment; it is part of the skip key.
func (o *options) buildEnv(p platform.Platform) []string {
	env := []string{"CGO_ENABLED=0"}
	env = append(env, p.Env()...)
	set := map[string]bool{}
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		set[k] = true
	}
	for _, k := range variantVars {
		if !set[k] {
			env = append(env, k+"=")
		}
	}
	return append(env, o.env...)
}

func (o *options) goBuild(ctx context.Context, dir string, env, args []string) error {
	cmd := exec.CommandContext(ctx, o.gobin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cleanup := proc.Contain(cmd)
	err := cmd.Run()
	cleanup()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", o.gobin, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// goVersion identifies the toolchain and the go env settings that change
// its output without appearing in the build arguments.
func (o *options) goVersion(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, o.gobin, "env", "GOVERSION", "GOEXPERIMENT", "GOFIPS140", "GOTOOLCHAIN")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("ask %s for its version: %w: %s", o.gobin, err, strings.TrimSpace(stderr.String()))
	}
	f := strings.Split(strings.TrimSpace(string(out)), "\n")
	v := f[0]
	for i, k := range []string{"GOEXPERIMENT", "GOFIPS140", "GOTOOLCHAIN"} {
		if i+1 < len(f) && f[i+1] != "" && !(k == "GOFIPS140" && f[i+1] == "off") && !(k == "GOTOOLCHAIN" && f[i+1] == "auto") {
			v += " " + k + "=" + f[i+1]
		}
	}
	return v, nil
}

// changed names the first input that differs between two records, or ""
// when they match.
func changed(prev, now record) string {
	switch {
	case prev.GoVersion != now.GoVersion:
		return fmt.Sprintf("Go changed from %s to %s", prev.GoVersion, now.GoVersion)
	case prev.Stamp.Version != now.Stamp.Version:
		return fmt.Sprintf("version changed from %s to %s", prev.Stamp.Version, now.Stamp.Version)
	case prev.Stamp.Commit != now.Stamp.Commit:
		return fmt.Sprintf("commit changed from %s to %s", short(prev.Stamp.Commit), short(now.Stamp.Commit))
	case !prev.Stamp.Date.Equal(now.Stamp.Date):
		return fmt.Sprintf("build date changed from %s to %s", prev.Stamp.Date.Format(time.RFC3339), now.Stamp.Date.Format(time.RFC3339))
	case !slices.Equal(prev.Args, now.Args):
		return "build flags changed"
	case !slices.Equal(prev.Env, now.Env):
		return "build environment changed"
	case prev.SourceSet != "" && prev.SourceSet == now.SourceSet:
		return "" // the same stored set, checked file by file
	}
	var diffs []string
	for _, f := range sortedKeys(now.Sources) {
		old, ok := prev.Sources[f]
		switch {
		case !ok:
			diffs = append(diffs, f+" added")
		case old != now.Sources[f]:
			diffs = append(diffs, f+" changed")
		}
	}
	for _, f := range sortedKeys(prev.Sources) {
		if _, ok := now.Sources[f]; !ok {
			diffs = append(diffs, f+" removed")
		}
	}
	switch len(diffs) {
	case 0:
		return ""
	case 1, 2, 3:
		return "sources changed: " + strings.Join(diffs, ", ")
	default:
		return fmt.Sprintf("sources changed: %s and %d more", strings.Join(diffs[:3], ", "), len(diffs)-3)
	}
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	if commit == "" {
		return "none"
	}
	return commit
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// checkBinary confirms the output still holds what the record describes,
// so a deleted or edited binary is rebuilt. The stat cache spares reading
// a binary nobody touched.
func checkBinary(sc *statcache.Cache, path string, rec record) (string, int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", 0, errors.New("binary missing")
	}
	if fi.Size() != rec.Size {
		return "", 0, errors.New("binary modified since the last build")
	}
	sum, size, err := sc.Sum(path)
	if err != nil || sum != rec.SHA256 {
		return "", 0, errors.New("binary modified since the last build")
	}
	return sum, size, nil
}

func readRecord(path string) (record, error) {
	var r record
	data, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("read build record %s: %w", path, err)
	}
	return r, nil
}

// writeRecord stores r's sources as a set and r, naming the set, at path.
func (h *hasher) writeRecord(path string, r *record) error {
	if r.SourceSet == "" {
		set, err := h.saveSet(scan{Sources: r.Sources, Dirs: r.Dirs})
		if err != nil {
			return err
		}
		r.SourceSet = set
	}
	out := *r
	out.Sources, out.Dirs = nil, nil
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("encode build record: %w", err)
	}
	if err := atomicfile.ReplaceBytes(context.Background(), path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write build record %s: %w", path, err)
	}
	return nil
}
