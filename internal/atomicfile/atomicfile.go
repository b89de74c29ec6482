// Package atomicfile replaces files so that a reader sees either the old
// content or the new, never a part of it, and a failed write leaves the old
// file in place. Every output hoist writes (binaries aside, which go build
// writes itself) goes through it.
//
// Write and WriteBytes also make the content durable (fsync) before the
// rename: for state a crash must not lose, such as the release journal or
// a signing key. Replace and ReplaceBytes only rename: for outputs that a
// rerun makes again and that every reader checks by digest (archives,
// SBOMs, layouts, skip records, caches). A crash may leave such a file
// empty or missing; it is never half old and half new, and the next run
// rebuilds it. An fsync per output cost seconds on a disk another job
// kept busy, for no safety the digests do not already give.
package atomicfile

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write creates path's directory if needed, runs fill against a temporary
// file beside path, flushes and syncs it, and renames it over path with
// mode perm. Nothing replaces path if fill fails or ctx ends first. Errors
// say which step failed; callers add the path.
func Write(ctx context.Context, path string, perm fs.FileMode, fill func(io.Writer) error) error {
	return write(ctx, path, perm, true, fill)
}

// Replace is Write without the fsync: the rename is atomic, but the
// content may be lost in a crash (see the package comment).
func Replace(ctx context.Context, path string, perm fs.FileMode, fill func(io.Writer) error) error {
	return write(ctx, path, perm, false, fill)
}

// ReplaceBytes is Replace for content already in memory.
func ReplaceBytes(ctx context.Context, path string, data []byte, perm fs.FileMode) error {
	return Replace(ctx, path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func write(ctx context.Context, path string, perm fs.FileMode, durable bool, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 256<<10)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	return nil
}

// WriteBytes is Write for content already in memory.
func WriteBytes(ctx context.Context, path string, data []byte, perm fs.FileMode) error {
	return Write(ctx, path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
