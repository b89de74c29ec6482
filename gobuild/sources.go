package gobuild

import (
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
)

// hasher hashes files once per Build, however many platforms read them.
type hasher struct {
	root string
	mu   sync.Mutex
	memo map[string]string
}

func newHasher(root string) *hasher { return &hasher{root: root, memo: map[string]string{}} }

// file returns the hex sha256 of an absolute path.
func (h *hasher) file(abs string) (string, error) {
	h.mu.Lock()
	sum, ok := h.memo[abs]
	h.mu.Unlock()
	if ok {
		return sum, nil
	}
	sum, _, err := hashFile(abs)
	if err != nil {
		return "", err
	}
	h.mu.Lock()
	h.memo[abs] = sum
	h.mu.Unlock()
	return sum, nil
}

// sources lists the files that go into one binary for one platform, keyed
// by a display path, with their hashes. It follows imports through the
// local modules only: other modules are pinned by go.sum, which is included.
func (h *hasher) sources(mods map[string]string, mainImport string, p platform.Platform, tags []string) (map[string]string, error) {
	ctxt := build.Default
	ctxt.GOOS, ctxt.GOARCH = p.OS, p.Arch
	ctxt.CgoEnabled = false
	ctxt.BuildTags = tags
	ctxt.Dir = h.root

	out := map[string]string{}
	add := func(abs string) error {
		sum, err := h.file(abs)
		if err != nil {
			return err
		}
		out[h.display(abs)] = sum
		return nil
	}
	for _, name := range []string{"go.mod", "go.sum", "go.work", "go.work.sum", filepath.Join("vendor", "modules.txt")} {
		if err := add(filepath.Join(h.root, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}

	err := project.Packages(&ctxt, mods, mainImport, func(ip, dir string, pkg *build.Package) error {
		var files []string
		for _, list := range [][]string{pkg.GoFiles, pkg.SFiles, pkg.HFiles, pkg.SysoFiles} {
			files = append(files, list...)
		}
		for _, f := range files {
			if err := add(filepath.Join(dir, f)); err != nil {
				return fmt.Errorf("hash sources of %s: %w", ip, err)
			}
		}
		embedded, err := embedFiles(dir, pkg.EmbedPatterns)
		if err != nil {
			return fmt.Errorf("hash embedded files of %s: %w", ip, err)
		}
		for _, f := range embedded {
			if err := add(f); err != nil {
				return fmt.Errorf("hash embedded files of %s: %w", ip, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sources for %s: %w", p, err)
	}
	return out, nil
}

func (h *hasher) display(abs string) string {
	if rel, err := filepath.Rel(h.root, abs); err == nil {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(abs)
}

// embedFiles expands //go:embed patterns the way the compiler does closely
// enough for change detection: a matched directory contributes every file
// below it.
func embedFiles(dir string, patterns []string) ([]string, error) {
	var out []string
	for _, pat := range patterns {
		pat = strings.TrimPrefix(pat, "all:")
		matches, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(path.Clean(pat))))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			err := filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.Type().IsRegular() {
					out = append(out, p)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
