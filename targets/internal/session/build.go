package session

import (
	"context"
	"io"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
)

// BuildBinaries compiles the matrix with the run's version and records the
// binaries in the artifact list.
func (s *Session) BuildBinaries(ctx context.Context) error {
	v, err := s.Version()
	if err != nil {
		return err
	}
	rev, err := s.Revision(ctx)
	if err != nil {
		return err
	}
	results, err := s.build(ctx, v.String(), rev, false)
	if err != nil {
		return err
	}
	bins := make([]artifact.Artifact, len(results))
	for i, r := range results {
		bins[i] = r.Artifact(s.Cfg.Dir)
	}
	s.Arts.Replace(artifact.Binary, bins...)
	return s.SaveArtifacts()
}

// build runs gobuild over the matrix with the given stamp; with dryRun it
// only decides, per binary, whether it would be built and why.
func (s *Session) build(ctx context.Context, ver string, rev project.Revision, dryRun bool) ([]gobuild.Result, error) {
	platforms, err := s.Cfg.ParsedPlatforms()
	if err != nil {
		return nil, err
	}
	if err := platform.Validate(ctx, "go", platforms); err != nil {
		return nil, err
	}
	vars := map[string]project.Vars{}
	for _, m := range s.Proj.Mains {
		if s.Cfg.VersionVars != nil {
			vars[m.Name] = *s.Cfg.VersionVars
			continue
		}
		if vars[m.Name], err = s.Proj.DiscoverVars(m); err != nil {
			return nil, err
		}
		if vars[m.Name].Empty() && !dryRun {
			s.Logf("go:build", "%s declares no version variables (e.g. var version string in package main): nothing to stamp", m.Name)
		}
	}
	var log io.Writer = io.Discard
	if !dryRun {
		log = s.Writer("go:build")
	}
	opts := []gobuild.Option{
		gobuild.WithDist(s.Dist()),
		gobuild.WithPlatforms(platforms...),
		gobuild.WithStamp(gobuild.Stamp{Version: ver, Commit: rev.Commit, Date: rev.Time}),
		gobuild.WithVars(vars),
		gobuild.WithLog(log),
		gobuild.WithTags(s.Cfg.Tags...),
		gobuild.WithLDFlags(s.Cfg.LDFlags...),
		gobuild.WithForce(s.Getenv("HOIST_FORCE") == "1"),
		gobuild.WithDryRun(dryRun),
	}
	if gf := s.Getenv("GOFLAGS"); gf != "" {
		opts = append(opts, gobuild.WithEnv("GOFLAGS="+gf))
	}
	if s.Cfg.Jobs > 0 {
		opts = append(opts, gobuild.WithJobs(s.Cfg.Jobs))
	}
	return gobuild.Build(ctx, s.Proj, opts...)
}
