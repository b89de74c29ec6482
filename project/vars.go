package project

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/atomicfile"
)

// Vars names the package variables a build stamps with -X, as full symbols:
// "main.version" or "example.com/x/pkg/version.REVISION".
type Vars struct {
	// Version lists the variables that receive the release version.
	Version []string `json:"version,omitempty"`
	// Commit lists the variables that receive the commit hash.
	Commit []string `json:"commit,omitempty"`
	// Date lists the variables that receive the build date (RFC 3339).
	Date []string `json:"date,omitempty"`
}

// Empty reports whether no variable was found or configured.
func (v Vars) Empty() bool { return len(v.Version)+len(v.Commit)+len(v.Date) == 0 }

// Names people give build-stamp variables, lower-cased. A variable is a
// candidate only if it is a package-level string variable, since -X can set
// nothing else.
var (
	versionNames = []string{"version", "appversion", "buildversion"}
	commitNames  = []string{"commit", "gitcommit", "revision", "gitrevision", "commithash", "githash", "gitsha", "sha"}
	dateNames    = []string{"date", "builddate", "buildtime", "buildtimestamp", "commitdate", "committime"}
)

// DiscoverVars finds the stamp variables a main package links: its own
// package-level string variables with conventional names, and those of any
// package of the same module it imports, directly or not.
func (p *Project) DiscoverVars(m Main) (Vars, error) {
	all, err := p.DiscoverAllVars(m)
	if err != nil {
		return Vars{}, err
	}
	return all[m.Name], nil
}

// DiscoverAllVars runs DiscoverVars for every main in ms, by name, reading
// each package once however many of them import it.
func (p *Project) DiscoverAllVars(ms ...Main) (map[string]Vars, error) {
	return p.DiscoverAllVarsCached(nil, ms...)
}

// VarsCache remembers, per package directory, what stamp-variable
// discovery found there (its Go files, imports and string variables),
// keyed on the directory's file names and the digest of every Go file in
// it, so that a run with nothing changed parses nothing. It is saved as
// one JSON file; a missing or damaged file is an empty cache.
type VarsCache struct {
	path string
	sums FileSums
	file varsFile
	// dirty reports whether entries changed since Open.
	dirty bool
}

// FileSums returns a file's hex SHA-256 and size, such as a stat cache.
type FileSums interface {
	Sum(path string) (string, int64, error)
}

type varsFile struct {
	Format   int                   `json:"format"`
	Platform string                `json:"platform"`
	Packages map[string]*varsEntry `json:"packages"`
}

type varsEntry struct {
	Names   string            `json:"names"` // digest of the directory's file names
	Digests map[string]string `json:"digests"`
	NoGo    bool              `json:"no_go,omitempty"`
	GoFiles []string          `json:"go_files,omitempty"`
	Imports []string          `json:"imports,omitempty"`
	Vars    []string          `json:"vars,omitempty"`
}

const varsCacheFormat = 1

// OpenVarsCache loads the cache at path; sums hashes the Go files.
func OpenVarsCache(path string, sums FileSums) *VarsCache {
	c := &VarsCache{path: path, sums: sums}
	// What ImportDir decides depends on the platform, cgo and the Go
	// release (//go:build go1.N lines).
	tags := build.Default.ReleaseTags
	plat := fmt.Sprintf("%s/%s cgo=%v %s", build.Default.GOOS, build.Default.GOARCH, build.Default.CgoEnabled, tags[len(tags)-1])
	if data, err := os.ReadFile(path); err == nil && json.Unmarshal(data, &c.file) == nil &&
		c.file.Format == varsCacheFormat && c.file.Platform == plat && c.file.Packages != nil {
		return c
	}
	c.file = varsFile{Format: varsCacheFormat, Platform: plat, Packages: map[string]*varsEntry{}}
	return c
}

// Save writes the cache back when it changed.
func (c *VarsCache) Save(ctx context.Context) error {
	if c == nil || !c.dirty {
		return nil
	}
	data, err := json.Marshal(c.file)
	if err != nil {
		return fmt.Errorf("encode stamp variable cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return fmt.Errorf("save stamp variable cache: %w", err)
	}
	if err := atomicfile.ReplaceBytes(ctx, c.path, data, 0o644); err != nil {
		return fmt.Errorf("save stamp variable cache: %w", err)
	}
	c.dirty = false
	return nil
}

// fingerprint reads dir's file names and the digests of its Go files.
func (c *VarsCache) fingerprint(dir string) (string, map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, err
	}
	h := sha256.New()
	digests := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		fmt.Fprintf(h, "%s\n", e.Name())
		if strings.HasSuffix(e.Name(), ".go") {
			sum, _, err := c.sums.Sum(filepath.Join(dir, e.Name()))
			if err != nil {
				return "", nil, err
			}
			digests[e.Name()] = sum
		}
	}
	return hex.EncodeToString(h.Sum(nil)), digests, nil
}

// DiscoverAllVarsCached is DiscoverAllVars with a cache (nil: none).
func (p *Project) DiscoverAllVarsCached(cache *VarsCache, ms ...Main) (map[string]Vars, error) {
	mods := map[string]string{p.Module: p.Root}
	seen := map[string]*varsEntry{}
	ctxt := build.Default
	scan := func(dir string) (*varsEntry, error) {
		var names string
		var digests map[string]string
		if cache != nil {
			var err error
			if names, digests, err = cache.fingerprint(dir); err != nil {
				return nil, err
			}
			if e := cache.file.Packages[dir]; e != nil && e.Names == names && maps.Equal(e.Digests, digests) {
				return e, nil
			}
		}
		e := &varsEntry{Names: names, Digests: digests}
		pkg, err := ctxt.ImportDir(dir, 0)
		var noGo *build.NoGoError
		switch {
		case errors.As(err, &noGo):
			e.NoGo = true
		case err != nil:
			return nil, err
		default:
			e.GoFiles, e.Imports = pkg.GoFiles, pkg.Imports
			if e.Vars, err = stringVars(dir, pkg.GoFiles); err != nil {
				return nil, err
			}
		}
		if cache != nil {
			cache.file.Packages[dir] = e
			cache.dirty = true
		}
		return e, nil
	}
	out := make(map[string]Vars, len(ms))
	for _, m := range ms {
		var vars Vars
		queue := []string{m.ImportPath}
		visited := map[string]bool{}
		for len(queue) > 0 {
			ip := queue[0]
			queue = queue[1:]
			if visited[ip] {
				continue
			}
			visited[ip] = true
			dir, ok := dirFor(mods, ip)
			if !ok {
				continue
			}
			e := seen[dir]
			if e == nil {
				var err error
				if e, err = scan(dir); err != nil {
					return nil, fmt.Errorf("scan %s for version variables: read package %s: %w", m.Name, ip, err)
				}
				seen[dir] = e
			}
			if e.NoGo {
				continue
			}
			symPkg := ip
			if ip == m.ImportPath {
				symPkg = "main"
			}
			for _, n := range e.Vars {
				sym := symPkg + "." + n
				switch low := strings.ToLower(n); {
				case slices.Contains(versionNames, low):
					vars.Version = append(vars.Version, sym)
				case slices.Contains(commitNames, low):
					vars.Commit = append(vars.Commit, sym)
				case slices.Contains(dateNames, low):
					vars.Date = append(vars.Date, sym)
				}
			}
			queue = append(queue, e.Imports...)
		}
		out[m.Name] = vars
	}
	return out, nil
}

// nameHints are substrings of every lower-cased name in versionNames,
// commitNames and dateNames: a file that contains none of them declares no
// stamp variable and is not parsed.
var nameHints = [][]byte{[]byte("version"), []byte("commit"), []byte("revision"), []byte("hash"), []byte("sha"), []byte("date"), []byte("buildtime")}

// stringVars returns the package-level string variables declared in the
// files of dir whose names may be stamp variables.
func stringVars(dir string, files []string) ([]string, error) {
	var vars []string
	fset := token.NewFileSet()
	for _, name := range files {
		path := filepath.Join(dir, name)
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("scan %s for version variables: %w", dir, err)
		}
		low := bytes.ToLower(src)
		if !slices.ContainsFunc(nameHints, func(h []byte) bool { return bytes.Contains(low, h) }) {
			continue
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("scan %s for version variables: %w", dir, err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if isStringVar(vs, i) {
						vars = append(vars, id.Name)
					}
				}
			}
		}
	}
	slices.Sort(vars)
	return vars, nil
}

// isStringVar reports whether the i-th name of vs is declared as a string,
// either by type or by a string literal initialiser. -X overrides only
// variables whose initialiser, if any, is a constant string.
func isStringVar(vs *ast.ValueSpec, i int) bool {
	if vs.Type != nil {
		id, ok := vs.Type.(*ast.Ident)
		if !ok || id.Name != "string" {
			return false
		}
		if len(vs.Values) == 0 {
			return true
		}
	}
	if i >= len(vs.Values) {
		return false
	}
	lit, ok := vs.Values[i].(*ast.BasicLit)
	return ok && lit.Kind == token.STRING
}
