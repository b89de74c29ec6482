package e2e

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// defaultMatrix is hoist's default platform list, which go:build builds
// when PLATFORMS is not set.
var defaultMatrix = []string{"linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64"}

// BenchmarkLauncherNoop measures what a maintainer waits for when nothing
// changed, through the hoist command with no environment knob: a no-op
// go:build against a raw no-op `go build` of the same matrix (one process
// per platform, as many at once as there are CPUs, which is what go:build
// replaces), and a no-op release:snapshot. The same go:build through the
// mage CLI (go tool -C magefiles mage -w .., no MAGEFILE_HASHFAST) is
// reported beside them for comparison. The sides alternate in
// every iteration, so that load drift affects both alike; the reported
// ratio is the sum of one side over the sum of the other.
//
//	BENCH=LauncherNoop BENCHTIME=20x go tool mage bench
func BenchmarkLauncherNoop(b *testing.B) {
	c := newConsumer(b, map[string]string{
		"go.mod":                "module example.com/acme/shop\n\ngo 1.26\n",
		"VERSION":               "0.1.0\n",
		".gitignore":            "/dist/\n/raw/\n",
		"cmd/shop/main.go":      stampMain,
		"internal/cart/cart.go": "package cart\n",
		"magefiles/magefile.go": zeroConfig,
	})
	// The consumer environment sets MAGEFILE_HASHFAST for the mage CLI;
	// the launcher does not read it, and the benchmark drops it anyway.
	env := []string{"MAGEFILE_HASHFAST="}
	rawBuild := func() error {
		var g errgroup.Group
		g.SetLimit(runtime.NumCPU())
		for _, p := range defaultMatrix {
			goos, goarch, _ := strings.Cut(p, "/")
			g.Go(func() error {
				cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -X main.version=0.1.0",
					"-o", filepath.Join("raw", goos+"_"+goarch, "shop"), "./cmd/shop")
				cmd.Dir, cmd.Env = c.dir, slices.Concat(c.env, []string{"CGO_ENABLED=0", "GOOS=" + goos, "GOARCH=" + goarch})
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("raw go build %s: %v\n%s", p, err, out)
				}
				return nil
			})
		}
		return g.Wait()
	}
	timed := func(fn func()) time.Duration {
		start := time.Now()
		fn()
		return time.Since(start)
	}
	// Warm up: the one-time compile, the first build and the raw outputs.
	// go:build stamps VERSION and a snapshot its snapshot version, so each
	// rebuilds what the other built: they are measured one after the other.
	c.mustHoist(".", env, "go:build")
	_ = rawBuild()
	_ = rawBuild()

	var hoistBuild, raw, mageCLI, snapshot time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hoistBuild += timed(func() {
			if out := c.mustHoist(".", env, "go:build"); strings.Contains(out, "compiling") || strings.Contains(out, "built in") {
				b.Fatalf("go:build was not a no-op:\n%s", out)
			}
		})
		raw += timed(func() { _ = rawBuild() })
		mageCLI += timed(func() { c.mustMage(env, "go:build") })
	}
	b.StopTimer()
	c.mustHoist(".", env, "release:snapshot")
	b.StartTimer()
	for i := 0; i < b.N; i++ {
		snapshot += timed(func() {
			if out := c.mustHoist(".", env, "release:snapshot"); !strings.Contains(out, "nothing to push") || strings.Contains(out, "built in") {
				b.Fatalf("release:snapshot was not a no-op:\n%s", out)
			}
		})
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(hoistBuild.Milliseconds())/n, "go:build-ms")
	b.ReportMetric(float64(raw.Milliseconds())/n, "raw-go-build-ms")
	b.ReportMetric(float64(hoistBuild)/float64(raw), "go:build/raw")
	b.ReportMetric(float64(mageCLI.Milliseconds())/n, "mage-cli-go:build-ms")
	b.ReportMetric(float64(snapshot.Milliseconds())/n, "snapshot-ms")
}
