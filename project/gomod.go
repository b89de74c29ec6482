package project

import (
	"errors"
	"fmt"
	"go/build"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
)

// readGoMod parses dir/go.mod with the go command's own parser. It is the
// strict parse, since the lax one ignores replace and tool directives.
func readGoMod(dir string) (*modfile.File, error) {
	gomod := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(gomod)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no go.mod in %s: run mage from the module root, or create one with `go mod init example.com/you/service`", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read go.mod: %w", err)
	}
	f, err := modfile.Parse(gomod, data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", gomod, err)
	}
	return f, nil
}

// ModulePath reads the module path from dir/go.mod.
func ModulePath(dir string) (string, error) {
	f, err := readGoMod(dir)
	if err != nil {
		return "", err
	}
	if f.Module == nil || f.Module.Mod.Path == "" {
		return "", fmt.Errorf("%s has no module line: add one such as `module example.com/you/service`", filepath.Join(dir, "go.mod"))
	}
	return f.Module.Mod.Path, nil
}

// LocalModules maps the module paths whose source is on disk to their
// directories: the module in dir, plus every replace directive of its
// go.mod that points at a local path, since edits there change the
// binaries too. A replacement by another module version is a download that
// go.sum pins, so it is not listed.
func LocalModules(dir string) (map[string]string, error) {
	f, err := readGoMod(dir)
	if err != nil {
		return nil, err
	}
	if f.Module == nil {
		return nil, fmt.Errorf("%s has no module line: add one such as `module example.com/you/service`", filepath.Join(dir, "go.mod"))
	}
	mods := map[string]string{f.Module.Mod.Path: dir}
	for _, r := range f.Replace {
		local := r.New.Version == "" && (strings.HasPrefix(r.New.Path, "./") || strings.HasPrefix(r.New.Path, "../") || filepath.IsAbs(r.New.Path))
		if !local {
			continue
		}
		to := r.New.Path
		if !filepath.IsAbs(to) {
			to = filepath.Join(dir, filepath.FromSlash(to))
		}
		mods[r.Old.Path] = to
	}
	return mods, nil
}

// ListsTool reports whether dir/go.mod names pkg in a tool directive, so
// that `go tool` run in dir finds it.
func ListsTool(dir, pkg string) bool {
	f, err := readGoMod(dir)
	if err != nil {
		return false
	}
	for _, t := range f.Tool {
		if t.Path == pkg {
			return true
		}
	}
	return false
}

// Packages visits, breadth first from the import path root, every package
// that ctxt compiles into it and that lives in one of the local modules
// mods (as LocalModules gives them), each once, with its directory and
// what go/build read of it. Packages of other modules are not visited:
// go.sum pins them. A directory that holds no Go files for ctxt is passed
// over. It is the one import walker hoist has: the build's content key and
// the discovery of stamp variables both follow it.
func Packages(ctxt *build.Context, mods map[string]string, root string, visit func(importPath, dir string, pkg *build.Package) error) error {
	seen := map[string]bool{}
	queue := []string{root}
	for len(queue) > 0 {
		ip := queue[0]
		queue = queue[1:]
		if seen[ip] {
			continue
		}
		seen[ip] = true
		dir, ok := dirFor(mods, ip)
		if !ok {
			continue
		}
		pkg, err := ctxt.ImportDir(dir, 0)
		if err != nil {
			var noGo *build.NoGoError
			if errors.As(err, &noGo) {
				continue
			}
			return fmt.Errorf("read package %s: %w", ip, err)
		}
		if err := visit(ip, dir, pkg); err != nil {
			return err
		}
		queue = append(queue, pkg.Imports...)
	}
	return nil
}

// DirFor maps an import path to its directory when one of the local
// modules (see LocalModules) holds it, the longest module path winning.
func DirFor(mods map[string]string, ip string) (string, bool) { return dirFor(mods, ip) }

// dirFor maps an import path to its directory when a local module holds
// it, the longest module path winning.
func dirFor(mods map[string]string, ip string) (string, bool) {
	best := ""
	for mod := range mods {
		if (ip == mod || strings.HasPrefix(ip, mod+"/")) && len(mod) > len(best) {
			best = mod
		}
	}
	if best == "" {
		return "", false
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(ip, best), "/")
	return filepath.Join(mods[best], filepath.FromSlash(rest)), true
}
