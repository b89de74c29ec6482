package release

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/sign"
)

// webBinaries builds the repository's reference service for the default
// four platforms (about 6 MB each), the workload docs/benchmarks.md uses.
func webBinaries(b *testing.B) (string, []artifact.Artifact, float64) {
	b.Helper()
	root, _ := filepath.Abs("..")
	proj, err := project.Discover(root, "cmd/web")
	if err != nil {
		b.Skip("cmd/web not present:", err)
	}
	dist := b.TempDir()
	res, err := gobuild.Build(b.Context(), proj, gobuild.WithDist(dist),
		gobuild.WithStamp(gobuild.Stamp{Version: "0.1.0", Commit: "0123456789abcdef", Date: time.Unix(1700000000, 0)}))
	if err != nil {
		b.Fatal(err)
	}
	var bins []artifact.Artifact
	var size int64
	for _, r := range res {
		bins = append(bins, r.Artifact(root))
		size += r.Size
	}
	return root, bins, float64(size) / float64(len(res)) / 1e6
}

// BenchmarkPackage packs four binaries from scratch every iteration: four
// archives, four SBOMs and checksums.txt.
func BenchmarkPackage(b *testing.B) {
	root, bins, mb := webBinaries(b)
	o := PackageOptions{Root: root, Dist: b.TempDir(), Project: "web", Version: "0.1.0", ModTime: time.Unix(1700000000, 0), Binaries: bins, Force: true}
	for b.Loop() {
		if _, err := Package(b.Context(), o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(mb, "MB/binary")
}

// BenchmarkPackageNoop is the rerun with nothing changed: hash the inputs,
// check the outputs, write nothing.
func BenchmarkPackageNoop(b *testing.B) {
	root, bins, mb := webBinaries(b)
	o := PackageOptions{Root: root, Dist: b.TempDir(), Project: "web", Version: "0.1.0", ModTime: time.Unix(1700000000, 0), Binaries: bins}
	if _, err := Package(b.Context(), o); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := Package(b.Context(), o)
		if err != nil {
			b.Fatal(err)
		}
		if !res.Skipped {
			b.Fatalf("Package() rerun = repacked (%s), want skipped", res.Reason)
		}
	}
	b.ReportMetric(mb, "MB/binary")
}

// webRepo is a repository holding a copy of hoist's reference service
// (cmd/web, standard library only, with its tests) at VERSION 0.1.0,
// committed.
func webRepo(b *testing.B) string {
	b.Helper()
	isolateGit(b)
	dir := b.TempDir()
	root, _ := filepath.Abs("..")
	for _, f := range []string{"main.go", "server.go", "doc.go", "main_test.go", "server_test.go"} {
		copyFile(b, filepath.Join(root, "cmd", "web", f), filepath.Join(dir, "cmd", "web", f))
	}
	for name, content := range map[string]string{
		"go.mod": "module example.com/web\n\ngo 1.26\n", "VERSION": "0.1.0\n", ".gitignore": "/dist/\n", "README.md": "web\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	r := &testRepo{t: b, dir: dir}
	r.git("init", "-q", "-b", "main")
	r.git("config", "user.name", "t")
	r.git("config", "user.email", "t@example.com")
	r.git("add", ".")
	r.git("commit", "-qm", "feat: web")
	return dir
}

// realGates are the gates a release of dir runs: go mod tidy -diff, go
// vet, go test -race with coverage, as the mage targets run them; the
// coverage profile goes to profile. The vulnerability gate is left out: it
// needs a database, and it costs a signed and an unsigned release alike.
func realGates(dir, profile string) Gates {
	return Gates{
		Tidy: func(ctx context.Context) error { return gobuild.Tidy(ctx, dir, true, io.Discard) },
		Vet:  func(ctx context.Context) error { return gobuild.Vet(ctx, dir, io.Discard) },
		Test: func(ctx context.Context) error {
			_, err := gobuild.Test(ctx, dir, io.Discard, gobuild.TestOptions{CoverageMin: -1, Profile: profile})
			return err
		},
		Vuln: noGate,
	}
}

// BenchmarkSignedRelease measures what signing and attaching add to a
// release: cmd/web for linux/amd64 and linux/arm64, released to an
// in-process registry without the referrers API (the slower path, as the
// embedded registry and distribution 2.x take), from fresh copies of one
// repository, once with a cosign key and once without in every iteration,
// in alternating order so that load drift hits both. "bare" releases with
// no-op gates, where the release is at its fastest and signing weighs
// most; "gates" runs the real tidy, vet and race-enabled tests, as
// `release` does. It reports the mean of each side, their ratio, the sign
// stage on its own, and the key's scrypt decryption that preflight pays
// (cosign pays it too).
func BenchmarkSignedRelease(b *testing.B) {
	for _, mode := range []string{"bare", "gates"} {
		b.Run(mode, func(b *testing.B) { benchSignedRelease(b, mode == "gates") })
	}
}

func benchSignedRelease(b *testing.B, withGates bool) {
	tmpl := webRepo(b)
	priv, _ := keyPair(b)
	host := memRegistry(b)
	var total [2]time.Duration
	var stage, keyLoad time.Duration
	n := 0
	for b.Loop() {
		for k := range 2 {
			withKey := (n+k)%2 == 0
			b.StopTimer()
			dir := filepath.Join(b.TempDir(), "repo")
			if out, err := exec.Command("cp", "-a", tmpl, dir).CombinedOutput(); err != nil {
				b.Fatalf("cp: %v\n%s", err, out)
			}
			env := map[string]string{"REGISTRY": fmt.Sprintf("%s/run%d-%d", host, n, k), "PLATFORMS": "linux/amd64,linux/arm64"}
			if withKey {
				env["COSIGN_KEY"], env["COSIGN_PASSWORD"] = priv, testKeyPassword
			}
			gates := okGates
			if withGates {
				gates = realGates(dir, filepath.Join(b.TempDir(), "cover.out"))
			}
			w, out := open(b, dir, env, nil)
			b.StartTimer()
			start := time.Now()
			if err := w.Release(b.Context(), ModeRelease, gates); err != nil {
				b.Fatalf("release: %v\n%s", err, out)
			}
			d := time.Since(start)
			b.StopTimer()
			i := 1
			if withKey {
				i = 0
				m := readManifest(b, filepath.Join(dir, "dist", ManifestFile))
				for _, s := range m.Stages {
					if s.Name == "sign" {
						stage += time.Duration(s.DurationMS) * time.Millisecond
					}
				}
				t0 := time.Now()
				if _, err := sign.LoadKey(mustRead(b, priv), []byte(testKeyPassword)); err != nil {
					b.Fatal(err)
				}
				keyLoad += time.Since(t0)
			}
			total[i] += d
			b.StartTimer()
		}
		n++
	}
	per := func(d time.Duration) float64 { return d.Seconds() / float64(n) }
	b.ReportMetric(per(total[0]), "s-signed/op")
	b.ReportMetric(per(total[1]), "s-unsigned/op")
	b.ReportMetric(float64(total[0])/float64(total[1]), "ratio")
	b.ReportMetric(per(stage), "s-sign-stage/op")
	b.ReportMetric(per(keyLoad), "s-key-decrypt/op")
}

func mustRead(b *testing.B, p string) []byte {
	b.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	return data
}
