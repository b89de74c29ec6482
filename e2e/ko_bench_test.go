package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ko is the ko binary for comparisons: HOIST_KO, else ko on PATH, else "".
func ko() string {
	if p := os.Getenv("HOIST_KO"); p != "" {
		return p
	}
	p, _ := exec.LookPath("ko")
	return p
}

// pushStaticBase pushes a two-platform base like ko's default static one
// (CA certificates, passwd, group; about the size of hoist's built-in
// base) to ref, for ko to build on: ko's default base lives on a
// registry this machine cannot reach.
func pushStaticBase(b *testing.B, ref string, plats []string) {
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		b.Skip("no CA bundle to make ko's base from:", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data string
	}{
		{"etc/ssl/certs/ca-certificates.crt", string(certs)},
		{"etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"},
		{"etc/group", "root:x:0:\nnonroot:x:65532:\n"},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			b.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.data); err != nil {
			b.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		b.Fatal(err)
	}
	var idx v1.ImageIndex = empty.Index
	for _, p := range plats {
		goos, goarch, _ := strings.Cut(p, "/")
		img, err := mutate.AppendLayers(empty.Image, layer)
		if err != nil {
			b.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			b.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = goos, goarch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			b.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: goos, Architecture: goarch}}})
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		b.Fatalf("push ko's base: %v", err)
	}
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
	pushStaticBase(b, host+"/base:static", plats)
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
