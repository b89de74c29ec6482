package atomicfile

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "out.txt")
	if err := WriteBytes(context.Background(), path, []byte("one"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(context.Background(), path, []byte("two"), 0o640); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(got) != "two" || fi.Mode().Perm() != 0o640 {
		t.Errorf("WriteBytes() left %q mode %v, want two 0640", got, fi.Mode().Perm())
	}
}

func TestWriteFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	os.WriteFile(path, []byte("old"), 0o644)
	boom := errors.New("boom")
	if err := Write(context.Background(), path, 0o644, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Write(failing fill) = %v, want boom", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := WriteBytes(ctx, path, []byte("new"), 0o644); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteBytes(cancelled) = %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("file after failed writes = %q, want old", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	if err := WriteBytes(context.Background(), filepath.Join(blocker, "x"), nil, 0o644); err == nil {
		t.Error("WriteBytes under a regular file = nil error")
	}
}

// TestReplace: the variant without fsync replaces atomically all the
// same, and a failed fill leaves the old content and no temporary file.
func TestReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	if err := ReplaceBytes(t.Context(), path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Replace(t.Context(), path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return errors.New("fill failed")
	})
	if err == nil {
		t.Fatal("Replace with a failing fill succeeded")
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("after a failed Replace the file holds %q, want the old content", got)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after ReplaceBytes: %v, %v; want 0600", fi.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left in %s: %d, want only out.json", dir, len(entries))
	}
}
