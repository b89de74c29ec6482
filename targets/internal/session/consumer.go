package session

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/registry"
)

// This file holds what hoist does for repositories it did not design: the
// layouts, tools and leftovers that a consumer brings along.

// magefilesDir is the directory mage reads by default, which a consumer
// turns into a module of its own to keep hoist's dependencies out of the
// service's go.mod.
const magefilesDir = "magefiles"

// checkServiceModule refuses to treat the magefiles module as the service:
// run from inside magefiles/ without -w, every target would look for main
// packages in the wrong module and fail with a misleading message.
func checkServiceModule(dir string) error {
	if filepath.Base(dir) != magefilesDir {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "go.mod")); err != nil {
		return nil
	}
	return fmt.Errorf("hoist is running in %s, the module of your magefiles, not the service's module: "+
		"pass -w .. to mage so the targets run in the module root (go tool -C magefiles mage -w .. TARGET), or set Dir in targets.Configure", dir)
}

// RegistryDir is where `go tool hoist-registry` runs: the module root when
// its go.mod lists the tool, else magefiles/ when that module lists it, as
// in the recommended layout where hoist is a dependency of magefiles/go.mod
// only.
func (s *Session) RegistryDir() string {
	for _, d := range []string{s.Cfg.Dir, filepath.Join(s.Cfg.Dir, magefilesDir)} {
		if listsTool(filepath.Join(d, "go.mod"), registry.ToolPackage) {
			return d
		}
	}
	return s.Cfg.Dir
}

// RegistryToolHint names the go.mod to add hoist-registry to when the
// consumer keeps its magefiles in a module of their own, since the generic
// hint would send the tool, and hoist's dependencies, into the service's
// go.mod.
func (s *Session) RegistryToolHint() string {
	if len(s.Cfg.Publish.EmbeddedCommand) > 0 {
		return ""
	}
	mf := filepath.Join(s.Cfg.Dir, magefilesDir)
	if _, err := os.Stat(filepath.Join(mf, "go.mod")); err != nil {
		return ""
	}
	return "\nwith a separate magefiles/go.mod, add the tool there: cd magefiles && go get -tool " + registry.ToolPackage
}

// listsTool reports whether the go.mod at gomod names pkg in a tool
// directive, in its one-line or its block form.
func listsTool(gomod, pkg string) bool {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return false
	}
	inBlock := false
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(strings.Replace(line, "(", " ( ", 1))
		switch {
		case len(f) == 0:
		case inBlock && f[0] == ")":
			inBlock = false
		case inBlock:
			if unquote(f[0]) == pkg {
				return true
			}
		case f[0] == "tool" && len(f) >= 2 && f[1] == "(":
			inBlock = true
		case f[0] == "tool" && len(f) >= 2 && unquote(f[1]) == pkg:
			return true
		}
	}
	return false
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// MinMage is the oldest mage CLI that runs every hoist target: v1.11.0 was
// the first to pass typed arguments such as release:level's level. Older
// CLIs drop those targets from -l and answer "Unknown targets specified".
const MinMage = "v1.11.0"

// MageFix is the command that moves a consumer to the mage CLI hoist is
// tested with, pinned as a tool so that nothing is installed globally.
const MageFix = "go get -tool github.com/magefile/mage@v1.17.2"

// mageWarning returns a warning when exe, the mage CLI that started this
// process, is older than MinMage, and "" when it is recent or cannot be
// identified (a binary built without module information, or no CLI at all).
func mageWarning(exe string) string {
	if exe == "" {
		return ""
	}
	info, err := buildinfo.ReadFile(exe)
	if err != nil || info.Main.Path != "github.com/magefile/mage" {
		return ""
	}
	v, err := semver.NewVersion(info.Main.Version)
	if err != nil || !v.LessThan(semver.MustParse(MinMage)) {
		return ""
	}
	return fmt.Sprintf("warning: this mage CLI is %s, older than %s: it cannot pass arguments to targets, so release:level is missing; "+
		"upgrade mage: %s (in the module that holds your magefiles) and run it as go tool mage", info.Main.Version, MinMage, MageFix)
}

// parentExe is the executable of the process that started this one: the
// mage CLI when a magefile binary runs a target. It is known on Linux only;
// elsewhere the mage version check is skipped.
func parentExe() string {
	if runtime.GOOS != "linux" {
		return ""
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", os.Getppid()))
	if err != nil {
		return ""
	}
	return exe
}

// staticDirNames are the module-root directories a service usually reads
// at run time relative to its working directory (templates, a built UI,
// assets), in the order they are looked for.
func staticDirNames() []string { return []string{"ui", "web", "static", "public"} }

// staticFiles discovers the static directories to copy into the image when
// Image.Files is not set: each one lands under the image's working
// directory, so a path such as ui/index.html resolves the same in the
// image as it does in a checkout. A directory that holds Go code is a
// package, not assets, and one with package.json or node_modules holds
// frontend sources, whose build output is what belongs in the image; both
// are left out, the second with a note.
func (s *Session) staticFiles(target string) ([]image.File, error) {
	workdir := s.Cfg.Image.WorkDir
	if workdir == "" {
		workdir = image.DefaultWorkDir
	}
	var files []image.File
	for _, name := range staticDirNames() {
		dir := s.Cfg.Path(name)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		kind, found, err := classifyStatic(dir)
		if err != nil {
			return nil, err
		}
		switch kind {
		case "go":
			s.Logf(target, "%s/ not copied into the image: it is a Go package (%s)", name, found)
			continue
		case "frontend":
			s.Logf(target, "%s/ not copied into the image: it holds frontend sources (%s); set Image.Files to ship the build output", name, found)
			continue
		case "hidden":
			s.Logf(target, "%s/ not copied into the image: it holds a hidden file (%s), which could be a secret; set Image.Files to ship it on purpose", name, found)
			continue
		}
		dst := path.Join(workdir, name)
		s.Logf(target, "static files: %s/ -> %s (root-owned, read-only; set Image.Files for another place, owner or mode)", name, dst)
		files = append(files, image.File{Src: name, Dst: dst})
	}
	return files, nil
}

// classifyStatic says whether dir holds Go code ("go"), frontend sources
// ("frontend": a package.json or node_modules at any depth), a hidden file
// that may be a secret such as .env ("hidden"), or only assets (""). The
// second value names the file that decided it.
func classifyStatic(dir string) (string, string, error) {
	kind, found := "", ""
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		rel, _ := filepath.Rel(filepath.Dir(dir), p)
		switch {
		case p == dir:
		case name == "node_modules" || name == "package.json":
			kind, found = "frontend", rel
			return fs.SkipAll
		case strings.HasPrefix(name, "."):
			if kind == "" {
				kind, found = "hidden", rel
			}
			if d.IsDir() {
				return fs.SkipDir
			}
		case !d.IsDir() && strings.HasSuffix(name, ".go"):
			kind, found = "go", rel
			return fs.SkipAll
		}
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("look for static files in %s: %w", dir, err)
	}
	return kind, found, nil
}

// filesDigest hashes the names, modes and contents of the extra image
// files, so that editing ui/index.html rebuilds the image even though the
// binaries and the configuration are unchanged.
func filesDigest(files []image.File) (string, error) {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "file %s -> %s\n", f.Src, f.Dst)
		err := filepath.WalkDir(f.Src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(f.Src, p)
			fi, err := os.Stat(p) // follows symlinks, as the image layer does
			if err != nil {
				return err
			}
			if fi.IsDir() {
				fmt.Fprintf(h, "dir %s\n", filepath.ToSlash(rel))
				return nil
			}
			fmt.Fprintf(h, "%s %o %d\n", filepath.ToSlash(rel), fi.Mode().Perm()&0o111, fi.Size())
			r, err := os.Open(p)
			if err != nil {
				return err
			}
			defer r.Close()
			_, err = io.Copy(h, r)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("Image.Files source %s: %w: fix Src, which is relative to the module root", f.Src, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
