package image

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayerSourceChanged covers a file that changes size between listing
// and writing: the tar header already promised the old size.
func TestLayerSourceChanged(t *testing.T) {
	src := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(src, []byte("12345"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		size int64
	}{
		{"shrank", 10},
		{"grew", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayerFS()
			if err := l.add(entry{name: "usr/local/bin/web", typeflag: tar.TypeReg, mode: 0o755, src: src, size: tc.size}, "test"); err != nil {
				t.Fatal(err)
			}
			_, err := l.build(t.Context(), commitTime, gzip.BestSpeed)
			if err == nil || !containsAll(err.Error(), src, "size changed") {
				t.Errorf("build() error = %v, want a size-changed error naming %s", err, src)
			}
		})
	}
	l := newLayerFS()
	if err := l.add(entry{name: "x", typeflag: tar.TypeReg, src: filepath.Join(t.TempDir(), "gone"), size: 1}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.build(t.Context(), commitTime, gzip.BestSpeed); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("build(missing source) error = %v, want one naming the file", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	l = newLayerFS()
	if err := l.add(entry{name: "x", typeflag: tar.TypeReg, src: src, size: 5}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.build(ctx, commitTime, gzip.BestSpeed); err == nil {
		t.Errorf("build(canceled) error = nil, want context canceled")
	}
}

func TestTarMode(t *testing.T) {
	tests := []struct {
		name string
		in   fs.FileMode
		want int64
	}{
		{"plain", 0o644, 0o644},
		{"octal sticky", 0o1777, 0o1777},
		{"symbolic sticky", 0o777 | fs.ModeSticky, 0o1777},
		{"symbolic setuid setgid", 0o755 | fs.ModeSetuid | fs.ModeSetgid, 0o6755},
		{"type bits dropped", 0o755 | fs.ModeDir, 0o755},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tarMode(tc.in); got != tc.want {
				t.Errorf("tarMode(%v) = %o, want %o", tc.in, got, tc.want)
			}
		})
	}
}

func TestMemLayerUncompressedRejectsGarbage(t *testing.T) {
	m := &memLayer{compressed: []byte("not gzip")}
	if _, err := m.Uncompressed(); err == nil {
		t.Errorf("Uncompressed() of non-gzip bytes error = nil, want an error")
	}
}

func TestAddZoneinfoRejectsBadZip(t *testing.T) {
	if err := addZoneinfo(newLayerFS(), []byte("PK not really")); err == nil || !strings.Contains(err.Error(), "zoneinfo.zip") {
		t.Errorf("addZoneinfo(garbage) error = %v, want one naming zoneinfo.zip", err)
	}
}
