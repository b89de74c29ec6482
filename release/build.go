package release

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/universal"
)

// BuildBinaries compiles the platform matrix stamped with st and records
// the binaries in the artifact list, replacing what an earlier build
// recorded.
func (w *Workspace) BuildBinaries(ctx context.Context, st Stamp) ([]gobuild.Result, error) {
	unlock, err := w.lockDist()
	if err != nil {
		return nil, err
	}
	defer unlock()
	results, err := w.build(ctx, st, false)
	if err != nil {
		return nil, err
	}
	bins := make([]artifact.Artifact, len(results))
	for i, r := range results {
		bins[i] = r.Artifact(w.Cfg.Dir)
	}
	w.Arts.Replace(artifact.Binary, bins...)
	return results, w.SaveArtifacts()
}

// build runs gobuild over the matrix with the stamp st; with dryRun it
// only decides, per binary, whether it would be built and why.
func (w *Workspace) build(ctx context.Context, st Stamp, dryRun bool) ([]gobuild.Result, error) {
	platforms, err := w.Cfg.ParsedPlatforms()
	if err != nil {
		return nil, err
	}
	if err := platform.Validate(ctx, "go", platforms); err != nil {
		return nil, err
	}
	vars := map[string]project.Vars{}
	if w.Cfg.VersionVars == nil {
		vc := project.OpenVarsCache(filepath.Join(w.Dist(), ".hoist", "vars.json"), w.statCache())
		if vars, err = w.Proj.DiscoverAllVarsCached(vc, w.Proj.Mains...); err != nil {
			return nil, err
		}
		if !dryRun {
			if err := vc.Save(ctx); err != nil {
				w.Logf("go:build", "note: %v (the next run reads the sources again)", err)
			}
		}
	}
	for _, m := range w.Proj.Mains {
		if w.Cfg.VersionVars != nil {
			vars[m.Name] = *w.Cfg.VersionVars
			continue
		}
		if vars[m.Name].Empty() && !dryRun {
			w.Logf("go:build", "%s declares no version variables (e.g. var version string in package main): nothing to stamp", m.Name)
		}
	}
	var log io.Writer = io.Discard
	if !dryRun {
		log = w.Writer("go:build")
	}
	opts := []gobuild.Option{
		gobuild.WithDist(w.Dist()),
		gobuild.WithPlatforms(platforms...),
		gobuild.WithMainPlatforms(w.mainPlatforms(platforms)),
		gobuild.WithStamp(gobuild.Stamp{Version: st.Version.String(), Commit: st.Rev.Commit, Date: st.Rev.Time}),
		gobuild.WithVars(vars),
		gobuild.WithLog(log),
		gobuild.WithTags(w.Cfg.Tags...),
		gobuild.WithLDFlags(w.Cfg.LDFlags...),
		gobuild.WithForce(w.Env.Force),
		gobuild.WithDryRun(dryRun),
	}
	if w.Env.GoFlags != "" {
		opts = append(opts, gobuild.WithEnv("GOFLAGS="+w.Env.GoFlags))
	}
	if !dryRun {
		cache, err := w.openBuildCache(ctx, "go:build")
		if err != nil {
			return nil, err
		}
		if cache != nil {
			defer cache.close()
			opts = append(opts, gobuild.WithRemote(cache))
		}
	}
	if w.Cfg.Jobs > 0 {
		opts = append(opts, gobuild.WithJobs(w.Cfg.Jobs))
	}
	if !dryRun {
		opts = append(opts, gobuild.WithStatCache(w.statCache()))
		defer w.saveStats(ctx, "go:build")
	}
	if w.onBuildWork != nil && !dryRun {
		opts = append(opts, gobuild.WithOnWork(w.onBuildWork))
	}
	results, err := gobuild.Build(ctx, w.Proj, opts...)
	if err != nil || !w.Cfg.Release.Universal {
		return results, err
	}
	return w.universal(ctx, results, dryRun)
}

// darwinAll is the platform name of universal darwin binaries, as
// archives and release.json show it (web_1.2.3_darwin_all.tar.gz).
var darwinAll = platform.Platform{OS: "darwin", Arch: "all"}

// universal adds a universal darwin binary for every binary built for
// both darwin/amd64 and darwin/arm64 (Release.Universal), made from those
// two; Release.UniversalReplace then drops the two from the results, so
// only the universal one is archived.
func (w *Workspace) universal(ctx context.Context, results []gobuild.Result, dryRun bool) ([]gobuild.Result, error) {
	type pair struct{ amd, arm *gobuild.Result }
	pairs := map[string]*pair{}
	var names []string
	for i := range results {
		r := &results[i]
		if r.Platform.OS != "darwin" || r.Platform.Variant != "" {
			continue
		}
		p := pairs[r.Name]
		if p == nil {
			p = &pair{}
			pairs[r.Name] = p
			names = append(names, r.Name)
		}
		switch r.Platform.Arch {
		case "amd64":
			p.amd = r
		case "arm64":
			p.arm = r
		}
	}
	var out []gobuild.Result
	for _, name := range names {
		p := pairs[name]
		if p.amd == nil || p.arm == nil {
			if !dryRun {
				w.Logf("go:build", "%s: no universal darwin binary, since this build has not both darwin/amd64 and darwin/arm64 (Release.Universal)", name)
			}
			continue
		}
		dst := filepath.Join(w.Dist(), name+"_darwin_all", name)
		u := gobuild.Result{Name: name, Platform: darwinAll, Path: dst, Flags: p.arm.Flags, Env: p.arm.Env,
			Skipped: p.amd.Skipped && p.arm.Skipped, Reason: "made from darwin/amd64 and darwin/arm64"}
		if u.Skipped {
			if _, err := os.Stat(dst); err != nil {
				u.Skipped = false
				u.Reason = "universal binary missing: made from darwin/amd64 and darwin/arm64"
			} else {
				u.Reason = "up to date: darwin/amd64 and darwin/arm64 unchanged"
			}
		}
		if !dryRun {
			start := time.Now()
			if !u.Skipped {
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return nil, err
				}
				if err := universal.Write(ctx, dst, p.amd.Path, p.arm.Path); err != nil {
					return nil, err
				}
			}
			sum, size, err := w.statCache().Sum(dst)
			if err != nil {
				return nil, fmt.Errorf("hash %s: %w", dst, err)
			}
			u.SHA256, u.Size, u.Duration = sum, size, time.Since(start)
			if !u.Skipped {
				w.Logf("go:build", "%-10s %-16s made in %s: %s", name, darwinAll, u.Duration.Round(time.Millisecond), u.Reason)
			}
		}
		out = append(out, u)
	}
	if w.Cfg.Release.UniversalReplace {
		results = slices.DeleteFunc(slices.Clone(results), func(r gobuild.Result) bool {
			_, ok := pairs[r.Name]
			return ok && pairs[r.Name].amd != nil && pairs[r.Name].arm != nil && r.Platform.OS == "darwin" && (r.Platform.Arch == "amd64" || r.Platform.Arch == "arm64")
		})
	}
	return append(results, out...), nil
}

// buildSummary is the one line a plan and a run both give for the build:
// which binaries are (or would be) compiled and why, or that all are up to
// date. Both derive it from gobuild's decisions, so they cannot disagree.
func buildSummary(results []gobuild.Result) (compiled bool, line string) {
	var stale []string
	for _, r := range results {
		if !r.Skipped {
			stale = append(stale, fmt.Sprintf("%s %s (%s)", r.Name, r.Platform, r.Reason))
		}
	}
	if len(stale) == 0 {
		return false, fmt.Sprintf("all %s up to date: sources, flags, stamp and Go unchanged", count(len(results), "binary", "binaries"))
	}
	return true, fmt.Sprintf("%d of %s to compile: %s", len(stale), count(len(results), "binary", "binaries"), strings.Join(stale, "; "))
}

// mainPlatforms are the binaries with platforms of their own
// (Binaries[…].Platforms), each with its part of matrix.
func (w *Workspace) mainPlatforms(matrix []platform.Platform) map[string][]platform.Platform {
	m := map[string][]platform.Platform{}
	for name, b := range w.Cfg.Binaries {
		if len(b.Platforms) > 0 {
			m[name] = w.Cfg.BinaryPlatforms(name, matrix)
		}
	}
	return m
}
