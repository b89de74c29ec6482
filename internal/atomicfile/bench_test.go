package atomicfile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// snapshotOutputs are the files a snapshot of one service for four
// platforms writes through this package, by size: four archives, four
// SBOMs, checksums.txt, the records and caches (22 in all).
var snapshotOutputs = func() []int {
	sizes := []int{2_600_000, 2_400_000, 2_500_000, 2_700_000}
	for range 4 {
		sizes = append(sizes, 24_000)
	}
	for range 14 {
		sizes = append(sizes, 2_000)
	}
	return sizes
}()

// busyDisk keeps the disk under dir busy until stop: a writer that
// rewrites a 64 MiB file in 8 MiB chunks, syncing each, as another CI job
// or a backup would. It is bounded: the file never grows past 64 MiB.
func busyDisk(b *testing.B, dir string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f, err := os.Create(filepath.Join(dir, "busy"))
		if err != nil {
			return
		}
		defer f.Close()
		chunk := bytes.Repeat([]byte{0xa5}, 8<<20)
		for i := 0; ctx.Err() == nil; i++ {
			if _, err := f.WriteAt(chunk, int64(i%8)*int64(len(chunk))); err != nil {
				return
			}
			_ = f.Sync()
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// BenchmarkSnapshotWrites writes a snapshot's outputs with and without an
// fsync each, on an idle disk and on one that another writer keeps busy.
// The writes land in the benchmark's temporary directory: set TMPDIR to
// put it on the disk to measure.
//
//	go test ./internal/atomicfile -run '^$' -bench SnapshotWrites -benchtime 10x
func BenchmarkSnapshotWrites(b *testing.B) {
	data := bytes.Repeat([]byte("hoist"), 600_000)
	for _, disk := range []string{"idle", "busy"} {
		for _, mode := range []struct {
			name  string
			write func(context.Context, string, []byte, os.FileMode) error
		}{{"fsync", WriteBytes}, {"rename-only", ReplaceBytes}} {
			b.Run(disk+"/"+mode.name, func(b *testing.B) {
				dir := b.TempDir()
				if disk == "busy" {
					defer busyDisk(b, dir)()
				}
				for i := 0; b.Loop(); i++ {
					for j, size := range snapshotOutputs {
						p := filepath.Join(dir, fmt.Sprintf("out-%d", j))
						if err := mode.write(b.Context(), p, data[:size], 0o644); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
