package release

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/project"
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
