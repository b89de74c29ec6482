package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/registry"
)

// cacheService is a small HTTP service: a main package and a library
// package with a test, whose cold build compiles a good part of the
// standard library.
var cacheService = map[string]string{
	"go.mod":     "module example.com/acme/svc\n\ngo 1.26\n",
	"VERSION":    "0.1.0\n",
	".gitignore": "/dist/\n",
	"cmd/svc/main.go": `package main

import (
	"log/slog"
	"net/http"
	"os"

	"example.com/acme/svc/internal/api"
)

var version, commit, date string

func main() {
	slog.Info("starting", "version", version, "commit", commit, "date", date)
	if err := http.ListenAndServe(":8080", api.Handler(version)); err != nil {
		slog.Error("serve", "err", err)
		os.Exit(1)
	}
}
`,
	"internal/api/api.go": `package api

import (
	"encoding/json"
	"net/http"
)

// Handler answers /version with the version as JSON.
func Handler(version string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"version": version})
	})
	return mux
}
`,
	"internal/api/api_test.go": `package api

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler("1.2.3").ServeHTTP(rec, httptest.NewRequest("GET", "/version", nil))
	if !strings.Contains(rec.Body.String(), "1.2.3") {
		t.Fatalf("body = %q", rec.Body.String())
	}
}
`,
	"magefiles/magefile.go": zeroConfig,
}

// tinyService is what TestSharedCacheAcrossRunners builds: a main package
// and a library with a test, importing little of the standard library, so
// that each runner's cold build (runner A's and the runner whose cache is
// down) stays short while the cache still serves every go command and
// every hoist record; BenchmarkTwoRunners measures cacheService.
var tinyService = map[string]string{
	"go.mod":     "module example.com/acme/svc\n\ngo 1.26\n",
	"VERSION":    "0.1.0\n",
	".gitignore": "/dist/\n",
	"cmd/svc/main.go": `package main

import (
	"os"

	"example.com/acme/svc/internal/greet"
)

var version, commit, date string

func main() { _, _ = os.Stdout.WriteString(greet.Line(version, commit, date)) }
`,
	"internal/greet/greet.go": `package greet

// Line is the service's one line of output.
func Line(version, commit, date string) string {
	return "svc " + version + " " + commit + " " + date + "\n"
}
`,
	"internal/greet/greet_test.go": `package greet

import "testing"

func TestLine(t *testing.T) {
	if got := Line("1.2.3", "abc", "today"); got != "svc 1.2.3 abc today\n" {
		t.Fatalf("Line() = %q", got)
	}
}
`,
	"magefiles/magefile.go": zeroConfig,
}

var (
	registryExeOnce sync.Once
	registryExe     string
	registryExeErr  error
)

// registryCommand builds hoist-registry once, so that runners with an
// empty Go build cache start the embedded registry without compiling it
// (a CI image would carry it the same way).
func registryCommand(t testing.TB) string {
	t.Helper()
	registryExeOnce.Do(func() {
		registryExe = filepath.Join(work, "bin", "hoist-registry")
		cmd := exec.Command("go", "build", "-o", registryExe, "./cmd/hoist-registry")
		cmd.Dir = hoistRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			registryExeErr = err
			t.Logf("%s", out)
		}
	})
	if registryExeErr != nil {
		t.Fatalf("build cmd/hoist-registry: %v", registryExeErr)
	}
	return registryExe
}

// cacheRegistry serves a shared cache: the real embedded registry
// (distribution, filesystem storage) on a loopback port.
func cacheRegistry(t testing.TB) string {
	t.Helper()
	proc, err := registry.Start(t.Context(), registry.WithDataDir(t.TempDir()), registry.WithAddr("127.0.0.1:0"), registry.WithCommand(registryCommand(t)))
	if err != nil {
		t.Fatalf("start the cache registry: %v", err)
	}
	t.Cleanup(func() { _ = proc.Stop(t.Context()) })
	return proc.Host()
}

// runnerClone is a fresh CI runner's checkout of c: a clone with no dist/,
// and an environment with an empty Go build cache, an empty hoist cache
// directory (where the shared cache's local tier lives), its own embedded
// registry storage, and the compiled magefiles and tools that a CI image
// or a tools cache provides. extra is added last.
func runnerClone(t testing.TB, c *consumer, extra ...string) *consumer {
	t.Helper()
	r := &consumer{t: t, dir: filepath.Join(t.TempDir(), "repo"), data: t.TempDir()}
	if out, err := exec.Command("git", "clone", "-q", c.dir, r.dir).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	r.env = append(append([]string(nil), c.env...),
		"GOCACHE="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir(), "HOIST_REGISTRY_DATA="+r.data,
		"HOIST_REGISTRY_COMMAND="+registryCommand(t))
	r.env = append(r.env, extra...)
	return r
}

var statsLine = regexp.MustCompile(`go build cache \((\d+) go commands\): (\d+) hits \((\d+) local, (\d+) remote\), (\d+) misses`)

// goCacheStats reads cache:stats' go build cache line: go commands, local
// hits, remote hits, misses.
func goCacheStats(t testing.TB, out string) (cmds, local, remote, misses int) {
	t.Helper()
	m := statsLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("cache:stats printed no go build cache line:\n%s", out)
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	return n(m[1]), n(m[3]), n(m[4]), n(m[5])
}

// TestSharedCacheAcrossRunners drives the shared cache through the real
// CLI: runner A, a clone with empty caches, vets and snapshots a
// service with HOIST_CACHE on a real registry; runner B, another such
// clone, gets the same snapshot restored (binaries, packages, image) and
// its go commands' results from the registry, and cache:stats says so;
// a runner whose cache is unreachable builds locally with one warning.
func TestSharedCacheAcrossRunners(t *testing.T) {
	if testing.Short() {
		t.Skip("cold builds")
	}
	host := cacheRegistry(t)
	a := newConsumer(t, tinyService)
	// The compiled magefiles, from the suite's warm Go build cache.
	a.mustHoist(".", nil, "-l")
	// CI runners store in the cache; elsewhere hoist only reads it.
	shared := []string{"HOIST_CACHE=" + host + "/team/gocache", "PLATFORMS=linux/amd64", "CI=true"}

	ra := runnerClone(t, a, shared...)
	out := ra.mustHoist(".", nil, "go:vet", "release:snapshot")
	if strings.Contains(out, "restored from cache") || !strings.Contains(out, "stored") {
		t.Fatalf("runner A restored something from an empty cache, or stored nothing:\n%s", out)
	}
	stats := ra.mustHoist(".", nil, "cache:stats")
	if cmds, _, remote, misses := goCacheStats(t, stats); cmds == 0 || remote != 0 || misses == 0 {
		t.Errorf("runner A's cache:stats = %d go commands, %d remote hits, %d misses; want misses and no remote hits:\n%s", cmds, remote, misses, stats)
	}

	rb := runnerClone(t, a, shared...)
	out = rb.mustHoist(".", nil, "go:vet", "release:snapshot")
	t.Logf("runner B:\n%s", out)
	stats = rb.mustHoist(".", nil, "cache:stats")
	cmds, local, remote, misses := goCacheStats(t, stats)
	// Local hits are what one go command fetched and a later one reused.
	if cmds == 0 || remote == 0 || misses >= remote {
		t.Errorf("runner B's cache:stats = %d go commands, %d local and %d remote hits, %d misses; want mostly remote hits:\n%s", cmds, local, remote, misses, stats)
	}
	if !strings.Contains(stats, "hoist records") || !regexp.MustCompile(`hoist records [^\n]*: [1-9]\d* restored`).MatchString(stats) {
		t.Errorf("runner B's cache:stats shows no hoist records restored:\n%s", stats)
	}
	for _, f := range []string{"dist/checksums.txt", "dist/image/index.json"} {
		x, _ := os.ReadFile(ra.path(f))
		y, _ := os.ReadFile(rb.path(f))
		if len(x) == 0 || string(x) != string(y) {
			t.Errorf("%s differs between runner A and runner B (restored)", f)
		}
	}

	// The cache down: one warning, a local build, the same snapshot.
	rc := runnerClone(t, a, "HOIST_CACHE="+closedAddr(t)+"/team/gocache", "PLATFORMS=linux/amd64")
	out = rc.mustHoist(".", nil, "release:snapshot")
	if strings.Contains(out, "restored from cache") || !strings.Contains(out, "cannot be used") {
		t.Errorf("runner C with the cache down: want a warning and a local build:\n%s", out)
	}
	if x, y := readFile(t, ra.path("dist/checksums.txt")), readFile(t, rc.path("dist/checksums.txt")); x != y {
		t.Errorf("runner C's local build differs from runner A's:\n%s\n%s", x, y)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// goreleaserConfig is the GoReleaser side of BenchmarkTwoRunners: the same
// four binaries, flags, archives and checksums as hoist's snapshot.
const goreleaserConfig = `version: 2
project_name: svc
dist: dist-goreleaser
builds:
  - id: svc
    main: ./cmd/svc
    binary: svc
    env: [CGO_ENABLED=0]
    flags: [-trimpath]
    mod_timestamp: "{{ .CommitTimestamp }}"
    ldflags:
      - -s -w -X main.version={{.Version}} -X main.commit={{.Commit}} -X main.date={{.CommitDate}}
    targets: [linux_amd64, linux_arm64, darwin_arm64, windows_amd64]
archives:
  - formats: [tar.gz]
    format_overrides:
      - goos: windows
        formats: [zip]
checksum:
  name_template: checksums.txt
changelog:
  disable: true
release:
  disable: true
`

// goreleaser is the GoReleaser binary for comparisons: HOIST_GORELEASER,
// else goreleaser on PATH, else "".
func goreleaser() string {
	if p := os.Getenv("HOIST_GORELEASER"); p != "" {
		return p
	}
	p, _ := exec.LookPath("goreleaser")
	return p
}

// BenchmarkTwoRunners is the shared cache's benchmark. Fresh runners,
// each a clone of a small service with an empty Go build cache, an empty
// hoist cache directory and no dist/, share one cache registry on
// loopback (the real embedded registry). Runner A runs a cold
// release:snapshot (default four platforms) and fills the cache, once;
// then, b.N times, a new runner B runs the same snapshot from the cache,
// and a warm no-op snapshot follows on B. GoReleaser's cold snapshot of
// the same service (when HOIST_GORELEASER or PATH has goreleaser) runs
// once, for comparison. Last, the cache's overhead on a warm local build:
// go:build after an edit, with HOIST_CACHE and without, in alternating
// pairs, on a developer's machine (the cache only read) and on a CI
// runner (results stored). The runners start with the magefiles and
// hoist-registry compiled, as a CI image or tools cache provides them.
//
//	BENCH=TwoRunners BENCHTIME=10x go tool mage bench
func BenchmarkTwoRunners(b *testing.B) {
	host := cacheRegistry(b)
	c := newConsumer(b, cacheService)
	c.mustHoist(".", nil, "-l")
	gr := goreleaser()
	if gr != "" {
		writeTree(b, c.dir, map[string]string{".goreleaser.yaml": goreleaserConfig, ".gitignore": "/dist/\n/dist-goreleaser/\n"})
		c.run(".", "git", "add", "-A")
		c.run(".", "git", "commit", "-qm", "chore: goreleaser config")
	} else {
		b.Log("no goreleaser (set HOIST_GORELEASER or put it on PATH): its figure is left out")
	}
	timed := func(fn func()) time.Duration {
		start := time.Now()
		fn()
		return time.Since(start)
	}
	runner := func() *consumer { return runnerClone(b, c, "HOIST_CACHE="+host+"/bench/svc", "CI=true") }

	ra := runner()
	runA := timed(func() {
		if out := ra.mustHoist(".", nil, "release:snapshot"); strings.Contains(out, "restored from cache") {
			b.Fatalf("runner A restored from an empty cache:\n%s", out)
		}
	})
	var grCold time.Duration
	if gr != "" {
		rg := runnerClone(b, c)
		grCold = timed(func() {
			cmd := exec.CommandContext(b.Context(), gr, "release", "--snapshot", "--clean")
			cmd.Dir, cmd.Env = rg.dir, rg.env
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("goreleaser: %v\n%s", err, out)
			}
		})
	}

	var runB, warm time.Duration
	var rb *consumer
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rb = runner()
		flushDisk()
		b.StartTimer()
		runB += timed(func() {
			if out := rb.mustHoist(".", nil, "release:snapshot"); strings.Count(out, "restored from cache (key bin-") != len(defaultMatrix) {
				b.Fatalf("runner B did not restore every binary:\n%s", out)
			}
		})
		warm += timed(func() {
			if out := rb.mustHoist(".", nil, "release:snapshot"); !strings.Contains(out, "nothing to push") || strings.Contains(out, "built in") {
				b.Fatalf("the warm snapshot was not a no-op:\n%s", out)
			}
		})
	}
	b.StopTimer()

	// The overhead on a warm local build: an edit, then go:build, with
	// the cache and without, alternating, each side warmed first. On a
	// developer's machine hoist only reads the cache (a lookup per
	// binary); on a CI runner it stores, and the go commands go through
	// the cache program.
	const pairs = 5
	var withCache, without [2]time.Duration
	flushDisk()
	edits := 0
	edit := func() {
		edits++
		writeTree(b, rb.dir, map[string]string{"internal/api/edit.go": fmt.Sprintf("package api\n\nconst edit = %d\n", edits)})
	}
	for m, where := range []string{"CI=", "CI=true"} {
		with, plain := []string{where}, []string{where, "HOIST_CACHE="}
		edit()
		rb.mustHoist(".", plain, "go:build")
		edit()
		rb.mustHoist(".", with, "go:build")
		for p := 0; p < pairs; p++ {
			edit()
			withCache[m] += timed(func() { rb.mustHoist(".", with, "go:build") })
			edit()
			without[m] += timed(func() { rb.mustHoist(".", plain, "go:build") })
		}
	}

	n := float64(b.N)
	b.ReportMetric(runA.Seconds(), "A-cold-s")
	b.ReportMetric(runB.Seconds()/n, "B-from-cache-s")
	b.ReportMetric(warm.Seconds()/n, "warm-noop-s")
	b.ReportMetric(runA.Seconds()/(runB.Seconds()/n), "A/B")
	b.ReportMetric(float64(runB)/float64(warm), "B/warm")
	if gr != "" {
		b.ReportMetric(grCold.Seconds(), "goreleaser-cold-s")
	}
	b.ReportMetric(100*(float64(withCache[0])/float64(without[0])-1), "dev-build-overhead-%")
	b.ReportMetric(100*(float64(withCache[1])/float64(without[1])-1), "ci-build-overhead-%")
}
