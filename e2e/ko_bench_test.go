package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/benchcmp"
)

// ko is the ko binary for comparisons: HOIST_KO, else ko on PATH, else "".
func ko() string {
	if p := os.Getenv("HOIST_KO"); p != "" {
		return p
	}
	p, _ := exec.LookPath("ko")
	return p
}

// BenchmarkImageVsKo compares the image step with ko on equal work: a
// two-platform image of one small service, built from its sources and
// pushed to the same local registry (the real embedded registry on
// loopback).
//
//   - fresh: no dist/ and a new repository each time, so hoist builds both
//     binaries, the image and pushes every blob (`hoist image:push`), and
//     ko builds, layers and pushes (`ko build --bare`);
//   - no-op: the same command again with nothing changed.
//
// The sides alternate and each ratio is the sum of one side over the sum
// of the other. ko comes from HOIST_KO or PATH; without it the benchmark
// is skipped:
//
//	GOBIN=~/.cache/hoist-tools/ko go install github.com/google/ko@v0.19.1
//	HOIST_KO=~/.cache/hoist-tools/ko/ko go test ./e2e -run '^$' -bench ImageVsKo -benchtime 10x
func BenchmarkImageVsKo(b *testing.B) {
	koBin := ko()
	if koBin == "" {
		b.Skip("no ko (set HOIST_KO or put it on PATH)")
	}
	plats := []string{"linux/amd64", "linux/arm64"}
	host := cacheRegistry(b)
	if err := benchcmp.PushStaticBase(host+"/base:static", plats); err != nil {
		b.Skip(err)
	}
	c := newConsumer(b, cacheService)
	env := []string{"PLATFORMS=" + strings.Join(plats, ","), "MAGEFILE_HASHFAST="}
	koEnv := append(append([]string{}, c.env...), "KO_DEFAULTBASEIMAGE="+host+"/base:static")
	koBuild := func(repo string) {
		cmd := exec.Command(koBin, "build", "--bare", "--sbom=none", "--platform="+strings.Join(plats, ","), "./cmd/svc")
		cmd.Dir, cmd.Env = c.dir, append(koEnv, "KO_DOCKER_REPO="+host+"/"+repo)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ko build: %v\n%s", err, out)
		}
	}
	hoistPush := func(repo, want string) {
		out := c.mustHoist(".", append(env, "REGISTRY="+host+"/"+repo), "image:push")
		if !strings.Contains(out, want) {
			b.Fatalf("image:push did not do what the benchmark measures (%q):\n%s", want, out)
		}
	}
	timed := func(fn func()) time.Duration {
		start := time.Now()
		fn()
		return time.Since(start)
	}
	// Warm the Go build cache and the compiled magefile.
	c.mustHoist(".", env, "go:build")
	koBuild("warm")

	var fresh, koFresh, noop, koNoop time.Duration
	b.ResetTimer()
	for i := range b.N {
		if err := os.RemoveAll(c.path("dist")); err != nil {
			b.Fatal(err)
		}
		repo := fmt.Sprintf("run%d", i)
		fresh += timed(func() { hoistPush("hoist-"+repo, "built in") })
		koFresh += timed(func() { koBuild("ko-" + repo) })
		noop += timed(func() { hoistPush("hoist-"+repo, "") })
		koNoop += timed(func() { koBuild("ko-" + repo) })
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(fresh.Milliseconds())/n, "fresh-ms")
	b.ReportMetric(float64(koFresh.Milliseconds())/n, "ko-fresh-ms")
	b.ReportMetric(float64(fresh)/float64(koFresh), "fresh/ko")
	b.ReportMetric(float64(noop.Milliseconds())/n, "noop-ms")
	b.ReportMetric(float64(koNoop.Milliseconds())/n, "ko-noop-ms")
	b.ReportMetric(float64(noop)/float64(koNoop), "noop/ko")
}
