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
	mods := map[string]string{p.Module: p.Root}
	err := Packages(&build.Default, mods, m.ImportPath, func(ip, dir string, pkg *build.Package) error {
		names, err := stringVars(dir, pkg.GoFiles)
		if err != nil {
			return err
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
		return nil
	})
	if err != nil {
		return Vars{}, fmt.Errorf("scan %s for version variables: %w", m.Name, err)
	}
	return vars, nil
}

// stringVars returns the package-level string variables declared in the
// files of dir.
func stringVars(dir string, files []string) ([]string, error) {
	var vars []string
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
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
