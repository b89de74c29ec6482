package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// scalePlatforms are the matrices of the scaling benchmark: one platform,
// hoist's default four, and eight.
var scalePlatforms = map[int][]string{
	1: {"linux/amd64"},
	4: defaultMatrix,
	8: append(append([]string{}, defaultMatrix...), "darwin/amd64", "windows/arm64", "linux/386", "freebsd/amd64"),
}

// scaleModule is the generated workload of one cell: bins main packages
// under cmd/, each importing internal/all, which imports files/10
// packages of ten files each (fewer files give one package).
func scaleModule(bins, files int) map[string]string {
	out := map[string]string{
		"go.mod":                "module example.com/scale\n\ngo 1.26\n",
		"VERSION":               "1.0.0\n",
		".gitignore":            "/dist/\n/raw/\n",
		"magefiles/magefile.go": zeroConfig,
	}
	pkgs := max(1, files/10)
	var imports, calls strings.Builder
	for p := range pkgs {
		fmt.Fprintf(&imports, "\tp%d \"example.com/scale/internal/p%d\"\n", p, p)
		fmt.Fprintf(&calls, "\tn += p%d.F0()\n", p)
		for f := range files / pkgs {
			var src strings.Builder
			fmt.Fprintf(&src, "package p%d\n\n", p)
			fmt.Fprintf(&src, "// F%d returns a number computed from a table, so that the file has some body.\n", f)
			fmt.Fprintf(&src, "func F%d() int {\n\tt := []int{", f)
			for k := range 40 {
				fmt.Fprintf(&src, "%d, ", (p*31+f*7+k)%97)
			}
			src.WriteString("}\n\ts := 0\n\tfor i, v := range t {\n\t\ts += i * v\n\t}\n")
			if f+1 < files/pkgs {
				fmt.Fprintf(&src, "\treturn s + F%d()%%3\n}\n", f+1)
			} else {
				src.WriteString("\treturn s\n}\n")
			}
			out[fmt.Sprintf("internal/p%d/f%d.go", p, f)] = src.String()
		}
	}
	out["internal/all/all.go"] = "package all\n\nimport (\n" + imports.String() + ")\n\n// Sum adds one result of every package.\nfunc Sum() int {\n\tn := 0\n" + calls.String() + "\treturn n\n}\n"
	for i := range bins {
		out[fmt.Sprintf("cmd/bin%02d/main.go", i)] = fmt.Sprintf("package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/scale/internal/all\"\n)\n\nvar version = \"dev\"\n\nfunc main() { fmt.Println(\"bin%02d\", version, all.Sum()) }\n", i)
	}
	return out
}

// rawMatrix builds every main package for every platform the way a
// knowledgeable user would by hand: one go build per platform writing
// all binaries into a directory, the platforms in parallel, as many at
// once as there are CPUs.
func rawMatrix(b *testing.B, c *consumer, plats []string, env []string) {
	var g errgroup.Group
	g.SetLimit(runtime.NumCPU())
	for _, p := range plats {
		goos, goarch, _ := strings.Cut(p, "/")
		g.Go(func() error {
			cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -X main.version=1.0.0",
				"-o", filepath.Join("raw", goos+"_"+goarch)+string(filepath.Separator), "./cmd/...")
			cmd.Dir, cmd.Env = c.dir, slices.Concat(c.env, env, []string{"CGO_ENABLED=0", "GOOS=" + goos, "GOARCH=" + goarch})
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("raw go build %s: %v\n%s", p, err, out)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkScaling measures go:build through the hoist command against
// raw parallel `go build` of the same matrix (rawMatrix) in every cell of
// 1/5/20 binaries × 1/4/8 platforms × 20/200/2,000 source files, with a
// warm Go build cache:
//
//   - fresh: no outputs (dist/ and raw/ removed), so every binary is linked;
//   - no-op: outputs present and nothing changed.
//
// The two sides alternate, scaleReps times per iteration, and each ratio
// is the sum of one side over the sum of the other, so load drift affects
// both alike. No environment knob is set.
//
//	go test ./e2e -run '^$' -bench 'Scaling|ColdSnapshot' -benchtime 1x -timeout 2h
//	BENCH='Scaling|ColdSnapshot' go tool mage bench
//
// A cell is picked with a sub-benchmark pattern, such as
// -bench 'Scaling/bins=20/plats=8/'.
func BenchmarkScaling(b *testing.B) {
	for _, bins := range []int{1, 5, 20} {
		for _, plats := range []int{1, 4, 8} {
			for _, files := range []int{20, 200, 2000} {
				b.Run(fmt.Sprintf("bins=%d/plats=%d/files=%d", bins, plats, files), func(b *testing.B) {
					scaleCell(b, bins, scalePlatforms[plats], files)
				})
			}
		}
	}
}

// scaleReps is how many paired repetitions one benchmark iteration of a
// cell runs, so that -benchtime 1x sets the module up once and still
// pairs several measurements.
const scaleReps = 3

func scaleCell(b *testing.B, bins int, plats []string, files int) {
	c := newConsumer(b, scaleModule(bins, files))
	env := []string{"PLATFORMS=" + strings.Join(plats, ","), "MAGEFILE_HASHFAST="}
	timed := func(fn func()) time.Duration {
		start := time.Now()
		fn()
		return time.Since(start)
	}
	clean := func(dir string) {
		if err := os.RemoveAll(c.path(dir)); err != nil {
			b.Fatal(err)
		}
	}
	hoistBuild := func(want string) {
		out := c.mustHoist(".", env, "go:build")
		if strings.Contains(out, "compiling the magefiles") || !strings.Contains(out, want) {
			b.Fatalf("go:build did not do what the cell measures (%q):\n%s", want, out)
		}
	}
	// Warm the Go build cache for every package and platform, and the
	// compiled magefile.
	rawMatrix(b, c, plats, nil)
	c.mustHoist(".", env, "go:build")

	var fresh, rawFresh, noop, rawNoop time.Duration
	b.ResetTimer()
	for range b.N * scaleReps {
		clean("dist")
		clean("raw")
		fresh += timed(func() { hoistBuild("built in") })
		rawFresh += timed(func() { rawMatrix(b, c, plats, nil) })
		noop += timed(func() { hoistBuild("skipped: up to date") })
		rawNoop += timed(func() { rawMatrix(b, c, plats, nil) })
	}
	b.StopTimer()
	n := float64(b.N * scaleReps)
	b.ReportMetric(float64(fresh.Milliseconds())/n, "fresh-ms")
	b.ReportMetric(float64(rawFresh.Milliseconds())/n, "raw-fresh-ms")
	b.ReportMetric(float64(fresh)/float64(rawFresh), "fresh/raw")
	b.ReportMetric(float64(noop.Milliseconds())/n, "noop-ms")
	b.ReportMetric(float64(rawNoop.Milliseconds())/n, "raw-noop-ms")
	b.ReportMetric(float64(noop)/float64(rawNoop), "noop/raw")
}

// BenchmarkColdSnapshot is the first run on a machine with an empty Go
// build cache: `hoist release:snapshot` of 5 binaries × 4 platforms × 200
// files (binaries, archives, SBOMs, checksums, the image and its push to
// the embedded registry, started from a prebuilt hoist-registry as a CI
// image or a configured registry provides it) against raw parallel
// `go build` of the same matrix, each from its own empty cache. The
// magefile is compiled beforehand: it is cached per machine, apart from
// the Go build cache.
func BenchmarkColdSnapshot(b *testing.B) {
	plats := scalePlatforms[4]
	files := scaleModule(5, 200)
	// The image's entrypoint is the binary named after the project.
	files["cmd/scale/main.go"] = files["cmd/bin00/main.go"]
	delete(files, "cmd/bin00/main.go")
	c := newConsumer(b, files)
	env := []string{"PLATFORMS=" + strings.Join(plats, ","), "MAGEFILE_HASHFAST=", "HOIST_REGISTRY_COMMAND=" + registryCommand(b)}
	c.mustHoist(".", env, "-l")
	var hoist, raw time.Duration
	b.ResetTimer()
	for range b.N {
		for _, dir := range []string{"dist", "raw"} {
			if err := os.RemoveAll(c.path(dir)); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		out := c.mustHoist(".", append(env, "GOCACHE="+b.TempDir()), "release:snapshot")
		hoist += time.Since(start)
		if !strings.Contains(out, "built in") {
			b.Fatalf("the snapshot built nothing:\n%s", out)
		}
		start = time.Now()
		rawMatrix(b, c, plats, []string{"GOCACHE=" + b.TempDir()})
		raw += time.Since(start)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(hoist.Seconds()/n, "snapshot-s")
	b.ReportMetric(raw.Seconds()/n, "raw-cold-s")
	b.ReportMetric(float64(hoist)/float64(raw), "snapshot/raw")
}
