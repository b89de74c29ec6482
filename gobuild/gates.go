package gobuild

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/proc"
)

// Tidy runs `go mod tidy` in dir. With check set it changes nothing: it
// fails when go.mod or go.sum would change, with the diff in the error, and
// then runs `go mod verify` to confirm the module cache matches go.sum.
func Tidy(ctx context.Context, dir string, check bool, w io.Writer) error {
	if !check {
		if err := run(ctx, dir, w, "go", "mod", "tidy"); err != nil {
			return fmt.Errorf("go mod tidy: %w", err)
		}
		return nil
	}
	var diff bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy", "-diff")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &diff, &diff
	cleanup := proc.Contain(cmd)
	err := cmd.Run()
	cleanup()
	if err != nil {
		if _, ok := err.(*exec.ExitError); ok && diff.Len() > 0 && strings.Contains(diff.String(), "@@") {
			return fmt.Errorf("go.mod/go.sum are not tidy: run `go mod tidy` (or `go tool mage go:tidy`) and commit the result:\n%s", diff.String())
		}
		return fmt.Errorf("go mod tidy -diff: %w\n%s", err, strings.TrimSpace(diff.String()))
	}
	if err := run(ctx, dir, w, "go", "mod", "verify"); err != nil {
		return fmt.Errorf("go mod verify: the module cache does not match go.sum (run `go clean -modcache` and retry): %w", err)
	}
	return nil
}

// Vet runs `go vet` over the packages (default ./...).
func Vet(ctx context.Context, dir string, w io.Writer, pkgs ...string) error {
	if len(pkgs) == 0 {
		pkgs = []string{"./..."}
	}
	if err := run(ctx, dir, w, "go", append([]string{"vet"}, pkgs...)...); err != nil {
		return fmt.Errorf("go vet: %w", err)
	}
	return nil
}

// Run runs the go command with args in dir, streaming its output to w, for
// targets that need a plain go invocation such as benchmarks.
func Run(ctx context.Context, dir string, w io.Writer, args ...string) error {
	return run(ctx, dir, w, "go", args...)
}

// run streams a command's output to w and returns its error with the
// command line; the output itself has already gone to w.
func run(ctx context.Context, dir string, w io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = w, w
	cleanup := proc.Contain(cmd)
	err := cmd.Run()
	cleanup()
	if err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// TestOptions configures Test.
type TestOptions struct {
	// Packages to test. Default: ./...
	Packages []string
	// NoRace turns the race detector off. Default: on, which needs cgo.
	NoRace bool
	// Timeout is go test's -timeout; zero keeps go test's default.
	Timeout time.Duration
	// CoverageMin is the lowest total statement coverage, in percent, that
	// passes; zero lets any coverage pass, and a negative value disables the
	// gate.
	CoverageMin float64
	// Gate says where CoverageMin comes from and how to change it, for the
	// failure; default: the CoverageMin setting and COVERAGE_MIN.
	Gate string
	// Profile is where the merged coverage profile is written. Required.
	Profile string
	// Args are extra `go test` arguments, such as -run or -count=1.
	Args []string
	// Env adds environment variables for the tests.
	Env []string
	// Heartbeat is how long the report stays silent before it names the
	// packages still running. Default: 5s.
	Heartbeat time.Duration
}

// Coverage is the statement coverage of one package.
type Coverage struct {
	// Package is the import path, or "total".
	Package string
	// Statements counts the package's statements.
	Statements int
	// Covered counts the statements the tests ran.
	Covered int
}

// Percent returns the coverage in percent; a package with no statements
// counts as fully covered.
func (c Coverage) Percent() float64 {
	if c.Statements == 0 {
		return 100
	}
	return 100 * float64(c.Covered) / float64(c.Statements)
}

// Test runs `go test -race -cover` with a merged coverage profile and
// reports to w as it goes: each package as it ends, numbered against the
// packages to test, the whole output of what fails, and the packages still
// running whenever nothing was said for Heartbeat. Then it prints
// per-package coverage and the total and fails when the total is under the
// gate.
func Test(ctx context.Context, dir string, w io.Writer, opts TestOptions) (total Coverage, err error) {
	if opts.Profile == "" {
		return total, fmt.Errorf("test: no coverage profile path given")
	}
	pkgs := opts.Packages
	if len(pkgs) == 0 {
		pkgs = []string{"./..."}
	}
	args := []string{"test"}
	if !opts.NoRace {
		args = append(args, "-race")
	}
	if opts.Timeout > 0 {
		args = append(args, "-timeout="+opts.Timeout.String())
	}
	args = append(args, "-cover", "-covermode=atomic", "-coverprofile="+opts.Profile)
	args = append(args, opts.Args...)
	args = append(args, pkgs...)
	if err := os.MkdirAll(filepath.Dir(opts.Profile), 0o755); err != nil {
		return total, fmt.Errorf("test: %w", err)
	}
	env := append(os.Environ(), opts.Env...)
	total0 := countPackages(ctx, dir, env, pkgs)
	fmt.Fprintf(w, "go test %s: %s\n", strings.Join(pkgs, " "), plural(total0, "package", "packages"))
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-json"}, args[1:]...)...)
	cmd.Dir = dir
	cmd.Env = env
	rep := newTestReport(w, total0, cmp.Or(opts.Heartbeat, 5*time.Second))
	stderr := rep.lines()
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return total, fmt.Errorf("test: %w", err)
	}
	cleanup := proc.Contain(cmd)
	if err := cmd.Start(); err != nil {
		_ = stderr.Close()
		cleanup()
		return total, fmt.Errorf("test: start go test: %w", err)
	}
	stop, beat := make(chan struct{}), make(chan struct{})
	go func() { rep.heartbeat(stop); close(beat) }()
	readErr := rep.consume(stdout)
	// Whatever the report could not read must still be read, or go test
	// blocks on a full pipe and never exits.
	_, _ = io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	close(stop)
	<-beat // w is the caller's again
	_ = stderr.Close()
	cleanup()
	if err == nil && readErr != nil {
		err = readErr
	}
	if err != nil {
		if rep.raced && !opts.NoRace {
			return total, fmt.Errorf("go test failed: the race detector found a data race (see its output above); fix it, or run the tests without -race by setting NoRace in the config (targets.NoRace) or RACE=0: %w", err)
		}
		return total, fmt.Errorf("go test failed (see its output above): %w", err)
	}
	f, err := os.Open(opts.Profile)
	if err != nil {
		return total, fmt.Errorf("read coverage profile: %w", err)
	}
	defer f.Close()
	per, err := ParseProfile(f)
	if err != nil {
		return total, err
	}
	total = Coverage{Package: "total"}
	fmt.Fprintln(w, "\ncoverage by package:")
	for _, c := range per {
		total.Statements += c.Statements
		total.Covered += c.Covered
		fmt.Fprintf(w, "  %6.1f%%  %s\n", c.Percent(), c.Package)
	}
	gate := "no gate"
	if opts.CoverageMin >= 0 {
		gate = fmt.Sprintf("gate %.1f%%", opts.CoverageMin)
	}
	fmt.Fprintf(w, "  %6.1f%%  total (%d of %d statements), %s\n", total.Percent(), total.Covered, total.Statements, gate)
	// Compared to a tenth of a percent, as printed, so that a ratchet
	// recorded as 63.2 passes a run of 63.2 however it rounds.
	if opts.CoverageMin >= 0 && math.Round(total.Percent()*10) < math.Round(opts.CoverageMin*10) {
		how := cmp.Or(opts.Gate, "lower the gate in the config (CoverageMin) or with COVERAGE_MIN")
		return total, fmt.Errorf("total coverage %.1f%% is below the %.1f%% gate: add tests, or %s", total.Percent(), opts.CoverageMin, how)
	}
	return total, nil
}

// ParseProfile reads a Go coverage profile and sums statements per package.
// A block listed more than once (one package's blocks appear in every test
// binary that covers it) is counted once, covered if any run covered it.
func ParseProfile(r io.Reader) ([]Coverage, error) {
	type block struct {
		stmts   int
		covered bool
	}
	blocks := map[string]*block{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if strings.HasPrefix(line, "mode:") {
				continue
			}
		}
		if line == "" {
			continue
		}
		// file.go:12.34,15.2 3 1
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("coverage profile: bad line %q", line)
		}
		stmts, err1 := strconv.Atoi(f[1])
		count, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || !strings.Contains(f[0], ":") {
			return nil, fmt.Errorf("coverage profile: bad line %q", line)
		}
		b := blocks[f[0]]
		if b == nil {
			b = &block{stmts: stmts}
			blocks[f[0]] = b
		}
		b.covered = b.covered || count > 0
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("coverage profile: %w", err)
	}
	per := map[string]*Coverage{}
	for key, b := range blocks {
		file, _, _ := strings.Cut(key, ":")
		pkg := path.Dir(file)
		c := per[pkg]
		if c == nil {
			c = &Coverage{Package: pkg}
			per[pkg] = c
		}
		c.Statements += b.stmts
		if b.covered {
			c.Covered += b.stmts
		}
	}
	out := make([]Coverage, 0, len(per))
	for _, c := range per {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Coverage) int { return strings.Compare(a.Package, b.Package) })
	return out, nil
}

// countPackages is how many packages the patterns match, for the report's
// n/total; 0 when go list cannot tell (the test run then reports why).
func countPackages(ctx context.Context, dir string, env, pkgs []string) int {
	cmd := exec.CommandContext(ctx, "go", append([]string{"list", "-e"}, pkgs...)...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.Output()
	if err != nil {
		return 0
	}
	return len(strings.Fields(string(out)))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
