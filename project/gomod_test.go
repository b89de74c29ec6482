package project

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestListsTool(t *testing.T) {
	const pkg = "github.com/hoistdev/hoist/cmd/hoist-registry"
	tests := []struct {
		name, gomod string
		want        bool
	}{
		{name: "one line", gomod: "module m\n\ntool " + pkg + "\n", want: true},
		{name: "block", gomod: "module m\n\ntool (\n\tgithub.com/magefile/mage\n\t" + pkg + " // the registry\n)\n", want: true},
		{name: "quoted", gomod: "module m\ntool \"" + pkg + "\"\n", want: true},
		{name: "other tools", gomod: "module m\ntool (\n\tgithub.com/magefile/mage\n)\nrequire " + pkg + " v1.0.0\n", want: false},
		{name: "commented out", gomod: "module m\n// tool " + pkg + "\n", want: false},
		{name: "no tools", gomod: "module m\n", want: false},
		{name: "not a go.mod", gomod: "tool (\n", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"go.mod": tt.gomod})
			if got := ListsTool(dir, pkg); got != tt.want {
				t.Errorf("ListsTool(%q) = %v, want %v", tt.gomod, got, tt.want)
			}
		})
	}
	if ListsTool(t.TempDir(), pkg) {
		t.Error("ListsTool(no go.mod) = true, want false")
	}
}

func TestLocalModules(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"go.mod": "module example.com/svc\n\ngo 1.26\n\nreplace (\n\texample.com/lib => /abs/lib // local\n\texample.com/other => example.com/fork v1.0.0\n)\nreplace example.com/rel => ./rel\nreplace example.com/up => ../up\n"})
	mods, err := LocalModules(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"example.com/svc": dir, "example.com/lib": "/abs/lib", "example.com/rel": filepath.Join(dir, "rel"), "example.com/up": filepath.Join(filepath.Dir(dir), "up")}
	if len(mods) != len(want) {
		t.Errorf("LocalModules() = %v, want %v", mods, want)
	}
	for k, v := range want {
		if mods[k] != v {
			t.Errorf("LocalModules()[%s] = %q, want %q", k, mods[k], v)
		}
	}
	if _, err := LocalModules(t.TempDir()); err == nil || !strings.Contains(err.Error(), "go mod init") {
		t.Errorf("LocalModules(no go.mod) = %v, want the go mod init hint", err)
	}
	bad := t.TempDir()
	writeTree(t, bad, map[string]string{"go.mod": "go 1.26\n"})
	if _, err := LocalModules(bad); err == nil || !strings.Contains(err.Error(), "no module line") {
		t.Errorf("LocalModules(no module line) = %v", err)
	}
}

func TestStaticDirs(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"ui/index.html":           "<h1>v1</h1>\n",
		"ui/js/app.js":            "console.log(1)\n",
		"web/handler.go":          "package web\n",
		"static/src/package.json": "{}\n",
		"public/.env":             "TOKEN=secret\n",
		"public/robots.txt":       "User-agent: *\n",
	})
	got, err := StaticDirs(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ui":     "",
		"web":    "it is a Go package (web/handler.go)",
		"static": "it holds frontend sources (static/src/package.json); set Image.Files to ship the build output",
		"public": "it holds a hidden file (public/.env), which could be a secret; set Image.Files to ship it on purpose",
	}
	if len(got) != len(want) {
		t.Fatalf("StaticDirs() = %+v, want %d directories", got, len(want))
	}
	for i, d := range got {
		if d.Name != StaticDirNames[i] || d.Skip != want[d.Name] {
			t.Errorf("StaticDirs()[%d] = %+v, want %s with skip %q", i, d, StaticDirNames[i], want[StaticDirNames[i]])
		}
	}
	if got, err := StaticDirs(t.TempDir()); err != nil || len(got) != 0 {
		t.Errorf("StaticDirs(empty module) = %+v, %v", got, err)
	}
}

func TestLicense(t *testing.T) {
	for _, tt := range []struct {
		name, file, text, want string
	}{
		{"apache", "LICENSE", "                                 Apache License\n                           Version 2.0, January 2004\n", "Apache-2.0"},
		{"mit", "LICENSE.md", "MIT License\n\nPermission is hereby granted, free of charge, to any person", "MIT"},
		{"bsd3", "LICENSE", "Redistribution and use in source and binary forms, with or without\nmodification ... Neither the name of", "BSD-3-Clause"},
		{"unknown", "LICENSE", "All rights reserved.", ""},
		{"none", "README.md", "hello", ""},
	} {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{tt.file: tt.text})
		if got := License(dir); got != tt.want {
			t.Errorf("License(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
