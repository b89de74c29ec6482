package gobuild

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
)

const mainSrc = `package main

import (
	"fmt"
	"example.com/svc/internal/info"
)

var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() { fmt.Println(version, commit, date, info.Name) }
`

// newModule writes a small module with one main package under cmd/svc.
func newModule(t *testing.T) *project.Project {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":                     "module example.com/svc\n\ngo 1.26\n",
		"cmd/svc/main.go":            mainSrc,
		"internal/info/info.go":      "package info\n\nconst Name = \"svc\"\n",
		"internal/info/info_test.go": "package info\n",
		"README.md":                  "docs are not sources\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proj, err := project.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	return proj
}

var host = platform.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}

func stampOpts(proj *project.Project, version string) []Option {
	vars, _ := proj.DiscoverVars(proj.Mains[0])
	return []Option{
		WithStamp(Stamp{Version: version, Commit: "abc123", Date: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}),
		WithVars(map[string]project.Vars{proj.Mains[0].Name: vars}),
	}
}

// countingRunner wraps the real go build and counts compiler starts.
func countingRunner(n *atomic.Int32) Option {
	return func(o *options) {
		real := o.goBuild
		o.run = func(ctx context.Context, dir string, env, args []string) error {
			n.Add(1)
			return real(ctx, dir, env, args)
		}
	}
}

func TestBuildStampsAndSkips(t *testing.T) {
	proj := newModule(t)
	var starts atomic.Int32
	var log bytes.Buffer
	opts := append(stampOpts(proj, "1.2.3"), WithPlatforms(host, platform.Platform{OS: "linux", Arch: "arm", Variant: "v7"}), WithLog(&log), countingRunner(&starts))

	res, err := Build(t.Context(), proj, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || starts.Load() != 2 {
		t.Fatalf("Build() = %d results with %d compiler starts, want 2 and 2", len(res), starts.Load())
	}
	want := filepath.Join(proj.Root, "dist", "svc_"+host.Slug(), "svc")
	if res[0].Path != want || res[0].Skipped || res[0].Reason != "no previous build" {
		t.Errorf("Build()[0] = %+v, want a fresh build at %s", res[0], want)
	}
	if _, err := os.Stat(filepath.Join(proj.Root, "dist", "svc_linux_arm_v7", "svc")); err != nil {
		t.Errorf("arm/v7 binary missing: %v", err)
	}
	out, err := exec.Command(res[0].Path).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), "1.2.3 abc123 2024-01-02T03:04:05Z svc"; got != want {
		t.Errorf("stamped binary printed %q, want %q", got, want)
	}

	// Nothing changed: no compiler start, and the log says why.
	log.Reset()
	res, err = Build(t.Context(), proj, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if starts.Load() != 2 || !res[0].Skipped || !res[1].Skipped {
		t.Fatalf("no-op rerun started the compiler (%d starts) or did not skip: %+v", starts.Load(), res)
	}
	if !strings.Contains(log.String(), "skipped: up to date") {
		t.Errorf("no-op log = %q, want a skip reason", log.String())
	}
	// Both platforms compile the same files: one stored source set.
	sets := func() int {
		entries, _ := os.ReadDir(filepath.Join(proj.Root, "dist", ".hoist", "build", "sets"))
		return len(entries)
	}
	if n := sets(); n != 1 {
		t.Errorf("%d source sets stored for two platforms with the same files, want 1", n)
	}

	// A touched but unchanged source is read again, and is no change.
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(proj.Root, "internal", "info", "info.go"), later, later)
	if res, _ = Build(t.Context(), proj, opts...); !res[0].Skipped {
		t.Errorf("touching info.go rebuilt: %s", res[0].Reason)
	}

	// A docs edit is not a source change.
	os.WriteFile(filepath.Join(proj.Root, "README.md"), []byte("new docs"), 0o644)
	if res, _ = Build(t.Context(), proj, opts...); !res[0].Skipped {
		t.Errorf("README edit rebuilt: %s", res[0].Reason)
	}

	// A source edit stores a new set and drops the old one.
	os.WriteFile(filepath.Join(proj.Root, "internal", "info", "info.go"), []byte("package info\n\nconst Name = \"new\"\n"), 0o644)
	if res, _ = Build(t.Context(), proj, opts...); res[0].Skipped || sets() != 1 {
		t.Errorf("after a source edit: skipped %v, %d source sets; want a rebuild and one set", res[0].Skipped, sets())
	}
}

func TestBuildRebuildReasons(t *testing.T) {
	proj := newModule(t)
	var starts atomic.Int32
	base := append(stampOpts(proj, "1.0.0"), WithPlatforms(host), countingRunner(&starts))
	if _, err := Build(t.Context(), proj, base...); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(t *testing.T) []Option
		want   string
	}{
		{name: "version", change: func(t *testing.T) []Option { return stampOpts(proj, "1.1.0") }, want: "version changed from 1.0.0 to 1.1.0"},
		{name: "flags", change: func(t *testing.T) []Option { return append(stampOpts(proj, "1.1.0"), WithTags("netgo")) }, want: "build flags changed"},
		{name: "env", change: func(t *testing.T) []Option {
			return append(stampOpts(proj, "1.1.0"), WithTags("netgo"), WithEnv("GOFLAGS=-mod=mod"))
		}, want: "build environment changed"},
		{name: "imported source", change: func(t *testing.T) []Option {
			os.WriteFile(filepath.Join(proj.Root, "internal", "info", "info.go"), []byte("package info\n\nconst Name = \"svc2\"\n"), 0o644)
			return append(stampOpts(proj, "1.1.0"), WithTags("netgo"), WithEnv("GOFLAGS=-mod=mod"))
		}, want: "sources changed: internal/info/info.go changed"},
		{name: "file added to a package", change: func(t *testing.T) []Option {
			os.WriteFile(filepath.Join(proj.Root, "internal", "info", "extra.go"), []byte("package info\n\nconst Extra = 1\n"), 0o644)
			return append(stampOpts(proj, "1.1.0"), WithTags("netgo"), WithEnv("GOFLAGS=-mod=mod"))
		}, want: "sources changed: internal/info/extra.go added"},
		{name: "edit with the modification time put back", change: func(t *testing.T) []Option {
			p := filepath.Join(proj.Root, "internal", "info", "info.go")
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(p, []byte("package info\n\nconst Name = \"svc3\"\n"), 0o644) // same size
			if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
			return append(stampOpts(proj, "1.1.0"), WithTags("netgo"), WithEnv("GOFLAGS=-mod=mod"))
		}, want: "sources changed: internal/info/info.go changed"},
		{name: "deleted binary", change: func(t *testing.T) []Option {
			os.Remove(filepath.Join(proj.Root, "dist", "svc_"+host.Slug(), "svc"))
			return append(stampOpts(proj, "1.1.0"), WithTags("netgo"), WithEnv("GOFLAGS=-mod=mod"))
		}, want: "binary missing"},
		{name: "edited binary", change: func(t *testing.T) []Option {
			p := filepath.Join(proj.Root, "dist", "svc_"+host.Slug(), "svc")
			data, _ := os.ReadFile(p)
			data[len(data)-1] ^= 0xff
			os.WriteFile(p, data, 0o755)
			return append(stampOpts(proj, "1.1.0"), WithTags("netgo"), WithEnv("GOFLAGS=-mod=mod"))
		}, want: "binary modified"},
		{name: "forced", change: func(t *testing.T) []Option {
			return append(stampOpts(proj, "1.1.0"), WithTags("netgo"), WithEnv("GOFLAGS=-mod=mod"), WithForce(true))
		}, want: "forced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := starts.Load()
			opts := append(tt.change(t), WithPlatforms(host), countingRunner(&starts))
			res, err := Build(t.Context(), proj, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Skipped || !strings.Contains(res[0].Reason, tt.want) || starts.Load() != before+1 {
				t.Errorf("Build() after %s = skipped %v, reason %q, %d starts; want a rebuild because %q", tt.name, res[0].Skipped, res[0].Reason, starts.Load()-before, tt.want)
			}
		})
	}
}

// TestBuildReproducible builds the same module from two copies at
// different paths: -trimpath and the fixed stamp must give the same bytes.
func TestBuildReproducible(t *testing.T) {
	first := newModule(t)
	second := t.TempDir()
	if err := os.CopyFS(second, os.DirFS(first.Root)); err != nil {
		t.Fatal(err)
	}
	other, err := project.Discover(second)
	if err != nil {
		t.Fatal(err)
	}
	linux := platform.Platform{OS: "linux", Arch: "amd64"}
	var sums []string
	for _, proj := range []*project.Project{first, other} {
		res, err := Build(t.Context(), proj, append(stampOpts(proj, "2.0.0"), WithPlatforms(linux), WithDist(t.TempDir()))...)
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, res[0].SHA256)
	}
	if sums[0] != sums[1] {
		t.Errorf("builds from %s and %s differ: %s vs %s", first.Root, second, sums[0], sums[1])
	}
}

func TestBuildErrors(t *testing.T) {
	proj := newModule(t)
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{name: "no platforms", opts: []Option{WithPlatforms()}, want: "no platforms"},
		{name: "zero jobs", opts: []Option{WithJobs(0)}, want: "at least 1"},
		{name: "empty version", opts: []Option{WithStamp(Stamp{})}, want: "VERSION"},
		{name: "missing go", opts: []Option{WithGo("/nonexistent/go")}, want: "ask /nonexistent/go"},
		{name: "compile error", opts: []Option{WithPlatforms(host), WithLDFlags("-bogusflag")}, want: "build svc for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(t.Context(), proj, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build(%s) error = %v, want one containing %q", tt.name, err, tt.want)
			}
		})
	}
	if _, err := Build(t.Context(), &project.Project{Root: proj.Root, Module: proj.Module}); err == nil {
		t.Error("Build(no mains) = nil error, want one")
	}
}

// TestBuildWebForLinux builds the repository's own reference service, as
// the release does, and checks the stamp by running the host binary.
func TestBuildWeb(t *testing.T) {
	root, _ := filepath.Abs("..")
	if _, err := os.Stat(filepath.Join(root, "cmd", "web")); err != nil {
		t.Skip("cmd/web not present")
	}
	proj, err := project.Discover(root, "cmd/web")
	if err != nil {
		t.Fatal(err)
	}
	vars, err := proj.DiscoverVars(proj.Mains[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(vars.Version) == 0 || len(vars.Commit) == 0 {
		t.Fatalf("DiscoverVars(cmd/web) = %+v, want version and commit variables", vars)
	}
	dist := t.TempDir()
	res, err := Build(t.Context(), proj, WithDist(dist), WithPlatforms(host, platform.Platform{OS: "linux", Arch: "arm64"}),
		WithStamp(Stamp{Version: "9.8.7", Commit: "feedface", Date: time.Unix(1700000000, 0)}),
		WithVars(map[string]project.Vars{"web": vars}))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(res[0].Path, "-version").CombinedOutput()
	if err != nil {
		t.Fatalf("web -version: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "9.8.7") || !strings.Contains(string(out), "feedface") {
		t.Errorf("web -version = %q, want the stamped version and commit", out)
	}
}

func TestLocalModulesAndSources(t *testing.T) {
	proj := newModule(t)
	lib := filepath.Join(t.TempDir(), "lib")
	os.MkdirAll(filepath.Join(lib, "assets"), 0o755)
	os.WriteFile(filepath.Join(lib, "go.mod"), []byte("module example.com/lib\n"), 0o644)
	os.WriteFile(filepath.Join(lib, "lib.go"), []byte("package lib\n\nimport _ \"embed\"\n\n//go:embed assets\nvar A string\n"), 0o644)
	os.WriteFile(filepath.Join(lib, "assets", "a.txt"), []byte("a"), 0o644)
	gomod := "module example.com/svc\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n\nreplace (\n\texample.com/lib => " + lib + " // local\n\texample.com/other => example.com/fork v1.0.0\n)\nreplace example.com/rel => ./rel\n"
	os.WriteFile(filepath.Join(proj.Root, "go.mod"), []byte(gomod), 0o644)
	os.WriteFile(filepath.Join(proj.Root, "cmd", "svc", "lib.go"), []byte("package main\n\nimport _ \"example.com/lib\"\n"), 0o644)

	mods, err := project.LocalModules(proj.Root)
	if err != nil {
		t.Fatal(err)
	}
	if mods["example.com/lib"] != lib || mods["example.com/rel"] != filepath.Join(proj.Root, "rel") || mods["example.com/other"] != "" {
		t.Errorf("project.LocalModules() = %v, want svc, lib and rel only", mods)
	}
	sc, err := newHasher(proj.Root, nil).sources(mods, proj.Mains[0].ImportPath, host, nil)
	if err != nil {
		t.Fatal(err)
	}
	srcs := sc.Sources
	for _, want := range []string{"go.mod", "cmd/svc/main.go", "cmd/svc/lib.go", "internal/info/info.go"} {
		if _, ok := srcs[want]; !ok {
			t.Errorf("sources() lacks %s: %v", want, srcs)
		}
	}
	found := 0
	for k := range srcs {
		if strings.HasSuffix(k, "lib/lib.go") || strings.HasSuffix(k, "lib/assets/a.txt") {
			found++
		}
		if strings.HasSuffix(k, "_test.go") || strings.HasSuffix(k, "README.md") {
			t.Errorf("sources() includes %s, which is not compiled", k)
		}
	}
	if found != 2 {
		t.Errorf("sources() = %v, want the replaced module's file and its embedded asset", srcs)
	}
}

func TestQuoteLD(t *testing.T) {
	got := quoteLD([]string{"-s", "-X", "main.v=a b", "-X", "main.q=it's"})
	if want := `-s -X 'main.v=a b' -X "main.q=it's"`; got != want {
		t.Errorf("quoteLD = %s, want %s", got, want)
	}
}

func TestChangedListsManyFiles(t *testing.T) {
	prev := record{Sources: map[string]string{"a": "1", "b": "1", "gone": "1"}}
	now := record{Sources: map[string]string{"a": "2", "b": "2", "c": "1", "d": "1"}}
	if got := changed(prev, now); !strings.Contains(got, "and 2 more") {
		t.Errorf("changed() = %q, want a capped list", got)
	}
	if got := changed(record{Stamp: Stamp{Commit: "aaaaaaaaaaaaaaaa"}}, record{Stamp: Stamp{Commit: "b"}}); !strings.Contains(got, "aaaaaaaaaaaa to b") {
		t.Errorf("changed(commit) = %q", got)
	}
	if got := changed(record{GoVersion: "go1"}, record{GoVersion: "go2"}); !strings.Contains(got, "Go changed") {
		t.Errorf("changed(go) = %q", got)
	}
	if got := changed(record{}, record{Stamp: Stamp{Date: time.Unix(5, 0)}}); !strings.Contains(got, "build date") {
		t.Errorf("changed(date) = %q", got)
	}
}

// TestBuildDryRun decides without compiling or writing anything.
func TestBuildDryRun(t *testing.T) {
	proj := newModule(t)
	var starts atomic.Int32
	opts := append(stampOpts(proj, "3.0.0"), WithPlatforms(host), countingRunner(&starts))
	res, err := Build(t.Context(), proj, append(opts, WithDryRun(true))...)
	if err != nil {
		t.Fatal(err)
	}
	if starts.Load() != 0 || res[0].Skipped || res[0].Reason != "no previous build" {
		t.Errorf("dry run = %+v with %d compiler starts, want a build decision and no start", res[0], starts.Load())
	}
	if _, err := os.Stat(filepath.Join(proj.Root, "dist")); err == nil {
		t.Error("dry run wrote dist/")
	}
	if _, err := Build(t.Context(), proj, opts...); err != nil {
		t.Fatal(err)
	}
	res, _ = Build(t.Context(), proj, append(opts, WithDryRun(true))...)
	if !res[0].Skipped || starts.Load() != 1 {
		t.Errorf("dry run after a build = %+v, want a skip", res[0])
	}
}

// multiModule writes a module with the given main packages, each printing
// its stamped version and name.
func multiModule(t *testing.T, mains ...string) *project.Project {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":                "module example.com/multi\n\ngo 1.26\n",
		"internal/info/info.go": "package info\n\nconst Name = \"multi\"\n",
	}
	for _, m := range mains {
		files[m+"/main.go"] = strings.Replace(mainSrc, "example.com/svc/", "example.com/multi/", 1)
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proj, err := project.Discover(dir, mains...)
	if err != nil {
		t.Fatal(err)
	}
	return proj
}

// TestBuildGrouped: the binaries of one platform come from one go
// command, byte for byte the same as from a command each, and a change
// to one main package rebuilds that one alone.
func TestBuildGrouped(t *testing.T) {
	proj := multiModule(t, "cmd/api", "cmd/worker", "tools/api/v2")
	vars := map[string]project.Vars{}
	for _, m := range proj.Mains {
		v, err := proj.DiscoverVars(m)
		if err != nil {
			t.Fatal(err)
		}
		vars[m.Name] = v
	}
	other := platform.Platform{OS: "linux", Arch: "arm64"}
	if host == other {
		other = platform.Platform{OS: "linux", Arch: "amd64"}
	}
	stamp := WithStamp(Stamp{Version: "4.0.0", Commit: "abc", Date: time.Unix(1700000000, 0)})
	var grouped, separate atomic.Int32
	opts := []Option{stamp, WithVars(vars), WithPlatforms(host, other)}
	res, err := Build(t.Context(), proj, append(opts, WithDist(t.TempDir()), countingRunner(&grouped))...)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Build(t.Context(), proj, append(opts, WithDist(t.TempDir()), countingRunner(&separate), withSeparate())...)
	if err != nil {
		t.Fatal(err)
	}
	// cmd/api and tools/api/v2 both link to "api": they cannot share a
	// directory, so each platform takes two commands instead of three.
	if grouped.Load() != 4 || separate.Load() != 6 {
		t.Errorf("go commands: %d grouped, %d separate; want 4 and 6", grouped.Load(), separate.Load())
	}
	if len(res) != 6 {
		t.Fatalf("Build() = %d results, want 6", len(res))
	}
	for i := range res {
		if res[i].SHA256 != ref[i].SHA256 || res[i].Name != ref[i].Name || res[i].Platform != ref[i].Platform {
			t.Errorf("%s %s: grouped build %s, separate build %s", res[i].Name, res[i].Platform, res[i].SHA256, ref[i].SHA256)
		}
		if res[i].Platform == host {
			out, err := exec.Command(res[i].Path).Output()
			if err != nil || !strings.HasPrefix(string(out), "4.0.0 abc") {
				t.Errorf("%s printed %q (%v), want its stamp", res[i].Path, out, err)
			}
		}
	}

	dist := t.TempDir()
	opts = append(opts, WithDist(dist), countingRunner(&grouped))
	if _, err := Build(t.Context(), proj, opts...); err != nil {
		t.Fatal(err)
	}
	grouped.Store(0)
	os.WriteFile(filepath.Join(proj.Root, "cmd", "worker", "extra.go"), []byte("package main\n\nvar _ = 1\n"), 0o644)
	res, err = Build(t.Context(), proj, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Skipped == (r.Name == "worker") {
			t.Errorf("after editing cmd/worker: %s %s skipped=%v (%s)", r.Name, r.Platform, r.Skipped, r.Reason)
		}
	}
	if grouped.Load() != 2 {
		t.Errorf("rebuilding worker took %d go commands, want one per platform", grouped.Load())
	}
	if entries, _ := os.ReadDir(filepath.Join(dist, ".hoist")); slices.ContainsFunc(entries, func(e os.DirEntry) bool { return strings.HasPrefix(e.Name(), "link-") }) {
		t.Errorf("a link directory was left in %s", filepath.Join(dist, ".hoist"))
	}
}

func TestExecName(t *testing.T) {
	for ip, want := range map[string]string{
		"example.com/a/cmd/web": "web",
		"example.com/a/v2":      "a",
		"example.com/a/cmd/v1":  "v1",
		"example.com/a/cmd/v0":  "v0",
		"example.com/a/v10x":    "v10x",
		"web":                   "web",
		"v2":                    "v2",
	} {
		if got := execName(ip, platform.Platform{OS: "linux", Arch: "amd64"}); got != want {
			t.Errorf("execName(%q) = %q, want %q", ip, got, want)
		}
	}
	if got := execName("example.com/a/cmd/web", platform.Platform{OS: "windows", Arch: "amd64"}); got != "web.exe" {
		t.Errorf("execName for windows = %q, want web.exe", got)
	}
}

// TestBuildEmbedAndHook: files added under an embedded directory rebuild
// even on the path that skips parsing; the work hook runs once for a
// build and not for a no-op.
func TestBuildEmbedAndHook(t *testing.T) {
	proj := newModule(t)
	for name, content := range map[string]string{
		"internal/info/assets.go":      "package info\n\nimport \"embed\"\n\n//go:embed static\nvar Static embed.FS\n",
		"internal/info/static/a.txt":   "a",
		"internal/info/static/sub/b.h": "b",
	} {
		p := filepath.Join(proj.Root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	var hooks atomic.Int32
	opts := append(stampOpts(proj, "1.0.0"), WithPlatforms(host), WithOnWork(func() { hooks.Add(1) }))
	build := func() Result {
		t.Helper()
		res, err := Build(t.Context(), proj, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	if r := build(); r.Skipped || hooks.Load() != 1 {
		t.Fatalf("first build: skipped %v, hook ran %d times; want a build and one call", r.Skipped, hooks.Load())
	}
	if r := build(); !r.Skipped || hooks.Load() != 1 {
		t.Fatalf("no-op: skipped %v (%s), hook ran %d times; want a skip and no call", r.Skipped, r.Reason, hooks.Load())
	}
	for _, tt := range []struct{ file, want string }{
		{"internal/info/static/sub/c.txt", "internal/info/static/sub/c.txt added"},
		{"internal/info/static/sub/d/e.txt", "internal/info/static/sub/d/e.txt added"},
	} {
		p := filepath.Join(proj.Root, filepath.FromSlash(tt.file))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("new"), 0o644)
		if r := build(); r.Skipped || !strings.Contains(r.Reason, tt.want) {
			t.Errorf("after adding %s: skipped %v, reason %q; want a rebuild because %q", tt.file, r.Skipped, r.Reason, tt.want)
		}
	}
}

// TestNoopSkipsParsing: after a build, the recorded scan stands for the
// sources (so a no-op does not parse the packages again), also once dist/
// exists beside go.mod; a file added to a package, a new vendor/
// directory or an edited source each make it stand no longer.
func TestNoopSkipsParsing(t *testing.T) {
	proj := newModule(t)
	if _, err := Build(t.Context(), proj, append(stampOpts(proj, "1.0.0"), WithPlatforms(host))...); err != nil {
		t.Fatal(err)
	}
	rec, err := readRecord(filepath.Join(proj.Root, "dist", ".hoist", "build", "svc_"+host.Slug()+".json"))
	if err != nil {
		t.Fatal(err)
	}
	h := newHasher(proj.Root, nil)
	h.recDir = filepath.Join(proj.Root, "dist", ".hoist", "build")
	prev, err := h.loadSet(rec.SourceSet)
	if err != nil || len(rec.Sources) > 0 {
		t.Fatalf("the record should name a stored source set, not hold one: %v, %d sources inline", err, len(rec.Sources))
	}
	if !newHasher(proj.Root, nil).unchanged(prev) {
		t.Fatalf("the scan recorded by the build does not stand for the same tree: %v", rec.Dirs)
	}
	for _, tt := range []struct {
		name         string
		change, undo func() error
	}{
		{"file added to a package",
			func() error {
				return os.WriteFile(filepath.Join(proj.Root, "internal", "info", "x.go"), []byte("package info\n"), 0o644)
			},
			func() error { return os.Remove(filepath.Join(proj.Root, "internal", "info", "x.go")) }},
		{"vendor directory created",
			func() error { return os.Mkdir(filepath.Join(proj.Root, "vendor"), 0o755) },
			func() error { return os.Remove(filepath.Join(proj.Root, "vendor")) }},
		{"source edited",
			func() error {
				return os.WriteFile(filepath.Join(proj.Root, "cmd", "svc", "main.go"), []byte(mainSrc+"\n"), 0o644)
			},
			func() error {
				return os.WriteFile(filepath.Join(proj.Root, "cmd", "svc", "main.go"), []byte(mainSrc), 0o644)
			}},
	} {
		if err := tt.change(); err != nil {
			t.Fatal(err)
		}
		if newHasher(proj.Root, nil).unchanged(prev) {
			t.Errorf("%s: the old scan still stands", tt.name)
		}
		if err := tt.undo(); err != nil {
			t.Fatal(err)
		}
		if !newHasher(proj.Root, nil).unchanged(prev) {
			t.Errorf("%s, then undone: the old scan no longer stands", tt.name)
		}
	}
}

func TestSetEncoding(t *testing.T) {
	s := scan{
		Sources: map[string]string{"go.mod": "aa", "dir with space/a b.go": "bb", "/abs/x.go": "cc"},
		Dirs:    map[string]string{".": filesDigest + "dd", "assets": allDigest + "ee", "vendor": absentDir},
	}
	d1, data, _ := setDigest(s)
	got, err := decodeSet(data)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("decodeSet(encodeSet(s)) = %+v, %v; want %+v", got, err, s)
	}
	if d2, _, _ := setDigest(got); d2 != d1 {
		t.Errorf("the digest of a decoded set changed: %s vs %s", d2, d1)
	}
	for _, bad := range []string{"", "hoist source set 1\nx aa b\n", "hoist source set 1\nf aa\n", "hoist source set 2\n"} {
		if _, err := decodeSet([]byte(bad)); err == nil {
			t.Errorf("decodeSet(%q) accepted it", bad)
		}
	}
}
