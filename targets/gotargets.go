package targets

import (
	"context"
	"io"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
)

// Go groups the Go toolchain targets: tidy, vet, test, build and bench.
type Go mg.Namespace

// Tidy runs go mod tidy; in CI (CI set) or with TIDY=check it only checks.
//
// Check mode writes nothing: it fails when go.mod or go.sum would change,
// printing the diff, and then runs go mod verify.
func (Go) Tidy(ctx context.Context) error {
	s, err := load()
	if err != nil {
		return err
	}
	check := s.getenv("CI") != "" || s.getenv("TIDY") == "check"
	return gobuild.Tidy(ctx, s.cfg.Dir, check, s.out)
}

// tidyCheck is the release's tidy step: always check mode.
func tidyCheck(ctx context.Context) error {
	s, err := load()
	if err != nil {
		return err
	}
	return gobuild.Tidy(ctx, s.cfg.Dir, true, s.out)
}

// Vet runs go vet ./...
func (Go) Vet(ctx context.Context) error {
	s, err := load()
	if err != nil {
		return err
	}
	return gobuild.Vet(ctx, s.cfg.Dir, s.out)
}

// Test runs go test -race -cover over every package and gates total coverage.
//
// Env: COVERAGE_MIN (default 80, -1 disables the gate), TEST_ARGS (extra go
// test arguments, e.g. "-run TestX -count=1").
func (Go) Test(ctx context.Context) error {
	s, err := load()
	if err != nil {
		return err
	}
	_, err = gobuild.Test(ctx, s.cfg.Dir, s.out, gobuild.TestOptions{
		NoRace:      s.cfg.NoRace,
		CoverageMin: s.cfg.CoverageMin,
		Profile:     s.dist("coverage.out"),
		Args:        s.cfg.TestArgs,
		Env:         s.cfg.TestEnv,
	})
	return err
}

// Build cross-compiles every main package for the platform matrix into dist/.
//
// The version comes from VERSION, the commit and date from git
// (SOURCE_DATE_EPOCH overrides the date). Unchanged binaries are skipped,
// and each line says why a binary was built or skipped.
// Env: PLATFORMS (e.g. "linux/amd64,linux/arm/v7"), HOIST_JOBS, HOIST_FORCE=1.
func (Go) Build(ctx context.Context) error {
	s, err := load()
	if err != nil {
		return err
	}
	v, err := s.readVersion()
	if err != nil {
		return err
	}
	return s.build(ctx, v.String())
}

// build compiles the matrix with the given version and records the binaries.
func (s *session) build(ctx context.Context, version string) error {
	platforms, err := s.cfg.ParsedPlatforms()
	if err != nil {
		return err
	}
	if err := platform.Validate(ctx, "go", platforms); err != nil {
		return err
	}
	rev, err := s.revision(ctx)
	if err != nil {
		return err
	}
	vars := map[string]project.Vars{}
	for _, m := range s.proj.Mains {
		if s.cfg.VersionVars != nil {
			vars[m.Name] = *s.cfg.VersionVars
			continue
		}
		if vars[m.Name], err = s.proj.DiscoverVars(m); err != nil {
			return err
		}
		if vars[m.Name].Empty() {
			s.logf("go:build", "%s declares no version variables (e.g. var version string in package main): nothing to stamp", m.Name)
		}
	}
	opts := []gobuild.Option{
		gobuild.WithDist(s.dist()),
		gobuild.WithPlatforms(platforms...),
		gobuild.WithStamp(gobuild.Stamp{Version: version, Commit: rev.Commit, Date: rev.Time}),
		gobuild.WithVars(vars),
		gobuild.WithLog(prefixWriter{w: s.out, prefix: "go:build: "}),
		gobuild.WithTags(s.cfg.Tags...),
		gobuild.WithLDFlags(s.cfg.LDFlags...),
		gobuild.WithForce(s.getenv("HOIST_FORCE") == "1"),
	}
	if gf := s.getenv("GOFLAGS"); gf != "" {
		opts = append(opts, gobuild.WithEnv("GOFLAGS="+gf))
	}
	if s.cfg.Jobs > 0 {
		opts = append(opts, gobuild.WithJobs(s.cfg.Jobs))
	}
	results, err := gobuild.Build(ctx, s.proj, opts...)
	if err != nil {
		return err
	}
	bins := make([]artifact.Artifact, len(results))
	for i, r := range results {
		bins[i] = r.Artifact(s.cfg.Dir)
	}
	s.arts.Replace(artifact.Binary, bins...)
	return s.saveArtifacts()
}

// Bench runs the Go benchmarks of every package once, with memory stats.
//
// Env: BENCH (benchmark regexp, default "."), BENCHTIME (default 1x).
func (Go) Bench(ctx context.Context) error {
	s, err := load()
	if err != nil {
		return err
	}
	pattern, benchtime := s.getenv("BENCH"), s.getenv("BENCHTIME")
	if pattern == "" {
		pattern = "."
	}
	if benchtime == "" {
		benchtime = "1x"
	}
	return gobuild.Run(ctx, s.cfg.Dir, s.out, "test", "-run=^$", "-bench="+pattern, "-benchtime="+benchtime, "-benchmem", "./...")
}

// prefixWriter prefixes each line written through it.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	lines := strings.SplitAfter(string(b), "\n")
	var sb strings.Builder
	for _, l := range lines {
		if l != "" {
			sb.WriteString(p.prefix + l)
		}
	}
	if _, err := p.w.Write([]byte(sb.String())); err != nil {
		return 0, err
	}
	return len(b), nil
}
