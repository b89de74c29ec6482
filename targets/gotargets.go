package targets

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// Go groups the Go toolchain targets: tidy, vet, test, build and bench.
type Go mg.Namespace

// Tidy runs go mod tidy; in CI (CI set) or with TIDY=check it only checks.
//
// Check mode writes nothing: it fails when go.mod or go.sum would change,
// printing the diff, and then runs go mod verify.
func (Go) Tidy(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return gobuild.Tidy(ctx, s.Cfg.Dir, s.Env.TidyCheck, s.Out)
}

// Vet runs go vet ./...
func (Go) Vet(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return gobuild.Vet(ctx, s.Cfg.Dir, s.Out)
}

// Test runs go test -race -cover over every package and gates total coverage.
//
// By default the gate is a ratchet: coverage may not drop below what the
// last release recorded in its tag, and a first release records it.
// Env: COVERAGE_MIN (a fixed gate in percent; 0 or -1 disable it; ratchet
// is the default), RACE (1 or 0: the race detector on or off, whatever the
// config says), TEST_TIMEOUT (go test's -timeout per package, e.g. 20m),
// TEST_ARGS (extra go test arguments, e.g. "-run TestX -count=1").
func (Go) Test(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	min, how := s.CoverageGate(ctx)
	s.Logf("test", "%s", how)
	if s.Cfg.NoRace {
		s.Logf("test", "race detector off (NoRace in the config or RACE=0; RACE=1 turns it on)")
	}
	gate := ""
	if s.Cfg.CoverageMin == 0 {
		gate = "set a fixed gate in the config (CoverageMin) or with COVERAGE_MIN if the drop is wanted"
	}
	total, err := gobuild.Test(ctx, s.Cfg.Dir, s.Out, gobuild.TestOptions{
		Packages:    s.Cfg.TestPackages,
		NoRace:      s.Cfg.NoRace,
		Timeout:     s.Cfg.TestTimeout,
		CoverageMin: min,
		Gate:        gate,
		Profile:     s.Dist("coverage.out"),
		Args:        s.Cfg.TestArgs,
		Env:         s.Cfg.TestEnv,
	})
	if err != nil {
		return err
	}
	if len(s.Cfg.TestArgs) > 0 {
		return nil // a subset of the tests measures a subset of the coverage
	}
	return s.RecordCoverage(ctx, total.Percent())
}

// Vuln fails when a known vulnerability is reachable from the released binaries (govulncheck).
//
// govulncheck at symbol level over the main packages, for each operating
// system of the build matrix. Each finding shows its ID, the module, the
// found and fixed versions, the call path and the fix; vulnerabilities that
// are only imported or required are reported without failing. Vuln.Allow
// accepts one knowingly until a date. An unreadable database fails the
// gate. Env: HOIST_VULN=off (skip it on purpose), HOIST_VULN_DB (an
// https:// URL, a file:/// copy, or "module" for golang.org/x/vulndb
// through GOPROXY; default https://vuln.go.dev), PLATFORMS.
func (Go) Vuln(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return s.VulnCheck(ctx)
}

// Build cross-compiles every main package for the platform matrix into dist/.
//
// The version comes from VERSION, the commit and date from git
// (SOURCE_DATE_EPOCH overrides the date). Unchanged binaries are skipped,
// and each line says why a binary was built or skipped.
// Env: PLATFORMS (e.g. "linux/amd64,linux/arm/v7"), HOIST_JOBS, HOIST_FORCE=1.
func (Go) Build(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	st, err := s.CurrentStamp(ctx)
	if err != nil {
		return err
	}
	_, err = s.BuildBinaries(ctx, st)
	return err
}

// Bench runs the Go benchmarks of every package once, with memory stats.
//
// Env: BENCH (benchmark regexp, default "."), BENCHTIME (default 1x).
func (Go) Bench(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	pattern, benchtime := s.Env.Bench, s.Env.BenchTime
	if pattern == "" {
		pattern = "."
	}
	if benchtime == "" {
		benchtime = "1x"
	}
	return gobuild.Run(ctx, s.Cfg.Dir, s.Out, "test", "-run=^$", "-bench="+pattern, "-benchtime="+benchtime, "-benchmem", "./...")
}
