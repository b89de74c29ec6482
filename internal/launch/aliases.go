package launch

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// Aliases reads the Aliases map the magefiles declare and returns each
// alias with the target it names, lower-cased as mage matches them
// ("test" → "go:test"). mage runs an alias but its -h knows only target
// names; the launcher and hoist's mage use this to look up help for an
// alias. Imports marked //mage:import NAME put NAME: in front of their
// targets, as mage does.
func Aliases(files []string) (map[string]string, error) {
	fset := token.NewFileSet()
	out := map[string]string{}
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("read aliases: %w", err)
		}
		imports := importNamespaces(file)
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if name.Name != "Aliases" || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.CompositeLit)
					if !ok {
						continue
					}
					for _, el := range lit.Elts {
						kv, ok := el.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						k, ok := kv.Key.(*ast.BasicLit)
						if !ok || k.Kind != token.STRING {
							continue
						}
						alias, err := strconv.Unquote(k.Value)
						if err != nil {
							continue
						}
						if target := targetName(kv.Value, imports); target != "" {
							out[strings.ToLower(alias)] = target
						}
					}
				}
			}
		}
	}
	return out, nil
}

// importNamespaces maps each import's name in the file to the namespace
// mage gives its targets: "" for a plain //mage:import, "name" for
// //mage:import name. Imports without the comment are left out.
func importNamespaces(file *ast.File) map[string]string {
	out := map[string]string{}
	for _, imp := range file.Imports {
		ns, ok := mageImport(imp)
		if !ok {
			continue
		}
		path, _ := strconv.Unquote(imp.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		out[name] = ns
	}
	return out
}

func mageImport(imp *ast.ImportSpec) (string, bool) {
	for _, g := range []*ast.CommentGroup{imp.Doc, imp.Comment} {
		if g == nil {
			continue
		}
		for _, c := range g.List {
			text := strings.TrimSpace(strings.TrimPrefix(c.Text, "//"))
			if rest, ok := strings.CutPrefix(text, "mage:import"); ok {
				return strings.ToLower(strings.TrimSpace(rest)), true
			}
		}
	}
	return "", false
}

// targetName turns an alias value into mage's target name: Build,
// Ns.Method, pkg.Func or pkg.Ns.Method.
func targetName(e ast.Expr, imports map[string]string) string {
	var parts []string
	for {
		switch x := e.(type) {
		case *ast.Ident:
			parts = append([]string{x.Name}, parts...)
			if ns, ok := imports[x.Name]; ok && len(parts) > 1 {
				parts = parts[1:]
				if ns != "" {
					parts = append([]string{ns}, parts...)
				}
			}
			return strings.ToLower(strings.Join(parts, ":"))
		case *ast.SelectorExpr:
			parts = append([]string{x.Sel.Name}, parts...)
			e = x.X
		default:
			return ""
		}
	}
}
