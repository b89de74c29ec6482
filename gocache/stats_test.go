package gocache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStatsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "stats.json")
	start := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	want := Stats{
		Start: start, End: start.Add(time.Minute), Remote: "registry.example/gocache",
		LocalHits: 1, RemoteHits: 2, Misses: 3, Puts: 4, Uploads: 5, UploadsAbandoned: 6,
		BytesDownloaded: 7, BytesUploaded: 8, RemoteErrors: 9, Corrupt: 10, RemoteDisabled: true,
	}
	if err := WriteStats(path, want); err != nil {
		t.Fatalf("WriteStats() = %v", err)
	}
	got, err := ReadStats(path)
	if err != nil {
		t.Fatalf("ReadStats() = %v", err)
	}
	if got != want {
		t.Errorf("ReadStats() = %+v, want %+v", got, want)
	}
}

func TestReadStatsErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadStats(filepath.Join(dir, "none.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadStats(missing) = %v, want an error wrapping fs.ErrNotExist", err)
	}
	future := filepath.Join(dir, "future.json")
	if err := os.WriteFile(future, []byte(`{"version": 99}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadStats(future); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("ReadStats(version 99) = %v, want an error naming the version", err)
	}
}

func TestStatsString(t *testing.T) {
	s := Stats{LocalHits: 3, RemoteHits: 4, Misses: 1, Puts: 1, Uploads: 1, BytesDownloaded: 3 << 20, BytesUploaded: 512, RemoteErrors: 1, RemoteDisabled: true}
	want := "7 hits (3 local, 4 remote), 1 misses, 1 puts, 1 uploads, 3.0 MiB downloaded, 512 B uploaded, 1 remote errors (remote turned off after a failure)"
	if got := s.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestStatsAdd(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := Stats{Start: t0.Add(time.Minute), End: t0.Add(2 * time.Minute), LocalHits: 1, RemoteHits: 2, Misses: 3, Puts: 4, Uploads: 5, BytesDownloaded: 6, BytesUploaded: 7, Corrupt: 1}
	b := Stats{Start: t0, End: t0.Add(time.Minute), Remote: "r", LocalHits: 10, RemoteHits: 20, Misses: 30, Puts: 40, Uploads: 50, UploadsAbandoned: 1, BytesDownloaded: 60, BytesUploaded: 70, RemoteErrors: 2, RemoteDisabled: true}
	var sum Stats
	sum.Add(a)
	sum.Add(b)
	want := Stats{Start: t0, End: t0.Add(2 * time.Minute), Remote: "r", LocalHits: 11, RemoteHits: 22, Misses: 33, Puts: 44, Uploads: 55, UploadsAbandoned: 1, BytesDownloaded: 66, BytesUploaded: 77, RemoteErrors: 2, Corrupt: 1, RemoteDisabled: true}
	if sum != want {
		t.Errorf("sum = %+v\nwant  %+v", sum, want)
	}
}
