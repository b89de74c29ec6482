package release

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
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
	return gobuild.Build(ctx, w.Proj, opts...)
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
