package checksum

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/atomicfile"
	"github.com/hoistdev/hoist/internal/ctxio"
)

// SHA256File returns the lowercase hex SHA-256 digest of the file at path
// and its size in bytes, the pair that artifact lists, SBOMs and release
// manifests record for every file they mention. It stops early when ctx
// ends.
func SHA256File(ctx context.Context, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("sha256 %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxio.Reader{Ctx: ctx, R: f})
	if err != nil {
		return "", 0, fmt.Errorf("sha256 %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// line is one checksums.txt entry.
type line struct {
	rel, abs, sum string
}

// Write hashes every file in paths and writes dst in `sha256sum -c`
// format. Relative entries in paths are resolved against baseDir (an
// empty baseDir leaves them relative to the working directory). Each file
// is recorded by its path relative to dst's directory, so every file must
// live in that directory or below it. dst itself must not be listed. The
// file is written to a temporary name and renamed into place, so a failed
// run leaves any previous checksums.txt untouched.
func Write(ctx context.Context, dst string, paths []string, baseDir string) error {
	if len(paths) == 0 {
		return fmt.Errorf("write checksums %s: no files given; pass the artifacts to checksum", dst)
	}
	dstAbs, err := filepath.Abs(dst)
	if err != nil {
		return fmt.Errorf("write checksums %s: %w", dst, err)
	}
	root := filepath.Dir(dstAbs)
	lines := make([]line, 0, len(paths))
	seen := make(map[string]string, len(paths))
	for _, p := range paths {
		abs := p
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(baseDir, abs)
		}
		if abs, err = filepath.Abs(abs); err != nil {
			return fmt.Errorf("write checksums %s: %s: %w", dst, p, err)
		}
		if abs == dstAbs {
			return fmt.Errorf("write checksums %s: the checksums file itself is in the list; remove it", dst)
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("write checksums %s: %s is outside %s; put the checksums file in a directory that contains every artifact", dst, p, root)
		}
		rel = filepath.ToSlash(rel)
		// sha256sum escapes these characters with a leading backslash that
		// other verifiers do not understand; artifact names never need them.
		if strings.ContainsAny(rel, "\\\n\r") {
			return fmt.Errorf("write checksums %s: %q contains a backslash or line break; rename the artifact", dst, rel)
		}
		if prev, dup := seen[rel]; dup {
			return fmt.Errorf("write checksums %s: %s is listed twice (as %q and %q); list each artifact once", dst, rel, prev, p)
		}
		seen[rel] = p
		lines = append(lines, line{rel: rel, abs: abs})
	}
	slices.SortFunc(lines, func(a, b line) int { return cmp.Compare(a.rel, b.rel) })

	var buf bytes.Buffer
	for i := range lines {
		l := &lines[i]
		st, err := os.Stat(l.abs)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write checksums %s: %s does not exist; build it first or drop it from the list", dst, l.abs)
		}
		if err == nil && !st.Mode().IsRegular() {
			return fmt.Errorf("write checksums %s: %s is not a regular file; list the files themselves", dst, l.abs)
		}
		if l.sum, _, err = SHA256File(ctx, l.abs); err != nil {
			return fmt.Errorf("write checksums %s: %w", dst, err)
		}
		fmt.Fprintf(&buf, "%s  %s\n", l.sum, l.rel)
	}
	if err := atomicfile.ReplaceBytes(ctx, dstAbs, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write checksums %s: %w", dst, err)
	}
	return nil
}
