package artifact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/hoistdev/hoist/internal/atomicfile"
)

// Type says what kind of thing an artifact is.
type Type string

// The artifact types hoist produces.
const (
	Binary      Type = "binary"       // a compiled executable for one platform
	Archive     Type = "archive"      // a tar.gz or zip holding a binary and docs
	Checksums   Type = "checksums"    // the checksums.txt over the release files
	SBOM        Type = "sbom"         // an SPDX document for one binary
	ImageLayout Type = "image-layout" // the OCI layout directory holding the index
	ImageIndex  Type = "image-index"  // the multi-platform OCI index
	Image       Type = "image"        // one platform's image manifest
	ImagePush   Type = "image-push"   // a reference pushed to a registry
	Changelog   Type = "changelog"    // the release notes
	Signature   Type = "signature"    // a file's signature: bare (.sig) or a sigstore bundle
	Provenance  Type = "provenance"   // the SLSA provenance statement, or its signed bundle
	PublicKey   Type = "public-key"   // the key the signatures verify with (cosign.pub)
	Referrer    Type = "referrer"     // a signature or attestation attached to a pushed image
)

// Artifact is one produced thing. Path is slash-separated and relative to the
// project root, so the list stays valid when the checkout moves.
type Artifact struct {
	// Type says what kind of artifact this is.
	Type Type `json:"type"`
	// Name is the logical name: a binary name, a file name or an image
	// reference.
	Name string `json:"name"`
	// Path is where the artifact is on disk, if it is a file or directory.
	Path string `json:"path,omitempty"`
	// Platform is os/arch[/variant] for per-platform artifacts.
	Platform string `json:"platform,omitempty"`
	// Digest is "sha256:<hex>" of a file's bytes or of an image manifest.
	Digest string `json:"digest,omitempty"`
	// Size is the file size, or an image's compressed size, in bytes.
	Size int64 `json:"size,omitempty"`
	// Extra holds type-specific details, such as an image's base digest.
	Extra map[string]string `json:"extra,omitempty"`
}

// Filter selects artifacts; filters passed together must all match.
type Filter func(Artifact) bool

// ByType matches artifacts of any of the given types.
func ByType(types ...Type) Filter {
	return func(a Artifact) bool { return slices.Contains(types, a.Type) }
}

// ByPlatform matches artifacts built for the given os/arch[/variant].
func ByPlatform(platform string) Filter {
	return func(a Artifact) bool { return a.Platform == platform }
}

// ByName matches artifacts with the given logical name, such as a binary name.
func ByName(name string) Filter {
	return func(a Artifact) bool { return a.Name == name }
}

// List is a concurrency-safe artifact list. The zero value is empty and ready.
type List struct {
	mu    sync.Mutex
	items []Artifact
}

// file is the on-disk form; the version lets a later hoist refuse a format it
// does not understand instead of misreading it.
type file struct {
	Version   int        `json:"version"`
	Artifacts []Artifact `json:"artifacts"`
}

const formatVersion = 1

// Add appends artifacts.
func (l *List) Add(as ...Artifact) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, as...)
}

// Replace drops every artifact of type t and adds as in their place. A stage
// calls it with its complete output, so a rerun never leaves stale entries.
func (l *List) Replace(t Type, as ...Artifact) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = slices.DeleteFunc(l.items, func(a Artifact) bool { return a.Type == t })
	l.items = append(l.items, as...)
}

// Filter returns a copy of the artifacts matching every filter.
func (l *List) Filter(filters ...Filter) []Artifact {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Artifact
	for _, a := range l.items {
		if matchAll(a, filters) {
			out = append(out, a)
		}
	}
	return out
}

// Select returns the artifacts of as that match every filter, in order.
func Select(as []Artifact, filters ...Filter) []Artifact {
	var out []Artifact
	for _, a := range as {
		if matchAll(a, filters) {
			out = append(out, a)
		}
	}
	return out
}

// All returns a copy of every artifact.
func (l *List) All() []Artifact { return l.Filter() }

func matchAll(a Artifact, filters []Filter) bool {
	for _, f := range filters {
		if !f(a) {
			return false
		}
	}
	return true
}

// Load reads a saved list. A missing file is an empty list, since nothing
// has been built yet.
func Load(path string) (*List, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &List{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read artifact list: %w", err)
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("read artifact list %s: %w (delete it and rebuild)", path, err)
	}
	if f.Version != formatVersion {
		return nil, fmt.Errorf("artifact list %s has format version %d, this hoist reads %d: delete it and rebuild", path, f.Version, formatVersion)
	}
	return &List{items: f.Artifacts}, nil
}

// Save writes the list to path atomically, sorted so that equal lists give
// equal files.
func (l *List) Save(path string) error {
	l.mu.Lock()
	items := slices.Clone(l.items)
	l.mu.Unlock()
	slices.SortStableFunc(items, compare)
	if items == nil {
		items = []Artifact{}
	}
	data, err := json.MarshalIndent(file{Version: formatVersion, Artifacts: items}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode artifact list: %w", err)
	}
	if err := atomicfile.ReplaceBytes(context.Background(), path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func compare(a, b Artifact) int {
	for _, c := range [][2]string{{string(a.Type), string(b.Type)}, {a.Name, b.Name}, {a.Platform, b.Platform}, {a.Path, b.Path}, {a.Digest, b.Digest}} {
		if n := strings.Compare(c[0], c[1]); n != 0 {
			return n
		}
	}
	return 0
}
