// Package launch is the engine of the hoist command: it finds a
// repository's magefiles from anywhere inside it, keeps one compiled
// magefile binary per content key in a cache, and runs that binary from the
// repository root. A run whose magefiles, modules, local dependencies and
// Go toolchain are unchanged costs a few file reads and stats before the
// targets start; anything that changes one of them compiles again, once.
package launch

import (
	"errors"
	"fmt"
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// MagefilesDir is the directory name mage gives magefiles of their own.
const MagefilesDir = "magefiles"

// Project is one repository's magefiles, as found by [Find].
type Project struct {
	// Root is the directory the targets run in: the repository root,
	// which holds magefiles/ or the magefile itself.
	Root string
	// Dir holds the magefile sources: Root/magefiles, or Root itself for
	// a magefile.go with the mage build tag at the top.
	Dir string
	// Module is the directory of the go.mod that builds the magefiles:
	// magefiles/go.mod in the recommended layout, else the root's.
	Module string
	// Files are the magefile sources, absolute and sorted.
	Files []string
}

// ErrNoMagefiles is returned by [Find] when neither a magefiles/ directory
// nor a magefile with the mage build tag exists at the start or above it.
var ErrNoMagefiles = errors.New("no magefiles found")

// Find looks for magefiles at start and in its parents, stopping at the
// repository root (a directory holding .git): a magefiles/ directory with
// Go files, start being such a directory itself, or Go files with the
// mage build tag. The first match wins, the way mage prefers magefiles/
// over tagged files beside it.
func Find(start string) (*Project, error) {
	start, err := filepath.Abs(start)
	if err != nil {
		return nil, fmt.Errorf("find magefiles: %w", err)
	}
	for d := start; ; {
		p, err := findIn(d)
		if p != nil || err != nil {
			return p, err
		}
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			break
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return nil, fmt.Errorf("%w in %s or above it (neither a %s/ directory nor a magefile.go with the mage build tag); "+
		"run `hoist init` at the repository root to write one", ErrNoMagefiles, start, MagefilesDir)
}

// findIn checks one directory.
func findIn(d string) (*Project, error) {
	sub := filepath.Join(d, MagefilesDir)
	if files, err := magefiles(sub, true); err != nil {
		return nil, err
	} else if len(files) > 0 {
		return newProject(d, sub, files)
	}
	if filepath.Base(d) == MagefilesDir {
		if files, err := magefiles(d, true); err != nil {
			return nil, err
		} else if len(files) > 0 {
			return newProject(filepath.Dir(d), d, files)
		}
	}
	files, err := magefiles(d, false)
	if err != nil || len(files) == 0 {
		return nil, err
	}
	return newProject(d, d, files)
}

func newProject(root, dir string, files []string) (*Project, error) {
	p := &Project{Root: root, Dir: dir, Files: files}
	for m := dir; ; {
		if _, err := os.Stat(filepath.Join(m, "go.mod")); err == nil {
			p.Module = m
			return p, nil
		}
		parent := filepath.Dir(m)
		if parent == m {
			return nil, fmt.Errorf("magefiles in %s: no go.mod there or above; run `go mod init` in %s (hoist init writes one)", dir, dir)
		}
		m = parent
	}
}

// magefiles lists the Go files mage would compile in dir. In a magefiles/
// directory that is every file the mage build tag admits; elsewhere only
// the files that need the tag, so that a service's own main.go beside its
// magefile stays out.
func magefiles(dir string, isMagefilesDir bool) ([]string, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("find magefiles: %w", err)
	}
	tagged := build.Default
	tagged.BuildTags = append(slices.Clone(tagged.BuildTags), "mage")
	var files []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		ok, err := tagged.MatchFile(dir, name)
		if err != nil {
			return nil, fmt.Errorf("read magefile %s: %w", filepath.Join(dir, name), err)
		}
		if !ok {
			continue
		}
		if !isMagefilesDir {
			if plain, _ := build.Default.MatchFile(dir, name); plain {
				continue
			}
		}
		files = append(files, filepath.Join(dir, name))
	}
	slices.Sort(files)
	return files, nil
}
