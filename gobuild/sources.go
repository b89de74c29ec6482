package gobuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/hoistdev/hoist/internal/statcache"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
)

// hasher reads the sources of one Build once, however many binaries and
// platforms share them: each directory is listed once, each file is
// hashed once (and not at all when the stat cache vouches for it), each
// package is parsed once per platform and tag set.
type hasher struct {
	root string
	sc   *statcache.Cache

	// recDir holds the build records and their source sets; "" stores
	// nothing.
	recDir string

	mu       sync.Mutex
	listings map[string]*memo[listing]
	pkgs     map[pkgKey]*memo[*build.Package]
	contents map[string]*memo[[]byte]
	sets     map[string]*memo[scan]
	saved    map[string]*memo[bool]
	checked  map[string]*memo[bool]
}

// memo is one value computed once, by whichever caller comes first.
type memo[T any] struct {
	once sync.Once
	val  T
	err  error
}

func memoize[K comparable, T any](mu *sync.Mutex, m map[K]*memo[T], k K, f func() (T, error)) (T, error) {
	mu.Lock()
	e, ok := m[k]
	if !ok {
		e = &memo[T]{}
		m[k] = e
	}
	mu.Unlock()
	e.once.Do(func() { e.val, e.err = f() })
	return e.val, e.err
}

// listing is one directory's entries with two digests: of the names of
// its files (what decides a package's files; a subdirectory such as dist/
// appearing beside go.mod does not), and of every entry with its kind
// (what decides an embedded directory's files).
type listing struct {
	entries    []fs.DirEntry
	files, all string
}

// Prefixes of a scan's directory digests, saying which digest of the
// listing it is, and the digest of a directory that does not exist.
const (
	filesDigest = "files:"
	allDigest   = "all:"
	absentDir   = "absent"
)

// dirDigest returns the digest of dir of the kind that want has (a value
// of scan.Dirs), or the files digest when want is "".
func (h *hasher) dirDigest(dir, want string) (string, error) {
	l, err := h.listing(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return absentDir, nil
	case err != nil:
		return "", err
	case strings.HasPrefix(want, allDigest):
		return allDigest + l.all, nil
	}
	return filesDigest + l.files, nil
}

type pkgKey struct{ dir, goos, goarch, tags string }

func newHasher(root string, sc *statcache.Cache) *hasher {
	if sc == nil {
		sc = statcache.New("")
	}
	return &hasher{root: root, sc: sc, listings: map[string]*memo[listing]{},
		pkgs: map[pkgKey]*memo[*build.Package]{}, contents: map[string]*memo[[]byte]{},
		sets: map[string]*memo[scan]{}, saved: map[string]*memo[bool]{}, checked: map[string]*memo[bool]{}}
}

// file returns the hex sha256 of an absolute path.
func (h *hasher) file(abs string) (string, error) {
	sum, _, err := h.sc.Sum(abs)
	return sum, err
}

// listing reads a directory once per Build. Its digest covers the names
// and kinds of the entries: a file added, removed or renamed changes it.
func (h *hasher) listing(dir string) (listing, error) {
	return memoize(&h.mu, h.listings, dir, func() (listing, error) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return listing{}, err
		}
		files, all := sha256.New(), sha256.New()
		for _, e := range entries {
			fmt.Fprintf(all, "%s %v\n", e.Name(), e.Type())
			if !e.IsDir() {
				fmt.Fprintf(files, "%s\n", e.Name())
			}
		}
		return listing{entries: entries, files: hex.EncodeToString(files.Sum(nil)), all: hex.EncodeToString(all.Sum(nil))}, nil
	})
}

// content is a source file's bytes, read once per Build for go/build,
// which otherwise opens every file again for every platform.
func (h *hasher) content(abs string) ([]byte, error) {
	return memoize(&h.mu, h.contents, abs, func() ([]byte, error) { return os.ReadFile(abs) })
}

// importDir parses the package in dir for one platform and tag set, once.
func (h *hasher) importDir(dir string, p platform.Platform, tags []string) (*build.Package, error) {
	k := pkgKey{dir: dir, goos: p.OS, goarch: p.Arch, tags: strings.Join(tags, ",")}
	return memoize(&h.mu, h.pkgs, k, func() (*build.Package, error) {
		ctxt := build.Default
		ctxt.GOOS, ctxt.GOARCH = p.OS, p.Arch
		ctxt.CgoEnabled = false
		ctxt.BuildTags = tags
		ctxt.Dir = h.root
		ctxt.ReadDir = func(d string) ([]fs.FileInfo, error) {
			l, err := h.listing(d)
			if err != nil {
				return nil, err
			}
			infos := make([]fs.FileInfo, 0, len(l.entries))
			for _, e := range l.entries {
				fi, err := e.Info()
				if err != nil {
					return nil, err
				}
				infos = append(infos, fi)
			}
			return infos, nil
		}
		ctxt.OpenFile = func(f string) (io.ReadCloser, error) {
			data, err := h.content(f)
			if err != nil {
				return nil, err
			}
			return io.NopCloser(bytes.NewReader(data)), nil
		}
		return ctxt.ImportDir(dir, 0)
	})
}

// moduleFiles are the root files that pin what the go command builds.
var moduleFiles = []string{"go.mod", "go.sum", "go.work", "go.work.sum", filepath.Join("vendor", "modules.txt")}

// scan is what one binary for one platform is built from: every file,
// by display path, with its digest, and every directory whose listing
// decided which files those are, with the listing's digest. Dirs is nil
// when a listing cannot stand for the choice (an embed pattern with a
// wildcard in a directory name).
type scan struct {
	Sources map[string]string `json:"sources"`
	Dirs    map[string]string `json:"dirs,omitempty"`
}

// sources lists the files that go into one binary for one platform. It
// follows imports through the local modules only: other modules are
// pinned by go.sum, which is included.
func (h *hasher) sources(mods map[string]string, mainImport string, p platform.Platform, tags []string) (scan, error) {
	out := scan{Sources: map[string]string{}, Dirs: map[string]string{}}
	add := func(abs string) error {
		sum, err := h.file(abs)
		if err != nil {
			return err
		}
		out.Sources[h.display(abs)] = sum
		return nil
	}
	addDir := func(dir, kind string) error {
		d, err := h.dirDigest(dir, kind)
		if err != nil {
			return err
		}
		if out.Dirs != nil {
			// A directory both parsed and embedded keeps the stricter
			// digest of all its entries.
			if prev := out.Dirs[h.display(dir)]; !strings.HasPrefix(prev, allDigest) {
				out.Dirs[h.display(dir)] = d
			}
		}
		return nil
	}
	// The root's files hold go.mod and go.work; vendor/ holds modules.txt
	// and, absent, is recorded as absent so that its creation is seen.
	if err := addDir(h.root, filesDigest); err != nil {
		return scan{}, fmt.Errorf("sources for %s: %w", p, err)
	}
	if err := addDir(filepath.Join(h.root, "vendor"), filesDigest); err != nil {
		return scan{}, fmt.Errorf("sources for %s: %w", p, err)
	}
	for _, name := range moduleFiles {
		if err := add(filepath.Join(h.root, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return scan{}, err
		}
	}

	seen := map[string]bool{}
	queue := []string{mainImport}
	for len(queue) > 0 {
		ip := queue[0]
		queue = queue[1:]
		if seen[ip] {
			continue
		}
		seen[ip] = true
		dir, ok := project.DirFor(mods, ip)
		if !ok {
			continue
		}
		if err := addDir(dir, filesDigest); err != nil {
			return scan{}, fmt.Errorf("read package %s: %w", ip, err)
		}
		pkg, err := h.importDir(dir, p, tags)
		if err != nil {
			var noGo *build.NoGoError
			if errors.As(err, &noGo) {
				continue
			}
			return scan{}, fmt.Errorf("sources for %s: read package %s: %w", p, ip, err)
		}
		for _, list := range [][]string{pkg.GoFiles, pkg.SFiles, pkg.HFiles, pkg.SysoFiles} {
			for _, f := range list {
				if err := add(filepath.Join(dir, f)); err != nil {
					return scan{}, fmt.Errorf("hash sources of %s: %w", ip, err)
				}
			}
		}
		embedded, walked, exact, err := embedFiles(dir, pkg.EmbedPatterns)
		if err != nil {
			return scan{}, fmt.Errorf("hash embedded files of %s: %w", ip, err)
		}
		if !exact {
			out.Dirs = nil
		}
		for _, d := range walked {
			if err := addDir(d, allDigest); err != nil {
				return scan{}, fmt.Errorf("hash embedded files of %s: %w", ip, err)
			}
		}
		for _, f := range embedded {
			if err := add(f); err != nil {
				return scan{}, fmt.Errorf("hash embedded files of %s: %w", ip, err)
			}
		}
		queue = append(queue, pkg.Imports...)
	}
	return out, nil
}

// unchanged reports whether the files and directory listings of an
// earlier scan are all as they were: then the scan itself would find the
// same files with the same digests, and need not run. Every digest comes
// from the stat cache or a read; nothing is trusted from the record alone.
func (h *hasher) unchanged(prev scan) bool {
	if len(prev.Dirs) == 0 || len(prev.Sources) == 0 {
		return false
	}
	for d, want := range prev.Dirs {
		if got, err := h.dirDigest(h.abs(d), want); err != nil || got != want {
			return false
		}
	}
	for f, want := range prev.Sources {
		if sum, err := h.file(h.abs(f)); err != nil || sum != want {
			return false
		}
	}
	return true
}

func (h *hasher) display(abs string) string {
	if rel, err := filepath.Rel(h.root, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(abs)
}

func (h *hasher) abs(display string) string {
	p := filepath.FromSlash(display)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(h.root, p)
}

// embedFiles expands //go:embed patterns the way the compiler does closely
// enough for change detection: a matched directory contributes every file
// below it. walked are the directories whose listings decide the match;
// exact is false when a pattern has a wildcard in a directory part, so
// that no fixed set of listings decides it.
func embedFiles(dir string, patterns []string) (files, walked []string, exact bool, err error) {
	exact = true
	for _, pat := range patterns {
		pat = strings.TrimPrefix(pat, "all:")
		full := filepath.Join(dir, filepath.FromSlash(path.Clean(pat)))
		if parent := filepath.Dir(full); strings.ContainsAny(parent, `*?[\`) {
			exact = false
		} else if parent != dir {
			walked = append(walked, parent)
		}
		matches, err := filepath.Glob(full)
		if err != nil {
			return nil, nil, false, err
		}
		for _, m := range matches {
			err := filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() {
					walked = append(walked, p)
				} else if d.Type().IsRegular() {
					files = append(files, p)
				}
				return nil
			})
			if err != nil {
				return nil, nil, false, err
			}
		}
	}
	slices.Sort(files)
	slices.Sort(walked)
	return slices.Compact(files), slices.Compact(walked), exact, nil
}
