package session

import (
	"context"

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
	ver := v.String()
	platforms, err := s.Cfg.ParsedPlatforms()
	if err != nil {
		return err
	}
	if err := platform.Validate(ctx, "go", platforms); err != nil {
		return err
	}
	rev, err := s.Revision(ctx)
	if err != nil {
		return err
	}
	vars := map[string]project.Vars{}
	for _, m := range s.Proj.Mains {
		if s.Cfg.VersionVars != nil {
			vars[m.Name] = *s.Cfg.VersionVars
			continue
		}
		if vars[m.Name], err = s.Proj.DiscoverVars(m); err != nil {
			return err
		}
		if vars[m.Name].Empty() {
			s.Logf("go:build", "%s declares no version variables (e.g. var version string in package main): nothing to stamp", m.Name)
		}
	}
	opts := []gobuild.Option{
		gobuild.WithDist(s.Dist()),
		gobuild.WithPlatforms(platforms...),
		gobuild.WithStamp(gobuild.Stamp{Version: ver, Commit: rev.Commit, Date: rev.Time}),
		gobuild.WithVars(vars),
		gobuild.WithLog(s.Writer("go:build")),
		gobuild.WithTags(s.Cfg.Tags...),
		gobuild.WithLDFlags(s.Cfg.LDFlags...),
		gobuild.WithForce(s.Getenv("HOIST_FORCE") == "1"),
	}
	if gf := s.Getenv("GOFLAGS"); gf != "" {
		opts = append(opts, gobuild.WithEnv("GOFLAGS="+gf))
	}
	if s.Cfg.Jobs > 0 {
		opts = append(opts, gobuild.WithJobs(s.Cfg.Jobs))
	}
	results, err := gobuild.Build(ctx, s.Proj, opts...)
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
