package project

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// StaticDirNames are the module-root directories a service usually reads at
// run time relative to its working directory (templates, a built UI,
// assets), in the order StaticDirs looks for them.
var StaticDirNames = []string{"ui", "web", "static", "public"}

// StaticDir is one of StaticDirNames found at the module root.
type StaticDir struct {
	// Name is the directory's name, such as "ui".
	Name string
	// Skip says why the directory should not ship, naming the file that
	// decided it; "" means it holds assets only.
	Skip string
}

// StaticDirs finds the static directories at root. A directory that holds
// Go code is a package, not assets; one with a package.json or
// node_modules holds frontend sources, whose build output is what should
// ship; one with a hidden file may hold a secret such as .env. Those come
// back with Skip set, the frontend case with the setting that ships the
// build output instead.
func StaticDirs(root string) ([]StaticDir, error) {
	var out []StaticDir
	for _, name := range StaticDirNames {
		dir := filepath.Join(root, name)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		kind, found, err := classifyStatic(dir)
		if err != nil {
			return nil, err
		}
		d := StaticDir{Name: name}
		switch kind {
		case "go":
			d.Skip = fmt.Sprintf("it is a Go package (%s)", found)
		case "frontend":
			d.Skip = fmt.Sprintf("it holds frontend sources (%s); set Image.Files to ship the build output", found)
		case "hidden":
			d.Skip = fmt.Sprintf("it holds a hidden file (%s), which could be a secret; set Image.Files to ship it on purpose", found)
		}
		out = append(out, d)
	}
	return out, nil
}

// classifyStatic says whether dir holds Go code ("go"), frontend sources
// ("frontend": a package.json or node_modules at any depth), a hidden file
// ("hidden"), or only assets (""). The second value names the file that
// decided it.
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
