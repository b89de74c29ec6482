package benchcmp

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/hoistdev/hoist/registry"
)

// Peer is a tool the comparison installs from the Go module proxy.
type Peer struct {
	Name, Package, Version string
}

// Peers are the pinned tools hoist is compared with.
var Peers = []Peer{
	{"ko", "github.com/google/ko", "v0.19.1"},
	{"goreleaser", "github.com/goreleaser/goreleaser/v2", "v2.15.1"},
}

// Install puts p's binary under toolsDir/<name>-<version>/, building it
// with go install the first time, and returns its path.
func Install(ctx context.Context, toolsDir string, p Peer, log io.Writer) (string, error) {
	dir := filepath.Join(toolsDir, p.Name+"-"+p.Version)
	exe := filepath.Join(dir, p.Name)
	if _, err := os.Stat(exe); err == nil {
		return exe, nil
	}
	fmt.Fprintf(log, "bench:compare: installing %s %s into %s (once; a few minutes)\n", p.Name, p.Version, dir)
	cmd := exec.CommandContext(ctx, "go", "install", p.Package+"@"+p.Version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("install %s %s: %w\n%s", p.Name, p.Version, err, tail(string(out), 2000))
	}
	return exe, nil
}

// Options configure Compare.
type Options struct {
	// Root is hoist's checkout; its HEAD is cloned as the sample service
	// (cmd/web).
	Root string
	// Tools is where peers are installed, such as
	// ~/.cache/hoist-tools.
	Tools string
	// N is the number of pairs of the quick rows; the cold rows take
	// fewer. Default 5.
	N int
	// Rows selects rows whose name contains it. Default: all.
	Rows string
	// Log receives progress.
	Log io.Writer
}

// Compare runs every comparison row against a fresh clone of Root and
// returns the results in order.
func Compare(ctx context.Context, o Options) ([]Result, error) {
	if o.N == 0 {
		o.N = 5
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	peers := map[string]string{}
	for _, p := range Peers {
		exe, err := Install(ctx, o.Tools, p, o.Log)
		if err != nil {
			return nil, err
		}
		peers[p.Name] = exe
	}
	work, err := os.MkdirTemp("", "hoist-bench-compare-")
	if err != nil {
		return nil, fmt.Errorf("bench:compare: %w", err)
	}
	defer os.RemoveAll(work)
	s, err := newSample(ctx, o, work)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	s.ko, s.goreleaser = peers["ko"], peers["goreleaser"]

	var out []Result
	for _, row := range s.rows(o.N) {
		if o.Rows != "" && !strings.Contains(row.Name, o.Rows) {
			continue
		}
		fmt.Fprintf(o.Log, "bench:compare: %s\n", row.Name)
		res, err := Run(ctx, row, o.Log)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// sample is the clone of hoist that every row works in, the registry both
// sides push to, and the commands of each side.
type sample struct {
	dir, work  string
	launcher   string // the hoist command built from the clone
	reg        *registry.Process
	host       string
	env        []string
	ko         string
	goreleaser string
	plats      []string
	imagePlats []string
	commits    int    // made by commit
	koConfig   string // goreleaser-ko.yaml with the registry's address
}

func newSample(ctx context.Context, o Options, work string) (*sample, error) {
	s := &sample{dir: filepath.Join(work, "hoist"), work: work,
		plats:      []string{"linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64"},
		imagePlats: []string{"linux/amd64", "linux/arm64"}}
	if out, err := exec.CommandContext(ctx, "git", "clone", "-q", o.Root, s.dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("clone %s: %w\n%s", o.Root, err, out)
	}
	// What the rows write beside dist/ must not make the tree dirty, or
	// GoReleaser refuses to release.
	if err := os.WriteFile(filepath.Join(s.dir, ".git", "info", "exclude"), []byte("/raw/\n/dist-goreleaser/\n"), 0o644); err != nil {
		return nil, fmt.Errorf("bench:compare: %w", err)
	}
	data := filepath.Join(work, "registry-data")
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PLATFORMS" || k == "REGISTRY" || k == "CI" || k == "MAGEFILE_HASHFAST" || strings.HasPrefix(k, "HOIST_") {
			continue
		}
		env = append(env, kv)
	}
	s.env = append(env, "HOIST_REGISTRY_DATA="+data, "HOIST_VULN=off")
	s.launcher = filepath.Join(work, "bin", "hoist")
	if out, err := s.command(ctx, "go", "build", "-o", s.launcher, "./cmd/hoist").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the hoist command: %w\n%s", err, out)
	}
	// The launcher compiles the clone's magefiles on its first run, with
	// whatever Go build cache that run has: an empty one in the cold
	// rows. Compiled here, untimed, every row starts from the same place
	// whether it runs alone (BENCH_ROWS) or after the others.
	if out, err := s.command(ctx, s.launcher, "-l").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("compile the clone's magefiles: %w\n%s", err, out)
	}
	fmt.Fprintln(o.Log, "bench:compare: starting the embedded registry (its first start compiles hoist-registry)")
	reg, err := registry.Start(ctx, registry.WithDataDir(data), registry.WithDir(s.dir), registry.WithAddr("127.0.0.1:0"))
	if err != nil {
		return nil, fmt.Errorf("start the registry both sides push to: %w", err)
	}
	s.reg, s.host = reg, reg.Host()
	cfg, err := os.ReadFile(filepath.Join(s.dir, "docs", "bench", "goreleaser-ko.yaml"))
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("bench:compare: %w", err)
	}
	s.koConfig = filepath.Join(work, "goreleaser-ko.yaml")
	if err := os.WriteFile(s.koConfig, bytes.ReplaceAll(cfg, []byte("BENCH_REGISTRY"), []byte(s.host)), 0o644); err != nil {
		s.stop()
		return nil, fmt.Errorf("bench:compare: %w", err)
	}
	if err := pushStaticBase(s.host+"/base:static", s.imagePlats); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *sample) stop() { _ = s.reg.Stop(context.Background()) }

func (s *sample) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	// A copy: callers append to it, and commands built in a loop must
	// not share one backing array.
	cmd.Dir, cmd.Env = s.dir, slices.Clone(s.env)
	return cmd
}

// hoist runs a target the way a user does: mode "mage" is the README's
// `go tool mage TARGET` (mage's default mode), "hoist" the hoist command.
func (s *sample) hoist(mode string, env []string, target string) func(ctx context.Context, run int) (Sample, error) {
	return Command(func(ctx context.Context, run int) *exec.Cmd {
		var cmd *exec.Cmd
		if mode == "mage" {
			cmd = s.command(ctx, "go", "tool", "mage", target)
		} else {
			cmd = s.command(ctx, s.launcher, target)
		}
		cmd.Env = append(cmd.Env, env...)
		return cmd
	})
}

func (s *sample) remove(dirs ...string) func(context.Context, int) error {
	return func(context.Context, int) error {
		for _, d := range dirs {
			if err := os.RemoveAll(filepath.Join(s.dir, d)); err != nil {
				return err
			}
		}
		return nil
	}
}

// commit makes a new commit in the sample, which changes every binary's
// stamp and so every digest, and tags it when tag is set (GoReleaser
// releases only a tagged HEAD; untagAfter deletes that tag again).
func (s *sample) commit(tag bool) func(context.Context, int) error {
	return func(ctx context.Context, _ int) error {
		s.commits++
		src := fmt.Sprintf("package main\n\n// benchRun changes with every commit bench:compare makes.\nvar benchRun = %d\n", s.commits)
		if err := os.WriteFile(filepath.Join(s.dir, "cmd", "web", "zz_bench_run.go"), []byte(src), 0o644); err != nil {
			return err
		}
		steps := [][]string{{"add", "cmd/web/zz_bench_run.go"}, {"-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-q", "-m", fmt.Sprintf("bench run %d", s.commits)}}
		if tag {
			steps = append(steps, []string{"tag", fmt.Sprintf("v99.0.%d", s.commits)})
		}
		for _, args := range steps {
			if out, err := s.command(ctx, "git", args...).CombinedOutput(); err != nil {
				return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
			}
		}
		return nil
	}
}

// untagAfter runs GoReleaser's side, then deletes the tag it released,
// outside the measured time: hoist refuses a VERSION behind the newest
// tag, and the tag has served its run.
func (s *sample) untagAfter(run func(context.Context, int) (Sample, error)) func(context.Context, int) (Sample, error) {
	return func(ctx context.Context, i int) (Sample, error) {
		smp, err := run(ctx, i)
		tag := fmt.Sprintf("v99.0.%d", s.commits)
		if out, derr := s.command(ctx, "git", "tag", "-d", tag).CombinedOutput(); derr != nil && err == nil {
			err = fmt.Errorf("git tag -d %s: %w\n%s", tag, derr, out)
		}
		return smp, err
	}
}

// raw builds cmd/web for every platform as a user would by hand: one go
// build per platform with hoist's flags, as many at once as CPUs.
func (s *sample) raw(extraEnv func(run int) []string) func(ctx context.Context, run int) (Sample, error) {
	return Parallel(runtime.NumCPU(), func(ctx context.Context, run int) []*exec.Cmd {
		var cmds []*exec.Cmd
		for _, p := range s.plats {
			goos, goarch, _ := strings.Cut(p, "/")
			cmd := s.command(ctx, "go", "build", "-trimpath", "-buildvcs=false",
				"-ldflags=-s -w -X main.version=0.0.0 -X main.commit=0000000 -X main.date=2026-01-01T00:00:00Z",
				"-o", filepath.Join("raw", goos+"_"+goarch)+string(filepath.Separator), "./cmd/web")
			cmd.Env = append(cmd.Env, "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
			if extraEnv != nil {
				cmd.Env = append(cmd.Env, extraEnv(run)...)
			}
			cmds = append(cmds, cmd)
		}
		return cmds
	})
}

func (s *sample) koBuild(repo func(run int) string) func(ctx context.Context, run int) (Sample, error) {
	return Command(func(ctx context.Context, run int) *exec.Cmd {
		cmd := s.command(ctx, s.ko, "build", "--bare", "--sbom=none", "--platform="+strings.Join(s.imagePlats, ","), "./cmd/web")
		cmd.Env = append(cmd.Env, "KO_DEFAULTBASEIMAGE="+s.host+"/base:static", "KO_DOCKER_REPO="+s.host+"/"+repo(run))
		return cmd
	})
}

// rows are the comparisons, each in mage's default mode and through the
// hoist command.
func (s *sample) rows(n int) []Row {
	build := []string{"PLATFORMS=" + strings.Join(s.plats, ",")}
	image := []string{"PLATFORMS=" + strings.Join(s.imagePlats, ",")}
	var rows []Row
	for _, mode := range []string{"mage", "hoist"} {
		how := map[string]string{"mage": "go tool mage", "hoist": "hoist"}[mode]
		freshRepo := func(run int) string { return fmt.Sprintf("fresh-%s-%d-%d", mode, run, time.Now().UnixNano()) }
		rows = append(rows,
			Row{Name: "fresh 4-platform build (" + how + ")", N: n, Goal: 1.05,
				A: Side{Name: how + " go:build", Prepare: s.remove("dist"), Run: s.hoist(mode, build, "go:build")},
				B: Side{Name: "raw parallel go build", Prepare: s.remove("raw"), Run: s.raw(nil)}},
			Row{Name: "no-op 4-platform build (" + how + ")", N: n, Goal: 0.3,
				A: Side{Name: how + " go:build", Run: s.hoist(mode, build, "go:build")},
				B: Side{Name: "raw parallel go build", Run: s.raw(nil)}},
			Row{Name: "image build + push, 2 platforms, fresh (" + how + ")", N: n, Goal: 0.6,
				A: Side{Name: how + " image:push", Prepare: s.remove("dist"), Run: func(ctx context.Context, run int) (Sample, error) {
					return s.hoist(mode, append(image, "REGISTRY="+s.host+"/"+freshRepo(run)), "image:push")(ctx, run)
				}},
				B: Side{Name: "ko build", Run: s.koBuild(freshRepo)}},
			Row{Name: "no-op re-push, 2 platforms (" + how + ")", N: n, Goal: 0.2,
				A: Side{Name: how + " image:push", Run: s.hoist(mode, append(image, "REGISTRY="+s.host+"/noop-"+mode), "image:push")},
				B: Side{Name: "ko build", Run: s.koBuild(func(int) string { return "noop-ko" })}},
			Row{Name: "no-op snapshot (" + how + ")", N: n,
				A: Side{Name: how + " release:snapshot", Run: s.hoist(mode, build, "release:snapshot")},
				B: Side{Name: "goreleaser --snapshot", Run: Command(func(ctx context.Context, _ int) *exec.Cmd {
					return s.command(ctx, s.goreleaser, "release", "--snapshot", "--clean", "--config", "docs/bench/goreleaser.yaml")
				})}},
		)
	}
	// A release as users make one: a new commit, every binary relinked,
	// archives, checksums and an image pushed with a new digest. GoReleaser
	// releases a tag with ko pushing to the same registry (its snapshot
	// mode would load the image into a Docker daemon instead); hoist's
	// snapshot pushes to the embedded registry, which is that registry.
	for _, mode := range []string{"mage", "hoist"} {
		how := map[string]string{"mage": "go tool mage", "hoist": "hoist"}[mode]
		rows = append(rows, Row{Name: "full snapshot, a new commit each run, image pushed (" + how + ")", N: n,
			A: Side{Name: how + " release:snapshot", Prepare: s.commit(false), Run: s.hoist(mode, build, "release:snapshot")},
			B: Side{Name: "goreleaser release + ko", Prepare: s.commit(true), Run: s.untagAfter(Command(func(ctx context.Context, _ int) *exec.Cmd {
				cmd := s.command(ctx, s.goreleaser, "release", "--clean", "--config", s.koConfig)
				cmd.Env = append(cmd.Env, "KO_DOCKER_REPO="+s.host+"/ko-release")
				return cmd
			}))}})
	}
	cold := func(run int) []string {
		return []string{"GOCACHE=" + filepath.Join(s.work, fmt.Sprintf("gocache-%d-%d", run, time.Now().UnixNano()))}
	}
	rows = append(rows,
		Row{Name: "cold snapshot, empty Go build cache (hoist)", N: max(2, n/2), Goal: 1.05, Warmup: -1,
			A: Side{Name: "hoist release:snapshot", Prepare: s.remove("dist"), Run: func(ctx context.Context, run int) (Sample, error) {
				return s.hoist("hoist", append(build, cold(run)...), "release:snapshot")(ctx, run)
			}},
			B: Side{Name: "raw parallel go build", Prepare: s.remove("raw"), Run: s.raw(cold)}},
		Row{Name: "cold snapshot, empty Go build cache, against GoReleaser (hoist)", N: max(2, n/2), Warmup: -1,
			A: Side{Name: "hoist release:snapshot", Prepare: s.remove("dist"), Run: func(ctx context.Context, run int) (Sample, error) {
				return s.hoist("hoist", append(build, cold(run)...), "release:snapshot")(ctx, run)
			}},
			B: Side{Name: "goreleaser --snapshot", Run: Command(func(ctx context.Context, run int) *exec.Cmd {
				cmd := s.command(ctx, s.goreleaser, "release", "--snapshot", "--clean", "--config", "docs/bench/goreleaser.yaml")
				cmd.Env = append(cmd.Env, cold(run)...)
				return cmd
			})}},
	)
	return rows
}

// pushStaticBase pushes a base like ko's default static one (CA
// certificates, passwd, group) for ko to build on, since its default base
// is on a registry that may not be reachable.
func pushStaticBase(ref string, plats []string) error {
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		return fmt.Errorf("a CA bundle for ko's base: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct{ name, data string }{
		{"etc/ssl/certs/ca-certificates.crt", string(certs)},
		{"etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"},
		{"etc/group", "root:x:0:\nnonroot:x:65532:\n"},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return err
	}
	var idx v1.ImageIndex = empty.Index
	for _, p := range plats {
		goos, goarch, _ := strings.Cut(p, "/")
		img, err := mutate.AppendLayers(empty.Image, layer)
		if err != nil {
			return err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return err
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = goos, goarch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: goos, Architecture: goarch}}})
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		return fmt.Errorf("push ko's base to %s: %w", ref, err)
	}
	return nil
}
