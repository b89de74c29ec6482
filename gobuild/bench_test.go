package gobuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
)

// webProject is the repository's reference service, the workload the
// benchmarks in docs/benchmarks.md measure.
func webProject(b *testing.B) (*project.Project, []Option) {
	b.Helper()
	root, _ := filepath.Abs("..")
	proj, err := project.Discover(root, "cmd/web")
	if err != nil {
		b.Skip("cmd/web not present:", err)
	}
	vars, err := proj.DiscoverVars(proj.Mains[0])
	if err != nil {
		b.Fatal(err)
	}
	return proj, []Option{
		WithDist(b.TempDir()),
		WithStamp(Stamp{Version: "0.1.0", Commit: "0123456789abcdef", Date: time.Unix(1700000000, 0)}),
		WithVars(map[string]project.Vars{"web": vars}),
	}
}

// BenchmarkMatrix compiles the default 4-platform matrix in parallel with a
// warm Go build cache. Each iteration stamps a new date, so the go command
// cannot reuse a cached link: all four binaries are linked every time, as
// after a version bump.
func BenchmarkMatrix(b *testing.B) {
	proj, opts := webProject(b)
	if _, err := Build(b.Context(), proj, opts...); err != nil { // warm the cache
		b.Fatal(err)
	}
	n := int64(1700000000)
	for b.Loop() {
		n++
		o := append(opts, WithStamp(Stamp{Version: "0.1.0", Commit: "0123456789abcdef", Date: time.Unix(n, 0)}))
		if _, err := Build(b.Context(), proj, o...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawSerial runs the same four go build commands one after the
// other, as a shell loop would, with a new date stamp each iteration like
// BenchmarkMatrix: the baseline the parallel build must beat.
func BenchmarkRawSerial(b *testing.B) {
	proj, opts := webProject(b)
	o, err := makeOptions(proj.Root, opts)
	if err != nil {
		b.Fatal(err)
	}
	n := int64(1800000000)
	run := func() {
		n++
		o.stamp.Date = time.Unix(n, 0)
		for _, p := range platform.Defaults() {
			out := OutputPath(o.dist, "web", p)
			cmd := exec.Command("go", o.args(proj.Mains[0], out)...)
			cmd.Dir = proj.Root
			cmd.Env = append(os.Environ(), o.buildEnv(p)...)
			if msg, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, msg)
			}
		}
	}
	run()
	for b.Loop() {
		run()
	}
}

// BenchmarkNoop is the rerun with nothing changed: hashing sources and
// binaries, no compiler start.
func BenchmarkNoop(b *testing.B) {
	proj, opts := webProject(b)
	if _, err := Build(b.Context(), proj, opts...); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := Build(b.Context(), proj, opts...)
		if err != nil {
			b.Fatal(err)
		}
		if !res[0].Skipped {
			b.Fatalf("no-op rebuilt: %s", res[0].Reason)
		}
	}
}
