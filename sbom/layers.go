package sbom

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"debug/buildinfo"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"runtime/debug"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoistdev/hoist/internal/ctxio"
)

// fileInfo is what the SBOM records about one regular file of an image.
type fileInfo struct {
	size   int64
	sha1   [sha1.Size]byte
	sha256 [sha256.Size]byte
	// exec is set when the content starts with the magic number of an
	// executable format that Go can produce.
	exec bool
	// build is the Go build information, for Go binaries only.
	build *debug.BuildInfo
	// data is the content, kept only for package databases.
	data []byte
}

// OCI whiteout markers: ".wh.NAME" deletes NAME from the layers below, and
// ".wh..wh..opq" in a directory hides everything the layers below put in it.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// flatten reads an image's layers and returns its regular files as a
// container would see them, keyed by path without the leading slash.
//
// It walks the layers from the top down. A layer's entries, whiteouts and
// opaque markers hide paths in the layers below it, so by the time a lower
// layer is read, every file it holds is known to be visible or not: hidden
// files are skipped without hashing, and only visible files that could be
// Go binaries (and package databases) are ever held in memory.
func flatten(ctx context.Context, img v1.Image) (map[string]*fileInfo, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	f := &flattener{
		files:   map[string]*fileInfo{},
		seen:    map[string]bool{},
		covered: map[string]bool{},
		links:   map[string]string{},
		chunk:   make([]byte, 256<<10),
		h1:      sha1.New(),
		h256:    sha256.New(),
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if err := f.readLayer(ctx, layers[i]); err != nil {
			d, _ := layers[i].Digest()
			return nil, fmt.Errorf("read layer %d (%s): %w", i, d, err)
		}
	}
	f.resolveLinks()
	return f.files, nil
}

// flattener holds what the layers read so far (the upper ones) decided.
type flattener struct {
	files map[string]*fileInfo // visible regular files
	// seen marks paths an upper layer already decided: its entry, or its
	// whiteout, hides the same path below.
	seen map[string]bool
	// covered marks paths whose descendants in lower layers are hidden: a
	// whiteout, an opaque directory or a non-directory entry.
	covered map[string]bool
	// links maps visible hard links to their targets; they are resolved
	// once every layer is read.
	links    map[string]string
	chunk    []byte       // read buffer
	whole    bytes.Buffer // the file being read, when it must be held
	h1, h256 hash.Hash
}

// hidden reports whether an upper layer hides name.
func (f *flattener) hidden(name string) bool {
	if f.seen[name] {
		return true
	}
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if f.covered[dir] {
			return true
		}
	}
	return f.covered["."]
}

func (f *flattener) readLayer(ctx context.Context, l v1.Layer) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	stream, stop := pipeline(ctx, rc)
	defer stop()
	// What this layer decides applies to the layers below it only, so it
	// is collected here and merged once the layer is read.
	var seen, covered []string
	tr := tar.NewReader(ctxio.Reader{Ctx: ctx, R: stream})
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := cleanEntryName(hdr.Name)
		if name == "." {
			continue
		}
		dir, base := path.Split(name)
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" {
			dir = "."
		}
		switch {
		case base == whiteoutOpaque:
			covered = append(covered, dir)
			continue
		case strings.HasPrefix(base, whiteoutPrefix):
			gone := path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))
			seen, covered = append(seen, gone), append(covered, gone)
			continue
		}
		seen = append(seen, name)
		if hdr.Typeflag != tar.TypeDir {
			// A file or link replaces a directory of the same name, and
			// with it everything below.
			covered = append(covered, name)
		}
		if f.hidden(name) {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeGNUSparse:
			info, err := f.readFile(tr, name, hdr.Size)
			if err != nil {
				return fmt.Errorf("read /%s: %w", name, err)
			}
			// A later entry for the same path in this layer wins.
			f.files[name] = info
			delete(f.links, name)
		case tar.TypeLink:
			delete(f.files, name)
			f.links[name] = cleanEntryName(hdr.Linkname)
		default:
			delete(f.files, name)
			delete(f.links, name)
		}
	}
	for _, s := range seen {
		f.seen[s] = true
	}
	for _, c := range covered {
		f.covered[c] = true
	}
	return nil
}

// resolveLinks gives each visible hard link the content of the file its
// target names in the flattened image. Tar writers put the target first,
// in the same layer, so that is the usual case. A link whose target an
// upper layer deleted is left out, because the target was never read.
func (f *flattener) resolveLinks() {
	for name, target := range f.links {
		// Follow chains of links, which tar writers do not produce but a
		// layer may still hold; the bound stops cycles.
		for range len(f.links) {
			next, ok := f.links[target]
			if !ok {
				break
			}
			target = next
		}
		if info, ok := f.files[target]; ok {
			f.files[name] = info
		}
	}
}

// readFile hashes one regular file of the given size while reading it.
// The content is kept when it is a package database, or held just long
// enough to read Go build information when it starts like an executable.
func (f *flattener) readFile(r io.Reader, name string, size int64) (*fileInfo, error) {
	info := &fileInfo{}
	f.h1.Reset()
	f.h256.Reset()
	n, err := io.ReadFull(r, f.chunk)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	info.exec = execMagic(f.chunk[:n])
	keep := isMetadataFile(name) && size <= maxMetadataLen
	hold := info.exec || keep
	if hold {
		f.whole.Reset()
		f.whole.Grow(int(min(size, 1<<30)))
	}
	for n > 0 {
		b := f.chunk[:n]
		f.h1.Write(b)
		f.h256.Write(b)
		if hold {
			f.whole.Write(b)
		}
		info.size += int64(n)
		n, err = r.Read(f.chunk)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
	}
	f.h1.Sum(info.sha1[:0])
	f.h256.Sum(info.sha256[:0])
	if !hold {
		return info, nil
	}
	if info.exec {
		// Not a Go binary, or one without module information: either way
		// there is nothing to describe beyond the file.
		if bi, err := buildinfo.Read(bytes.NewReader(f.whole.Bytes())); err == nil {
			info.build = bi
		}
	}
	if keep {
		info.data = bytes.Clone(f.whole.Bytes())
	}
	return info, nil
}

// pipeline decompresses rc on its own goroutine, so that reading the tar
// stream and hashing the files overlap with inflating the next bytes:
// inflating is the larger half of the work. The bytes travel in a few
// large buffers, allocated as needed, so the two goroutines meet rarely.
// stop ends the goroutine and closes rc; it must be called once reading
// is done.
func pipeline(ctx context.Context, rc io.ReadCloser) (r io.Reader, stop func()) {
	const bufs, size = 3, 1 << 20
	full := make(chan []byte, bufs) // never blocks: there are only bufs buffers
	free := make(chan []byte, bufs)
	quit := make(chan struct{})
	done := make(chan struct{})
	p := &pipeReader{full: full, free: free}
	go func() {
		defer close(done)
		defer close(full)
		src := ctxio.Reader{Ctx: ctx, R: rc}
		made := 0
		for {
			var b []byte
			select {
			case <-quit:
				return
			case b = <-free:
			default:
				if made < bufs {
					b, made = make([]byte, size), made+1
					break
				}
				select {
				case <-quit:
					return
				case b = <-free:
				}
			}
			n, err := io.ReadFull(src, b[:cap(b)])
			if n > 0 {
				full <- b[:n]
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					p.err = err
				}
				return
			}
		}
	}()
	return p, func() {
		close(quit)
		for range full { // wait for the producer to finish
		}
		<-done
		rc.Close()
	}
}

// pipeReader reads the buffers pipeline fills.
type pipeReader struct {
	full <-chan []byte
	free chan<- []byte
	cur  []byte
	rest []byte
	err  error // set by the producer before it closes full
}

func (p *pipeReader) Read(b []byte) (int, error) {
	for len(p.rest) == 0 {
		if p.cur != nil {
			p.free <- p.cur
			p.cur = nil
		}
		next, ok := <-p.full
		if !ok {
			if p.err != nil {
				return 0, p.err
			}
			return 0, io.EOF
		}
		p.cur, p.rest = next, next
	}
	n := copy(b, p.rest)
	p.rest = p.rest[n:]
	return n, nil
}

// execMagic reports whether b starts like an ELF, Mach-O or PE file, the
// formats debug/buildinfo can read that images carry.
func execMagic(b []byte) bool {
	switch {
	case bytes.HasPrefix(b, []byte("\x7fELF")),
		bytes.HasPrefix(b, []byte("MZ")),
		bytes.HasPrefix(b, []byte{0xfe, 0xed, 0xfa, 0xce}), bytes.HasPrefix(b, []byte{0xce, 0xfa, 0xed, 0xfe}),
		bytes.HasPrefix(b, []byte{0xfe, 0xed, 0xfa, 0xcf}), bytes.HasPrefix(b, []byte{0xcf, 0xfa, 0xed, 0xfe}):
		return true
	}
	return false
}

// cleanEntryName turns a tar entry name ("./etc/passwd", "/etc/", "etc")
// into the form the SBOM keys files by ("etc/passwd"); the image root is
// ".". A name cannot climb above the root.
func cleanEntryName(name string) string {
	c := path.Clean("/" + name)
	if c == "/" {
		return "."
	}
	return c[1:]
}
