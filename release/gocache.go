package release

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/gocache"
	"github.com/hoistdev/hoist/project"
)

// CacheToolPackage is the GOCACHEPROG program hoist runs for the Go build
// cache, as go.mod lists it as a tool.
const CacheToolPackage = "github.com/hoistdev/hoist/cmd/hoist-cache"

// cacheRunsKept is how many runs' cache reports dist/ keeps.
const cacheRunsKept = 5

// CacheRunDir is where this process's cache reports go: a directory per
// run under dist/.hoist/cache-runs, named to sort by start time, holding a
// file per go command (go-*.json, written by hoist-cache) and per target
// that used hoist's own records (hoist-*.json).
func (w *Workspace) CacheRunDir() string {
	w.cacheRunOnce.Do(func() {
		w.cacheRun = w.Dist(".hoist", "cache-runs", fmt.Sprintf("%s-%d", time.Now().UTC().Format("20060102T150405.000000000"), pid))
	})
	return w.cacheRun
}

// pruneCacheRuns removes the reports of all but the latest runs.
func (w *Workspace) pruneCacheRuns() {
	runs, _ := filepath.Glob(w.Dist(".hoist", "cache-runs", "*"))
	slices.Sort(runs)
	for len(runs) > cacheRunsKept {
		if runs[0] != w.CacheRunDir() {
			_ = os.RemoveAll(runs[0])
		}
		runs = runs[1:]
	}
}

// writeRecordStats saves what a target's use of hoist's records in the
// cache did, in the format hoist-cache uses, for cache:stats.
func (w *Workspace) writeRecordStats(target string, s gocache.Stats) error {
	name := fmt.Sprintf("hoist-%s-%d.json", strings.NewReplacer(":", "-", "/", "-").Replace(target), time.Now().UnixNano())
	defer w.pruneCacheRuns()
	return gocache.WriteStats(filepath.Join(w.CacheRunDir(), name), s)
}

// GoCacheDir is the local tier of the Go build cache.
func (w *Workspace) GoCacheDir() string {
	if w.Cfg.Cache.Dir != "" {
		return w.Cfg.Path(w.Cfg.Cache.Dir)
	}
	if w.Env.CacheDir == "" {
		return ""
	}
	return filepath.Join(w.Env.CacheDir, "gocache")
}

// GoCacheProg is the GOCACHEPROG value that makes the go commands of this
// run (build, vet, test, list) use the shared cache of HOIST_CACHE, or ""
// when no cache is configured, the user set GOCACHEPROG, or this machine
// only reads the cache (Cache.Push): there the go commands keep the local
// GOCACHE, which a cache program in front of it would only slow down, and
// hoist's records still come from the cache. The program is
// CacheProg when set (in a mage run, the magefile binary itself, so that
// nothing has to be compiled first), else the hoist-cache tool from
// go.mod; without either only hoist's own records are shared, as it says.
func (w *Workspace) GoCacheProg(ctx context.Context) (string, error) {
	repo := w.Cfg.Cache.Repository
	if repo == "" || w.Env.GoCacheProg != "" || !w.Cfg.Cache.Pushes(w.Env.CI) {
		return "", nil
	}
	local := w.GoCacheDir()
	if local == "" {
		return "", fmt.Errorf("HOIST_CACHE needs a local cache directory: set HOME or XDG_CACHE_HOME, or Cache.Dir")
	}
	prog := w.CacheProg
	if len(prog) == 0 {
		var err error
		if prog, err = w.cacheTool(ctx); prog == nil || err != nil {
			return "", err
		}
	}
	w.pruneCacheRuns()
	args := append(slices.Clone(prog), "-dir", local, "-remote", repo, "-stats-dir", w.CacheRunDir())
	if w.Cfg.Cache.Strict {
		args = append(args, "-strict")
	}
	for i, a := range args {
		if strings.ContainsAny(a, " \t'\"") {
			args[i] = `"` + a + `"` // the go command splits GOCACHEPROG like a shell line
		}
	}
	return strings.Join(args, " "), nil
}

// cacheTool finds the hoist-cache tool listed in go.mod (the project's or
// magefiles/), compiling it if needed; nil when neither lists it.
func (w *Workspace) cacheTool(ctx context.Context) ([]string, error) {
	dir := ""
	for _, d := range []string{w.Cfg.Dir, filepath.Join(w.Cfg.Dir, "magefiles")} {
		if project.ListsTool(d, CacheToolPackage) {
			dir = d
			break
		}
	}
	if dir == "" {
		w.Logf("cache", "HOIST_CACHE shares hoist's build records only: for go build and go test to share compiled packages too, add the tool (go get -tool %s, in magefiles/ when it has its own go.mod)", CacheToolPackage)
		return nil, nil
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "tool", "-n", "hoist-cache")
	cmd.Dir, cmd.Stderr = dir, &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("find the hoist-cache tool (go tool -n hoist-cache in %s): %w: %s", w.Rel(dir), err, strings.TrimSpace(stderr.String()))
	}
	if d := time.Since(start); d > 2*time.Second {
		w.Logf("cache", "compiled hoist-cache, the Go build cache program, in %s (once per hoist version)", d.Round(time.Second))
	}
	return []string{strings.TrimSpace(string(out))}, nil
}

// RunCacheStats is what one run did with the shared cache.
type RunCacheStats struct {
	// Dir is the run's report directory.
	Dir string
	// GoCommands is how many go commands used hoist-cache; Go sums them.
	GoCommands int
	Go         gocache.Stats
	// Records sums the targets' use of hoist's own records (binaries,
	// packages, image layouts): a remote hit is a record restored.
	RecordTargets int
	Records       gocache.Stats
}

// LastCacheRun reads the reports of the latest run that used the cache.
func (w *Workspace) LastCacheRun() (RunCacheStats, error) {
	runs, err := filepath.Glob(w.Dist(".hoist", "cache-runs", "*"))
	if err != nil {
		return RunCacheStats{}, fmt.Errorf("list cache reports: %w", err)
	}
	slices.Sort(runs)
	for i := len(runs) - 1; i >= 0; i-- {
		files, _ := filepath.Glob(filepath.Join(runs[i], "*.json"))
		if len(files) == 0 {
			continue
		}
		r := RunCacheStats{Dir: runs[i]}
		for _, f := range files {
			s, err := gocache.ReadStats(f)
			if err != nil {
				return RunCacheStats{}, err
			}
			if strings.HasPrefix(filepath.Base(f), "hoist-") {
				r.RecordTargets++
				r.Records.Add(s)
			} else {
				r.GoCommands++
				r.Go.Add(s)
			}
		}
		return r, nil
	}
	return RunCacheStats{}, fmt.Errorf("no run has used a shared cache in %s yet: set HOIST_CACHE (see docs/consumers.md) and run a target that builds", w.Rel(w.Dist()))
}

// CacheStats reports what the latest run that used the cache did with it:
// hits, misses and bytes each way, for the Go build cache and for hoist's
// own records.
func (w *Workspace) CacheStats(ctx context.Context) error {
	r, err := w.LastCacheRun()
	if err != nil {
		return err
	}
	all := r.Go
	all.Add(r.Records)
	where := all.Remote
	if where == "" {
		where = "local only"
	}
	w.Logf("cache:stats", "last run %s, %s, cache %s", all.Start.Local().Format(time.DateTime), all.End.Sub(all.Start).Round(time.Millisecond), where)
	if r.GoCommands > 0 {
		w.Logf("cache:stats", "go build cache (%d go commands): %s", r.GoCommands, r.Go)
	}
	if r.RecordTargets > 0 {
		rs := r.Records
		w.Logf("cache:stats", "hoist records (binaries, packages, images): %d restored (%s down), %d not there, %d stored (%s up), %d corrupt ignored",
			rs.RemoteHits, humanBytes(rs.BytesDownloaded), rs.Misses, rs.Uploads, humanBytes(rs.BytesUploaded), rs.Corrupt)
	}
	return nil
}

// DefaultCacheMaxAge is how long PruneCache keeps unused entries when no
// age is given.
const DefaultCacheMaxAge = 30 * 24 * time.Hour

// PruneCache trims the local tier of the Go build cache: entries unused
// for maxAge (DefaultCacheMaxAge when zero), then the least recently used
// until it is under maxBytes (no limit when zero).
func (w *Workspace) PruneCache(ctx context.Context, maxAge time.Duration, maxBytes int64) error {
	if maxAge <= 0 {
		maxAge = DefaultCacheMaxAge
	}
	dir := w.GoCacheDir()
	if dir == "" {
		return fmt.Errorf("no local cache directory: set HOME or XDG_CACHE_HOME, or Cache.Dir")
	}
	p, err := gocache.Prune(ctx, dir, maxAge, maxBytes)
	if err != nil {
		return err
	}
	w.Logf("cache:prune", "%s: removed %d entries and %d outputs (%s); %d entries (%s) kept",
		dir, p.Entries, p.Outputs, humanBytes(p.Bytes), p.KeptEntries, humanBytes(p.KeptBytes))
	return nil
}
