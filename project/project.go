package project

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/build"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Project is what discovery found in one module.
type Project struct {
	// Root is the absolute directory holding go.mod.
	Root string
	// Module is the module path declared in go.mod.
	Module string
	// Name is the module's last path element without a /vN suffix; it names
	// the image and the archives.
	Name string
	// Mains are the main packages to build, in a stable order.
	Mains []Main
}

// Main is one main package and the binary built from it.
type Main struct {
	// Name is the binary name: the directory name, or the project name for
	// a main package in the module root.
	Name string `json:"name"`
	// Dir is the package directory relative to the root, slash-separated,
	// "." for the root itself.
	Dir string `json:"dir"`
	// ImportPath is the package's import path.
	ImportPath string `json:"import_path"`
}

// Pkg returns the package pattern `go build` takes for this main, e.g. ./cmd/web.
func (m Main) Pkg() string {
	if m.Dir == "." {
		return "."
	}
	return "./" + m.Dir
}

var majorSuffix = regexp.MustCompile(`^v[0-9]+$`)

// NameFromModule derives a project name from a module path, skipping a
// major-version suffix: example.com/acme/api/v2 is "api".
func NameFromModule(module string) string {
	parts := strings.Split(module, "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if !majorSuffix.MatchString(parts[i]) || i == 0 {
			return parts[i]
		}
	}
	return module
}

// Discover finds the module and its main packages under root. When dirs is
// empty it looks at the module root and every directory directly under cmd/;
// otherwise it checks that each named directory holds a main package.
func Discover(root string, dirs ...string) (*Project, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolve project root: %w", err)
	}
	module, err := ModulePath(abs)
	if err != nil {
		return nil, err
	}
	p := &Project{Root: abs, Module: module, Name: NameFromModule(module)}
	if len(dirs) > 0 {
		for _, d := range dirs {
			m, err := p.mainAt(d)
			if err != nil {
				return nil, err
			}
			p.Mains = append(p.Mains, m)
		}
	} else {
		if p.Mains, err = p.findMains(); err != nil {
			return nil, err
		}
	}
	if err := checkNames(p.Mains); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Project) findMains() ([]Main, error) {
	candidates := []string{"."}
	entries, err := os.ReadDir(filepath.Join(p.Root, "cmd"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("look for main packages in cmd/: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(e.Name(), "_") {
			candidates = append(candidates, "cmd/"+e.Name())
		}
	}
	var mains []Main
	for _, c := range candidates {
		name, err := packageName(filepath.Join(p.Root, filepath.FromSlash(c)))
		if err != nil {
			return nil, err
		}
		if name == "main" {
			mains = append(mains, p.newMain(c))
		}
	}
	if len(mains) == 0 {
		return nil, fmt.Errorf("no main package in %s or %s: put one in cmd/<name>/ or the module root, or configure the main packages to build", p.Root, filepath.Join(p.Root, "cmd", "*"))
	}
	return mains, nil
}

func (p *Project) mainAt(dir string) (Main, error) {
	rel := path.Clean(filepath.ToSlash(strings.TrimPrefix(dir, "./")))
	if rel == "" || strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
		return Main{}, fmt.Errorf("main package %q: give a directory inside the module, such as ./cmd/web", dir)
	}
	name, err := packageName(filepath.Join(p.Root, filepath.FromSlash(rel)))
	if err != nil {
		return Main{}, err
	}
	switch name {
	case "main":
		return p.newMain(rel), nil
	case "":
		return Main{}, fmt.Errorf("main package %q: no Go files there; point the config at a directory with package main", dir)
	default:
		return Main{}, fmt.Errorf("main package %q is package %s, not main: point the config at a directory with package main", dir, name)
	}
}

func (p *Project) newMain(rel string) Main {
	m := Main{Dir: rel, ImportPath: p.Module}
	if rel == "." {
		m.Name = p.Name
	} else {
		m.Name = path.Base(rel)
		m.ImportPath = p.Module + "/" + rel
	}
	return m
}

func checkNames(mains []Main) error {
	seen := map[string]string{}
	for _, m := range mains {
		if other, ok := seen[m.Name]; ok {
			return fmt.Errorf("main packages %s and %s would both build a binary called %q: rename one directory or configure distinct names", other, m.Dir, m.Name)
		}
		seen[m.Name] = m.Dir
	}
	return nil
}

// packageName returns the Go package name in dir, or "" when dir holds no
// buildable Go files.
func packageName(dir string) (string, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", nil
	}
	pkg, err := build.Default.ImportDir(dir, 0)
	if err != nil {
		var noGo *build.NoGoError
		if errors.As(err, &noGo) || errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		if pkg != nil && pkg.Name != "" {
			return pkg.Name, nil
		}
		return "", fmt.Errorf("read package in %s: %w", dir, err)
	}
	return pkg.Name, nil
}

// Revision identifies the commit a build comes from.
type Revision struct {
	// Commit is the full commit hash.
	Commit string
	// Short is the abbreviated hash git prints.
	Short string
	// Time is the committer time, the build date hoist stamps.
	Time time.Time
}

// ErrNoCommit reports that root is not a git work tree with at least one commit.
var ErrNoCommit = errors.New("no git commit")

// GitRevision returns HEAD's commit and committer time in root.
func GitRevision(ctx context.Context, root string) (Revision, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", "-C", root, "log", "-1", "--format=%H %h %ct")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "not a git repository") || strings.Contains(msg, "does not have any commits") || strings.Contains(msg, "bad default revision") {
			return Revision{}, fmt.Errorf("%w in %s: %s", ErrNoCommit, root, msg)
		}
		return Revision{}, fmt.Errorf("read HEAD commit with git: %w: %s", err, msg)
	}
	f := strings.Fields(string(out))
	if len(f) != 3 {
		return Revision{}, fmt.Errorf("read HEAD commit with git: unexpected output %q", out)
	}
	sec, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return Revision{}, fmt.Errorf("read HEAD commit time %q: %w", f[2], err)
	}
	return Revision{Commit: f[0], Short: f[1], Time: time.Unix(sec, 0).UTC()}, nil
}

// ParseSourceDateEpoch reads a SOURCE_DATE_EPOCH value (seconds since 1970).
func ParseSourceDateEpoch(s string) (time.Time, error) {
	sec, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a count of seconds since 1970: set it to e.g. $(git log -1 --format=%%ct)", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}
