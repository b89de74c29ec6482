package sbom

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoistdev/hoist/internal/atomicfile"
)

// Scanner reads the layers of the images that GenerateImage and
// GenerateIndex describe, and keeps what it found in each layer under the
// layer's digest. Calls that share a Scanner read each distinct layer
// once: a release that describes an index and then each of its platform
// images decompresses every layer a single time, and a base layer that
// several platforms or images share only once in all.
//
// With a directory, the Scanner also keeps each layer's scan there, one
// file per layer digest, so that a later run (a later release on the same
// base, or a rerun) does not decompress that layer at all. A layer's
// digest names its bytes, so a file is valid for as long as the digest
// is; a scan is only written after the bytes read were checked against
// the digest, and a file that is damaged, unreadable or from another
// format is ignored, read again from the layer and replaced. Failing to
// write the directory costs time, never an SBOM: the error is dropped.
//
// A Scanner is safe for concurrent use. It holds every layer's scan (the
// checksums of each file, the build information of each Go binary and the
// package databases, but no other content) for as long as it lives, so
// keep one per run, not one per process. The zero Scanner works, and
// keeps nothing on disk.
type Scanner struct {
	dir    string
	mu     sync.Mutex
	layers map[v1.Hash]*layerCall
}

// layerCall is one layer's scan, finished when done is closed.
type layerCall struct {
	done chan struct{}
	ls   *layerScan
	err  error
}

// NewScanner returns a Scanner that keeps layer scans in memory and, when
// dir is not "", in dir, which it creates when it first writes there.
func NewScanner(dir string) *Scanner {
	return &Scanner{dir: dir}
}

// WithScanner has GenerateImage and GenerateIndex read layers through s,
// sharing its scans with every other call given the same Scanner. nil is
// the default: each call reads the layers of its own images once (within
// an index too), and keeps nothing after it returns. Generate and Write
// ignore it.
func WithScanner(s *Scanner) Option {
	return func(o *options) { o.scanner = s }
}

// scannerFor is the Scanner a call reads through: the caller's, or one of
// its own.
func (o *options) scannerFor() *Scanner {
	if o.scanner != nil {
		return o.scanner
	}
	return &Scanner{}
}

// scan returns the scan of l, from memory, from disk, or by reading l.
// Concurrent calls for one digest wait for a single read.
func (s *Scanner) scan(ctx context.Context, l v1.Layer) (*layerScan, error) {
	digest, err := l.Digest()
	if err != nil {
		// Nothing to key the scan by; read it for this image alone.
		return readLayer(ctx, l, v1.Hash{})
	}
	for {
		s.mu.Lock()
		if s.layers == nil {
			s.layers = map[v1.Hash]*layerCall{}
		}
		c := s.layers[digest]
		if c == nil {
			c = &layerCall{done: make(chan struct{})}
			s.layers[digest] = c
			s.mu.Unlock()
			c.ls, c.err = s.load(ctx, l, digest)
			if c.err != nil {
				// A failure is not remembered: it may be this caller's
				// context ending, which says nothing about the layer.
				s.mu.Lock()
				delete(s.layers, digest)
				s.mu.Unlock()
			}
			close(c.done)
			return c.ls, c.err
		}
		s.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if c.err == nil {
			return c.ls, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// The read this call waited for failed; try again, this time with
		// this call's context.
	}
}

// load reads the scan of the layer with the given digest from disk, or
// reads the layer and then keeps its scan on disk.
func (s *Scanner) load(ctx context.Context, l v1.Layer, digest v1.Hash) (*layerScan, error) {
	file := s.cacheFile(digest)
	if file != "" {
		if raw, err := os.ReadFile(file); err == nil {
			if ls := decodeScan(raw, digest); ls != nil {
				return ls, nil
			}
		}
	}
	ls, err := readLayer(ctx, l, digest)
	if err != nil {
		return nil, err
	}
	if file != "" && ls.verified {
		if raw, err := encodeScan(ls, digest); err == nil {
			_ = atomicfile.ReplaceBytes(ctx, file, raw, 0o644) // the cache only saves time
		}
	}
	return ls, nil
}

// cacheFile is where the scan of a layer is kept on disk, "" when it is
// not: no directory, or a digest that is not a well-formed SHA-256 or
// SHA-512 one (and so no safe file name, and no way to check the blob).
func (s *Scanner) cacheFile(d v1.Hash) string {
	if s.dir == "" {
		return ""
	}
	if _, err := v1.NewHash(d.String()); err != nil {
		return ""
	}
	return filepath.Join(s.dir, d.Algorithm+"-"+d.Hex+".scan")
}

// scanFormat opens every cache file, followed by the SHA-256 of the JSON
// after the first line, which is checked before the JSON is read. Change
// it whenever what a layer scan records changes (the entry kinds,
// fileInfo's fields, isMetadataFile, maxMetadataLen, execMagic), so that
// the scans an older hoist wrote are read again from the layers.
const scanFormat = "hoist-sbom-layer-scan/1"

// diskScan is the JSON of a cache file.
type diskScan struct {
	Layer   string      `json:"layer"` // the digest, checked against the file's name
	Entries []diskEntry `json:"entries"`
}

type diskEntry struct {
	Name   string    `json:"name"`
	Kind   entryKind `json:"kind"`
	Target string    `json:"target,omitempty"`
	Size   int64     `json:"size,omitempty"`
	SHA1   string    `json:"sha1,omitempty"`
	SHA256 string    `json:"sha256,omitempty"`
	Exec   bool      `json:"exec,omitempty"`
	// Build is encoded field by field; encoding/json keeps every string
	// as it is, so the build information reads back unchanged.
	Build *debug.BuildInfo `json:"build,omitempty"`
	// Kept tells a package database whose content is empty from a file
	// whose content was not kept.
	Kept bool   `json:"kept,omitempty"`
	Data []byte `json:"data,omitempty"`
}

func encodeScan(ls *layerScan, digest v1.Hash) ([]byte, error) {
	ds := diskScan{Layer: digest.String(), Entries: make([]diskEntry, len(ls.entries))}
	for i, e := range ls.entries {
		de := diskEntry{Name: e.name, Kind: e.kind, Target: e.target}
		if f := e.file; f != nil {
			de.Size, de.Exec, de.Build = f.size, f.exec, f.build
			de.SHA1, de.SHA256 = hex.EncodeToString(f.sha1[:]), hex.EncodeToString(f.sha256[:])
			de.Kept, de.Data = f.data != nil, f.data
		}
		ds.Entries[i] = de
	}
	body, err := json.Marshal(ds)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	out := make([]byte, 0, len(scanFormat)+2+2*len(sum)+len(body))
	out = fmt.Appendf(out, "%s %x\n", scanFormat, sum)
	return append(out, body...), nil
}

// decodeScan returns the scan a cache file holds, or nil when the file is
// not a whole, well-formed scan of the layer digest names.
func decodeScan(raw []byte, digest v1.Hash) *layerScan {
	head, body, ok := bytes.Cut(raw, []byte("\n"))
	if !ok {
		return nil
	}
	format, sum, ok := bytes.Cut(head, []byte(" "))
	if !ok || string(format) != scanFormat {
		return nil
	}
	want := sha256.Sum256(body)
	if string(sum) != hex.EncodeToString(want[:]) {
		return nil
	}
	var ds diskScan
	if err := json.Unmarshal(body, &ds); err != nil || ds.Layer != digest.String() {
		return nil
	}
	ls := &layerScan{entries: make([]layerEntry, len(ds.Entries)), verified: true}
	for i, de := range ds.Entries {
		// Whiteouts may name any path, even one above the root (which
		// then hides nothing); every other name is in cleanEntryName's form.
		if de.Name == "" || de.Kind < entryFile || de.Kind > entryOpaque ||
			(de.Kind != entryWhiteout && cleanEntryName(de.Name) != de.Name) ||
			(de.Kind == entryLink && cleanEntryName(de.Target) != de.Target) {
			return nil
		}
		e := layerEntry{name: de.Name, kind: de.Kind, target: de.Target}
		if de.Kind == entryFile {
			f := &fileInfo{size: de.Size, exec: de.Exec, build: de.Build}
			if de.Size < 0 || !unhex(f.sha1[:], de.SHA1) || !unhex(f.sha256[:], de.SHA256) || (de.Build != nil && (!de.Exec || slices.Contains(de.Build.Deps, nil))) {
				return nil
			}
			if de.Kept {
				f.data = de.Data
				if f.data == nil {
					f.data = []byte{}
				}
			}
			e.file = f
		}
		ls.entries[i] = e
	}
	return ls
}

// unhex decodes s into dst, reporting whether s was exactly that long.
func unhex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	_, err := hex.Decode(dst, []byte(s))
	return err == nil
}
