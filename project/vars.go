package project

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	mods := map[string]string{p.Module: p.Root}
	type pkgVars struct {
		pkg   *build.Package
		names []string
	}
	seen := map[string]*pkgVars{}
	ctxt := build.Default
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
			pv := seen[dir]
			if pv == nil {
				pv = &pkgVars{}
				pkg, err := ctxt.ImportDir(dir, 0)
				var noGo *build.NoGoError
				switch {
				case errors.As(err, &noGo):
				case err != nil:
					return nil, fmt.Errorf("scan %s for version variables: read package %s: %w", m.Name, ip, err)
				default:
					pv.pkg = pkg
					if pv.names, err = stringVars(dir, pkg.GoFiles); err != nil {
						return nil, fmt.Errorf("scan %s for version variables: %w", m.Name, err)
					}
				}
				seen[dir] = pv
			}
			if pv.pkg == nil {
				continue
			}
			symPkg := ip
			if ip == m.ImportPath {
				symPkg = "main"
			}
			for _, n := range pv.names {
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
			queue = append(queue, pv.pkg.Imports...)
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
