package project

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
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
	var vars Vars
	seen := map[string]bool{}
	queue := []string{m.ImportPath}
	for len(queue) > 0 {
		ip := queue[0]
		queue = queue[1:]
		if seen[ip] {
			continue
		}
		seen[ip] = true
		dir := p.Root
		if rest, ok := strings.CutPrefix(ip, p.Module+"/"); ok {
			dir = filepath.Join(p.Root, filepath.FromSlash(rest))
		} else if ip != p.Module {
			continue
		}
		names, imports, err := scanPackage(dir)
		if err != nil {
			return Vars{}, err
		}
		symPkg := ip
		if ip == m.ImportPath {
			symPkg = "main"
		}
		for _, n := range names {
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
		for _, imp := range imports {
			if imp == p.Module || strings.HasPrefix(imp, p.Module+"/") {
				queue = append(queue, imp)
			}
		}
	}
	return vars, nil
}

// scanPackage returns the package-level string variables declared in dir's
// non-test files, and the packages those files import.
func scanPackage(dir string) (vars, imports []string, err error) {
	pkg, err := build.Default.ImportDir(dir, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("scan %s for version variables: %w", dir, err)
	}
	fset := token.NewFileSet()
	for _, name := range pkg.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, nil, fmt.Errorf("scan %s for version variables: %w", dir, err)
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
	return vars, pkg.Imports, nil
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
