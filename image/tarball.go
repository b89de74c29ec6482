package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// WriteTarball writes one platform's image as a `docker load` tarball at
// path, tagged tag (for example "localhost:5000/web:0.1.0"), for smoke tests
// against a local daemon. An image index cannot be loaded by Docker 20.10,
// hence one image; pick it with Result.ForPlatform.
//
// The file is written under a temporary name and renamed, so path is
// either the previous tarball or the complete new one.
func WriteTarball(ctx context.Context, path, tag string, img v1.Image) error {
	t, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("write image tarball %s: tag %q is invalid: %w; use repo:tag such as hoist/web:0.1.0", path, tag, err)
	}
	if img == nil {
		return fmt.Errorf("write image tarball %s: no image given: pass a Result image", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write image tarball %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-")
	if err != nil {
		return fmt.Errorf("write image tarball %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := tarball.Write(t, img, ctxWriter{ctx, f}); err != nil {
		f.Close()
		return fmt.Errorf("write image tarball %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write image tarball %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write image tarball %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write image tarball %s: %w", path, err)
	}
	return nil
}

// ctxWriter stops a long write once ctx is done; tarball.Write takes no
// context of its own.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
