package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"github.com/hoistdev/hoist/internal/ctxio"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// entry is one file, directory or symlink of a layer, addressed by its
// slash-separated path without a leading slash ("etc/passwd").
type entry struct {
	name     string
	typeflag byte
	mode     int64 // permission bits plus setuid/setgid/sticky, tar style
	uid, gid int
	data     []byte // regular file contents held in memory
	src      string // regular file contents read from disk at write time
	size     int64  // size of src, checked again when it is copied
	linkname string
}

// layerFS collects the entries of one layer. Paths are unique; parent
// directories that nobody declared are filled in at write time, so every
// entry's parents exist in the same layer and extraction never has to guess
// their owner or mode.
type layerFS struct {
	entries map[string]*entry
	// parents gives the metadata of implicit parent directories that the
	// built-in base defines (for example tmp with the sticky bit), so a
	// layer above it does not reset them to 0755 root.
	parents map[string]entry
}

func newLayerFS() *layerFS {
	return &layerFS{entries: map[string]*entry{}, parents: builtinDirs()}
}

// add records e and reports a clash with an earlier entry of another kind or
// origin, because a later entry silently winning would hide a mistake in the
// caller's configuration.
func (l *layerFS) add(e entry, origin string) error {
	if prev, ok := l.entries[e.name]; ok {
		if prev.typeflag == tar.TypeDir && e.typeflag == tar.TypeDir && prev.mode == e.mode && prev.uid == e.uid && prev.gid == e.gid {
			return nil
		}
		return fmt.Errorf("/%s is added twice (second time by %s): give each file its own destination", e.name, origin)
	}
	l.entries[e.name] = &e
	return nil
}

// complete adds a directory entry for every parent path not yet present.
func (l *layerFS) complete() {
	for name := range l.entries {
		for dir := path.Dir(name); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if _, ok := l.entries[dir]; ok {
				continue
			}
			e, ok := l.parents[dir]
			if !ok {
				e = entry{name: dir, typeflag: tar.TypeDir, mode: 0o755}
			}
			l.entries[dir] = &e
		}
	}
}

// writeTar writes the entries in path order with headers that depend only on
// the entries and mtime: no owner names, no access or change times, PAX
// format throughout.
func (l *layerFS) writeTar(ctx context.Context, w io.Writer, mtime time.Time) error {
	l.complete()
	names := make([]string, 0, len(l.entries))
	for name := range l.entries {
		names = append(names, name)
	}
	sort.Strings(names)
	tw := tar.NewWriter(w)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := l.entries[name]
		hdr := &tar.Header{
			Typeflag: e.typeflag,
			Name:     e.name,
			Linkname: e.linkname,
			Mode:     e.mode,
			Uid:      e.uid,
			Gid:      e.gid,
			ModTime:  mtime,
			Format:   tar.FormatPAX,
		}
		switch e.typeflag {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeReg:
			hdr.Size = int64(len(e.data))
			if e.src != "" {
				hdr.Size = e.size
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write tar header for /%s: %w", e.name, err)
		}
		if e.typeflag != tar.TypeReg {
			continue
		}
		if e.src == "" {
			if _, err := tw.Write(e.data); err != nil {
				return fmt.Errorf("write /%s: %w", e.name, err)
			}
			continue
		}
		if err := copyFile(ctx, tw, e); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish tar: %w", err)
	}
	return nil
}

// copyFile streams a file from disk into the tar, failing if it changed size
// since it was listed, because the header already promised that size.
func copyFile(ctx context.Context, tw *tar.Writer, e *entry) error {
	f, err := os.Open(e.src)
	if err != nil {
		return fmt.Errorf("read %s for /%s: %w", e.src, e.name, err)
	}
	defer f.Close()
	n, err := io.CopyN(tw, ctxio.Reader{Ctx: ctx, R: f}, e.size)
	if err == io.EOF || (err == nil && !atEOF(f)) {
		return fmt.Errorf("read %s for /%s: size changed from %d bytes while building the image; rerun once the file is stable", e.src, e.name, e.size)
	}
	if err != nil {
		return fmt.Errorf("read %s for /%s after %d bytes: %w", e.src, e.name, n, err)
	}
	return nil
}

func atEOF(r io.Reader) bool {
	var b [1]byte
	n, _ := r.Read(b[:])
	return n == 0
}

// build turns the entries into a gzip-compressed OCI layer held in memory.
// One pass hashes both the tar stream (the diff ID) and the gzip stream (the
// digest). The gzip header carries no name and no timestamp, so the bytes
// depend only on the content and the level.
func (l *layerFS) build(ctx context.Context, mtime time.Time, level int) (*memLayer, error) {
	var buf bytes.Buffer
	zh := sha256.New()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(&buf, zh), level)
	if err != nil {
		return nil, fmt.Errorf("start gzip at level %d: %w", level, err)
	}
	zw.ModTime = time.Unix(0, 0) // the header's mtime field: 0, not the zero time's seconds

	th := sha256.New()
	if err := l.writeTar(ctx, io.MultiWriter(zw, th), mtime); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("finish gzip: %w", err)
	}
	return &memLayer{
		compressed: buf.Bytes(),
		digest:     sum(zh),
		diffID:     sum(th),
	}, nil
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

// memLayer is a finished layer whose compressed bytes live in memory, so
// that digests are computed once and writing the layout or a tarball never
// compresses again.
type memLayer struct {
	compressed     []byte
	digest, diffID v1.Hash
}

var _ v1.Layer = (*memLayer)(nil)

// Digest implements v1.Layer.
func (m *memLayer) Digest() (v1.Hash, error) { return m.digest, nil }

// DiffID implements v1.Layer.
func (m *memLayer) DiffID() (v1.Hash, error) { return m.diffID, nil }

// Compressed implements v1.Layer.
func (m *memLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(m.compressed)), nil
}

// Uncompressed implements v1.Layer.
func (m *memLayer) Uncompressed() (io.ReadCloser, error) {
	zr, err := gzip.NewReader(bytes.NewReader(m.compressed))
	if err != nil {
		return nil, fmt.Errorf("open layer %s: %w", m.digest, err)
	}
	return zr, nil
}

// Size implements v1.Layer.
func (m *memLayer) Size() (int64, error) { return int64(len(m.compressed)), nil }

// MediaType implements v1.Layer.
func (m *memLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }

// tarMode converts an fs.FileMode into tar's mode bits. Both Go's symbolic
// bits (fs.ModeSticky) and the octal ones people write by hand (0o1777) are
// accepted, because fs.FileMode leaves 0o7000 unused and a literal 0o1777
// would otherwise lose its sticky bit without a word.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m & 0o7777)
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	return mode
}

// imagePath checks a destination path inside the image and returns it in
// layer form (no leading slash).
func imagePath(p, what string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%s %q: use an absolute path inside the image, such as /etc/app/config.json", what, p)
	}
	clean := path.Clean(p)
	if clean == "/" {
		return "", fmt.Errorf("%s %q: the image root cannot be replaced; name a file or directory below it", what, p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("%s %q: remove the \"..\" element; paths are taken from the image root", what, p)
		}
	}
	return strings.TrimPrefix(clean, "/"), nil
}
