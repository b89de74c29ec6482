package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/atomicfile"
)

// entry is what the cache keeps beside one compiled binary.
type entry struct {
	// Version is the record's format.
	Version int `json:"version"`
	// Dir is the magefiles directory the binary was compiled from.
	Dir string `json:"dir"`
	// Key is the content key of the inputs (see Project.inputs).
	Key string `json:"key"`
	// Built is when the binary was compiled.
	Built time.Time `json:"built"`
	// Aliases maps each alias the magefile declares to its target.
	Aliases map[string]string `json:"aliases,omitempty"`
	// Files are the sources of local packages the binary links (the
	// main module's, a replace directive's directory, a workspace's),
	// which no go.sum covers.
	Files []fileStamp `json:"files,omitempty"`
	// Dirs are those packages' directories, so that a file added to or
	// removed from one is noticed too.
	Dirs []dirStamp `json:"dirs,omitempty"`
}

const entryVersion = 1

// fileStamp identifies one file's content cheaply, as git's index does: if
// size, modification time, inode and change time all match, the content
// is taken as unchanged; otherwise it is hashed, and only a different
// digest counts as a change (a touched file costs one read, not a
// compile). A write that restores the old mtime still moves ctime.
type fileStamp struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	MTime  int64  `json:"mtime"`
	Inode  uint64 `json:"ino,omitempty"`
	CTime  int64  `json:"ctime,omitempty"`
	Digest string `json:"sha256"`
}

// dirStamp is the set of source file names in a package directory.
type dirStamp struct {
	Path  string `json:"path"`
	Names string `json:"names"`
}

// stampFile records path as it is now.
func stampFile(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	d, err := fileDigest(path)
	if err != nil {
		return fileStamp{}, err
	}
	s := fileStamp{Path: path, Size: fi.Size(), MTime: fi.ModTime().UnixNano(), Digest: d}
	s.Inode, s.CTime = inodeCTime(fi)
	return s, nil
}

// same reports whether fi still matches the stamp without reading the file.
func (s fileStamp) same(fi os.FileInfo) bool {
	ino, ctime := inodeCTime(fi)
	return fi.Size() == s.Size && fi.ModTime().UnixNano() == s.MTime && ino == s.Inode && ctime == s.CTime
}

// sourceName reports whether a file name is one the go command compiles
// or links, so that adding or removing one in a package directory can
// change the binary.
func sourceName(name string) bool {
	if strings.HasSuffix(name, "_test.go") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return false
	}
	switch filepath.Ext(name) {
	case ".go", ".s", ".S", ".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".m", ".f", ".F", ".for", ".f90", ".syso", ".swig", ".swigcxx":
		return true
	}
	return false
}

// stampDir records the source file names in dir.
func stampDir(dir string) (dirStamp, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return dirStamp{}, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && sourceName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return dirStamp{Path: dir, Names: digest([]byte(strings.Join(names, "\n")))}, nil
}

// stale reports the first local source that changed since the binary was
// built, or "" when none did. Files whose stamp moved but whose content
// did not get their stamps refreshed in place; refreshed reports whether
// any did, so the caller can save the entry and skip the reads next time.
func (e *entry) stale(p *Project) (reason string, refreshed bool) {
	for i, s := range e.Files {
		fi, err := os.Stat(s.Path)
		if err != nil {
			return p.rel(s.Path) + " is gone", false
		}
		if s.same(fi) {
			continue
		}
		fresh, err := stampFile(s.Path)
		if err != nil || fresh.Digest != s.Digest {
			return p.rel(s.Path) + " changed", false
		}
		e.Files[i], refreshed = fresh, true
	}
	for _, d := range e.Dirs {
		now, err := stampDir(d.Path)
		if err != nil {
			return p.rel(d.Path) + " is gone", false
		}
		if now.Names != d.Names {
			return "files were added to or removed from " + p.rel(d.Path), false
		}
	}
	return "", refreshed
}

// listedPackage is the part of `go list -json` the launcher reads.
type listedPackage struct {
	Dir, ImportPath                                                     string
	Standard                                                            bool
	GoFiles, CgoFiles, CFiles, CXXFiles, HFiles, SFiles, SysoFiles      []string
	MFiles, FFiles, SwigFiles, SwigCXXFiles, EmbedFiles, IgnoredGoFiles []string
	Module                                                              *struct {
		Path, Version, GoMod string
		Main                 bool
		Replace              *struct{ Path, Version string }
	}
}

// local reports whether a package's sources live outside the module cache:
// in the main module, a workspace module or a directory replacement.
func (lp *listedPackage) local() bool {
	m := lp.Module
	if lp.Standard || m == nil {
		return false
	}
	return m.Main || (m.Replace != nil && m.Replace.Version == "")
}

// localSources stamps the sources of every local package the magefiles
// link, found with go list in the magefiles module.
func (p *Project) localSources(ctx context.Context, env []string) ([]fileStamp, []dirStamp, error) {
	args := []string{"list", "-e", "-deps", "-tags", "mage", "-json=Dir,ImportPath,Standard,GoFiles,CgoFiles,CFiles,CXXFiles,HFiles,SFiles,SysoFiles,MFiles,FFiles,SwigFiles,SwigCXXFiles,EmbedFiles,Module"}
	for _, f := range p.Files {
		args = append(args, filepath.Base(f))
	}
	cmd := exec.CommandContext(ctx, goCommand(envLookup(env)), args...)
	cmd.Dir, cmd.Env = p.Dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("list the magefiles' local packages: %w\n%s", err, strings.TrimSpace(stderr.String()))
	}
	var files []fileStamp
	var dirs []dirStamp
	seen := map[string]bool{}
	add := func(path string) error {
		if seen[path] {
			return nil
		}
		seen[path] = true
		s, err := stampFile(path)
		if err != nil {
			return fmt.Errorf("stamp local source: %w", err)
		}
		files = append(files, s)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var lp listedPackage
		if err := dec.Decode(&lp); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("read go list output: %w", err)
		}
		if !lp.local() {
			continue
		}
		for _, list := range [][]string{lp.GoFiles, lp.CgoFiles, lp.CFiles, lp.CXXFiles, lp.HFiles, lp.SFiles, lp.SysoFiles,
			lp.MFiles, lp.FFiles, lp.SwigFiles, lp.SwigCXXFiles, lp.EmbedFiles} {
			for _, f := range list {
				if err := add(filepath.Join(lp.Dir, f)); err != nil {
					return nil, nil, err
				}
			}
		}
		if lp.Module.GoMod != "" {
			if err := add(lp.Module.GoMod); err != nil {
				return nil, nil, err
			}
		}
		if !seen["dir:"+lp.Dir] {
			seen["dir:"+lp.Dir] = true
			d, err := stampDir(lp.Dir)
			if err != nil {
				return nil, nil, fmt.Errorf("stamp local package: %w", err)
			}
			dirs = append(dirs, d)
		}
	}
	slices.SortFunc(files, func(a, b fileStamp) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(dirs, func(a, b dirStamp) int { return strings.Compare(a.Path, b.Path) })
	return files, dirs, nil
}

// envLookup is os.Getenv over an explicit environment.
func envLookup(env []string) func(string) string {
	return func(k string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(env[i], k+"="); ok {
				return v
			}
		}
		return ""
	}
}

// readEntry loads an entry, or returns nil when there is none usable.
func readEntry(path string) *entry {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var e entry
	if json.Unmarshal(data, &e) != nil || e.Version != entryVersion {
		return nil
	}
	return &e
}

// write saves the entry atomically.
func (e *entry) write(ctx context.Context, path string) error {
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("encode launcher cache entry: %w", err)
	}
	if err := atomicfile.ReplaceBytes(ctx, path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
