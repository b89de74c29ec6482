package sbom

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"runtime/debug"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

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

// The kinds of entry a layer scan records. Only what decides visibility
// in the stacked image is kept apart; symlinks, devices and the like are
// all "other".
type entryKind uint8

const (
	entryFile     entryKind = iota + 1 // a regular file, with its fileInfo
	entryLink                          // a hard link, with its target
	entryDir                           // a directory
	entryOther                         // anything else that is not a regular file
	entryWhiteout                      // name is the path the whiteout deletes below
	entryOpaque                        // name is the directory made opaque
)

// layerEntry is one tar entry of a layer, reduced to what flattening
// needs. Names are in cleanEntryName's form.
type layerEntry struct {
	name   string
	kind   entryKind
	target string    // entryLink only
	file   *fileInfo // entryFile only
}

// layerScan is everything an image SBOM needs from one layer, read once:
// its entries in tar order, with every regular file already hashed. It
// depends on the layer's bytes alone, not on the layers above it, which
// is what lets a Scanner share it between images and keep it on disk.
// It is never changed once made, so many images may read it at once.
type layerScan struct {
	entries []layerEntry
	// verified is set when the layer's blob, read to its end, matched the
	// layer's digest (scans read back from disk were checked when they were
	// written). Only verified scans are written to disk.
	verified bool
}

// flatten returns an image's regular files as a container would see them,
// keyed by path without the leading slash. sc supplies the scan of each
// layer, reading the layer only if it has no scan of its digest yet.
//
// It applies the layers from the top down. A layer's entries, whiteouts
// and opaque markers hide paths in the layers below it, so a file of a
// lower layer is kept only if nothing above touched its path.
func flatten(ctx context.Context, img v1.Image, sc *Scanner) (map[string]*fileInfo, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	f := &flattener{
		files:   map[string]*fileInfo{},
		seen:    map[string]bool{},
		covered: map[string]bool{},
		links:   map[string]string{},
	}
	for i := len(layers) - 1; i >= 0; i-- {
		ls, err := sc.scan(ctx, layers[i])
		if err != nil {
			d, _ := layers[i].Digest()
			return nil, fmt.Errorf("read layer %d (%s): %w", i, d, err)
		}
		f.apply(ls)
	}
	f.resolveLinks()
	return f.files, nil
}

// flattener holds what the layers applied so far (the upper ones) decided.
// The fileInfos it collects belong to the layer scans and are shared: they
// are only read.
type flattener struct {
	files map[string]*fileInfo // visible regular files
	// seen marks paths an upper layer already decided: its entry, or its
	// whiteout, hides the same path below.
	seen map[string]bool
	// covered marks paths whose descendants in lower layers are hidden: a
	// whiteout, an opaque directory or a non-directory entry.
	covered map[string]bool
	// links maps visible hard links to their targets; they are resolved
	// once every layer is applied.
	links map[string]string
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

// apply adds one layer below the ones already applied.
func (f *flattener) apply(ls *layerScan) {
	// What this layer decides applies to the layers below it only, so it
	// is collected here and merged once the layer is done.
	var seen, covered []string
	for _, e := range ls.entries {
		switch e.kind {
		case entryOpaque:
			covered = append(covered, e.name)
			continue
		case entryWhiteout:
			seen, covered = append(seen, e.name), append(covered, e.name)
			continue
		}
		seen = append(seen, e.name)
		if e.kind != entryDir {
			// A file or link replaces a directory of the same name, and
			// with it everything below.
			covered = append(covered, e.name)
		}
		if f.hidden(e.name) {
			continue
		}
		switch e.kind {
		case entryFile:
			// A later entry for the same path in this layer wins.
			f.files[e.name] = e.file
			delete(f.links, e.name)
		case entryLink:
			delete(f.files, e.name)
			f.links[e.name] = e.target
		default:
			delete(f.files, e.name)
			delete(f.links, e.name)
		}
	}
	for _, s := range seen {
		f.seen[s] = true
	}
	for _, c := range covered {
		f.covered[c] = true
	}
}

// resolveLinks gives each visible hard link the content of the file its
// target names in the flattened image. Tar writers put the target first,
// in the same layer, so that is the usual case. A link whose target an
// upper layer deleted is left out: the flattened image has no such file.
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

// scanTar reads a layer's tar stream to its end-of-archive marker and
// records every entry in order, hashing each regular file as it streams by.
func scanTar(ctx context.Context, r io.Reader) (*layerScan, error) {
	fr := newFileReader()
	ls := &layerScan{}
	tr := tar.NewReader(ctxio.Reader{Ctx: ctx, R: r})
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return ls, nil
		}
		if err != nil {
			return nil, err
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
		e := layerEntry{name: name}
		switch {
		case base == whiteoutOpaque:
			e.kind, e.name = entryOpaque, dir
		case strings.HasPrefix(base, whiteoutPrefix):
			e.kind, e.name = entryWhiteout, path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))
		default:
			switch hdr.Typeflag {
			case tar.TypeReg, tar.TypeGNUSparse:
				e.kind = entryFile
				if e.file, err = fr.readFile(tr, name, hdr.Size); err != nil {
					return nil, fmt.Errorf("read /%s: %w", name, err)
				}
			case tar.TypeLink:
				e.kind, e.target = entryLink, cleanEntryName(hdr.Linkname)
			case tar.TypeDir:
				e.kind = entryDir
			default:
				e.kind = entryOther
			}
		}
		ls.entries = append(ls.entries, e)
	}
}

// fileReader hashes the files of one layer, reusing its buffers from one
// file to the next.
type fileReader struct {
	chunk    []byte       // read buffer
	whole    bytes.Buffer // the file being read, when it must be held
	h1, h256 hash.Hash
}

func newFileReader() *fileReader {
	return &fileReader{chunk: make([]byte, 256<<10), h1: sha1.New(), h256: sha256.New()}
}

// readFile hashes one regular file of the given size while reading it.
// The content is kept when it is a package database, or held just long
// enough to read Go build information when it starts like an executable.
func (f *fileReader) readFile(r io.Reader, name string, size int64) (*fileInfo, error) {
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
		// Never nil, even for an empty file: osPackages tells a database
		// that is present from one that is not by data being nil.
		info.data = append([]byte{}, f.whole.Bytes()...)
	}
	return info, nil
}

// readLayer reads one layer and returns its scan. digest is the layer's
// digest, which the compressed bytes are checked against as they stream
// by; it is the zero Hash when the layer could not say.
func readLayer(ctx context.Context, l v1.Layer, digest v1.Hash) (*layerScan, error) {
	st, err := openLayer(l, digest)
	if err != nil {
		return nil, err
	}
	stream, stop := pipeline(ctx, st)
	defer stop()
	ls, err := scanTar(ctx, stream)
	if err != nil {
		return nil, err
	}
	// Reading past the end-of-archive marker to the end of the blob checks
	// the gzip trailer and completes the blob's hash. A problem there only
	// keeps the scan off disk: the entries were all read, and SBOMs never
	// failed on what follows them.
	if _, err := io.Copy(io.Discard, stream); err == nil {
		ls.verified = st.verified
	}
	return ls, nil
}

// Magic numbers of the compressed streams a layer blob may hold.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// layerStream is the tar stream of a layer. Where it can, it decompresses
// the blob (Compressed) itself rather than asking for Uncompressed: the
// gzip inflater of klauspost/compress is much faster than the standard
// library's that Uncompressed uses, and reading the blob lets the stream
// hash it, so that a scan is known to belong to the layer's digest before
// it is cached on disk under that digest.
type layerStream struct {
	tar      io.Reader     // the tar stream
	blob     *bufio.Reader // the rest of the blob, nil on the Uncompressed path
	hash     hash.Hash     // the blob's hash so far; nil when it cannot be checked
	want     string        // the digest's hex
	closers  []io.Closer   // decompressor first, then the blob
	verified bool          // set at the end of the stream when the hash matched
}

// openLayer opens l's tar stream. The media type says how the blob is
// compressed, and its first bytes must agree; when either is unknown, or
// they disagree, the layer decompresses itself (Uncompressed) and the
// stream cannot be verified.
func openLayer(l v1.Layer, digest v1.Hash) (*layerStream, error) {
	mt, err := l.MediaType()
	if err != nil {
		return nil, fmt.Errorf("read media type: %w", err)
	}
	codec := layerCodec(mt)
	if codec == "" {
		return openUncompressed(l)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	st := &layerStream{want: digest.Hex, closers: []io.Closer{rc}}
	var src io.Reader = rc
	if h, err := v1.Hasher(digest.Algorithm); err == nil && digest.Hex != "" {
		st.hash = h
		src = io.TeeReader(rc, h)
	}
	st.blob = bufio.NewReaderSize(src, 64<<10)
	magic, _ := st.blob.Peek(len(zstdMagic))
	compressed := bytes.HasPrefix(magic, gzipMagic) || bytes.HasPrefix(magic, zstdMagic)
	switch {
	case codec == "gzip" && bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(st.blob)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("start gunzip: %w", err)
		}
		st.tar, st.closers = zr, []io.Closer{zr, rc}
	case codec == "zstd" && bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(st.blob, zstd.WithDecoderConcurrency(1))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("start zstd: %w", err)
		}
		zrc := zr.IOReadCloser()
		st.tar, st.closers = zrc, []io.Closer{zrc, rc}
	case codec == "none" && !compressed:
		st.tar = st.blob
	default:
		rc.Close()
		return openUncompressed(l)
	}
	return st, nil
}

// openUncompressed is the path for blobs openLayer does not decompress
// itself.
func openUncompressed(l v1.Layer) (*layerStream, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	return &layerStream{tar: rc, closers: []io.Closer{rc}}, nil
}

// layerCodec is "gzip", "zstd" or "none" for the layer media types that
// say how their blob is compressed, and "" for any other.
func layerCodec(mt types.MediaType) string {
	switch {
	case strings.HasSuffix(string(mt), "gzip"): // +gzip (OCI) and .tar.gzip (Docker)
		return "gzip"
	case strings.HasSuffix(string(mt), "+zstd"):
		return "zstd"
	case mt == types.OCIUncompressedLayer, mt == types.OCIUncompressedRestrictedLayer, mt == types.DockerUncompressedLayer:
		return "none"
	}
	return ""
}

func (s *layerStream) Read(p []byte) (int, error) {
	n, err := s.tar.Read(p)
	if errors.Is(err, io.EOF) && s.hash != nil {
		// Whatever follows the compressed stream is part of the blob too.
		if _, cerr := io.Copy(io.Discard, s.blob); cerr == nil {
			s.verified = hex.EncodeToString(s.hash.Sum(nil)) == s.want
		}
		s.hash = nil
	}
	return n, err
}

func (s *layerStream) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
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
