package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// refNameRE is the ref.name grammar of the OCI image layout spec, so a name
// hoist writes is one that skopeo and other readers accept.
var refNameRE = regexp.MustCompile(`^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$`)

// WriteLayout writes r as an OCI image layout at dir (usually dist/image),
// with r.Index listed in index.json under refName (usually the version), so
// that `skopeo inspect oci:DIR:REFNAME` and ReadLayout find it.
//
// The layout is written to a temporary sibling of dir and then moved into
// place, so dir never holds blobs of an older build. Another process reading
// dir at that moment may see it missing for an instant, never half-written.
func WriteLayout(ctx context.Context, dir string, r *Result, refName string) error {
	if r == nil || r.Index == nil {
		return fmt.Errorf("write image layout %s: no image given: call Build first", dir)
	}
	if !refNameRE.MatchString(refName) {
		return fmt.Errorf("write image layout %s: ref name %q is not valid in an OCI layout: use letters and digits separated by . _ - : @ + or /, such as 0.1.0", dir, refName)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write image layout %s: %w", dir, err)
	}
	dir = filepath.Clean(dir)
	parent, baseName := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("write image layout %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+baseName+".new-")
	if err != nil {
		return fmt.Errorf("write image layout %s: %w", dir, err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return fmt.Errorf("write image layout %s: %w", dir, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write image layout %s: %w", dir, err)
	}
	if err := p.AppendIndex(r.Index, layout.WithAnnotations(map[string]string{AnnotationRefName: refName})); err != nil {
		return fmt.Errorf("write image layout %s: %w", dir, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write image layout %s: %w", dir, err)
	}
	// MkdirTemp creates 0700 and go-containerregistry writes files with
	// modes of its own (0755 metadata, 0600 blobs); a layout is meant to be
	// shared with tools such as skopeo that may run as another user, so
	// directories are 0755 and files 0644 throughout.
	if err := normalizeModes(tmp); err != nil {
		return fmt.Errorf("write image layout %s: %w", dir, err)
	}
	if err := replaceDir(tmp, dir); err != nil {
		return fmt.Errorf("write image layout %s: %w", dir, err)
	}
	done = true
	return nil
}

// normalizeModes makes every directory under root 0755 and every file 0644.
func normalizeModes(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	})
}

// replaceDir moves src to dst, removing an older dst. A directory cannot be
// renamed over a non-empty one, so the old one is moved aside first and
// put back if the second rename fails.
func replaceDir(src, dst string) error {
	old := ""
	if _, err := os.Lstat(dst); err == nil {
		d, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".old-")
		if err != nil {
			return err
		}
		old = filepath.Join(d, "layout")
		if err := os.Rename(dst, old); err != nil {
			os.Remove(d)
			return fmt.Errorf("move the previous layout aside: %w", err)
		}
		defer os.RemoveAll(d)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		if old != "" {
			if rerr := os.Rename(old, dst); rerr != nil {
				return fmt.Errorf("%w (and restoring the previous layout failed: %v)", err, rerr)
			}
		}
		return err
	}
	return nil
}

// ReadLayout opens the index that WriteLayout stored under refName in dir,
// so that a later process (image:push) can push exactly what image:build
// wrote. Blobs are read lazily from dir.
func ReadLayout(ctx context.Context, dir, refName string) (v1.ImageIndex, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read image layout %s: %w", dir, err)
	}
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read image layout %s: no OCI layout there: run image:build first", dir)
		}
		return nil, fmt.Errorf("read image layout %s: %w", dir, err)
	}
	im, err := root.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read image layout %s: %w", dir, err)
	}
	var names []string
	for _, d := range im.Manifests {
		rn := d.Annotations[AnnotationRefName]
		if rn != refName {
			if rn != "" {
				names = append(names, rn)
			}
			continue
		}
		if !d.MediaType.IsIndex() {
			return nil, fmt.Errorf("read image layout %s: %s is a %s, not an image index: rebuild it with image:build", dir, refName, d.MediaType)
		}
		idx, err := root.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("read image layout %s: %s: %w", dir, refName, err)
		}
		return idx, nil
	}
	have := "none"
	if len(names) > 0 {
		have = strings.Join(names, ", ")
	}
	return nil, fmt.Errorf("read image layout %s: no image named %q (it has: %s): run image:build for this version first", dir, refName, have)
}
