// Package vulntest builds, offline, what a vulnerability gate test needs:
// a Go module proxy on disk serving a small library in a vulnerable and a
// fixed version, a vulnerability database in the documented v1 layout
// (index/db.json, index/modules.json, ID/<id>.json) with one entry for it,
// and the environment that makes the go command use both.
package vulntest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// The fixture's names.
const (
	// Module is the library with the vulnerability.
	Module = "example.com/vulnlib"
	// Vulnerable is the affected version, Fixed the first fixed one.
	Vulnerable, Fixed = "v1.0.0", "v1.0.1"
	// ID is the database entry, Alias its CVE.
	ID, Alias = "GO-2099-0001", "CVE-2099-0001"
	// Summary is the entry's summary.
	Summary = "Bad in example.com/vulnlib runs whatever it is given"
)

// vulnlib is the library: Bad is the vulnerable function, Good is not.
const vulnlib = `package vulnlib

// Bad is the vulnerable function.
func Bad() string { return "bad" }

// Good is safe.
func Good() string { return "good" }
`

// Proxy writes a file-based module proxy serving Module at Vulnerable and
// Fixed into dir and returns its GOPROXY URL.
func Proxy(t testing.TB, dir string) string {
	t.Helper()
	for _, v := range []string{Vulnerable, Fixed} {
		src := filepath.Join(t.TempDir(), "src")
		write(t, src, "go.mod", "module "+Module+"\n\ngo 1.21\n")
		write(t, src, "vulnlib.go", vulnlib)
		at := filepath.Join(dir, filepath.FromSlash(Module), "@v")
		write(t, at, v+".mod", "module "+Module+"\n\ngo 1.21\n")
		write(t, at, v+".info", fmt.Sprintf(`{"Version":%q,"Time":"2026-01-01T00:00:00Z"}`, v))
		f, err := os.Create(filepath.Join(at, v+".zip"))
		if err != nil {
			t.Fatal(err)
		}
		if err := modzip.CreateFromDir(f, module.Version{Path: Module, Version: v}, src); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, filepath.FromSlash(Module), "@v"), "list", Vulnerable+"\n"+Fixed+"\n")
	return "file://" + filepath.ToSlash(dir)
}

// DB writes the vulnerability database into dir and returns its file URL.
func DB(t testing.TB, dir string) string {
	t.Helper()
	write(t, filepath.Join(dir, "index"), "db.json", `{"modified":"2026-01-02T00:00:00Z"}`)
	mods, _ := json.Marshal([]any{map[string]any{"path": Module, "vulns": []any{map[string]any{"id": ID, "modified": "2026-01-02T00:00:00Z", "fixed": Fixed[1:]}}}})
	write(t, filepath.Join(dir, "index"), "modules.json", string(mods))
	write(t, filepath.Join(dir, "ID"), ID+".json", osvEntry())
	return "file://" + filepath.ToSlash(dir)
}

// osvEntry is the database's one entry, as OSV JSON.
func osvEntry() string {
	entry := map[string]any{
		"schema_version": "1.3.1", "id": ID, "modified": "2026-01-02T00:00:00Z", "published": "2026-01-02T00:00:00Z",
		"aliases": []string{Alias}, "summary": Summary, "details": "Bad runs whatever it is given.",
		"affected": []any{map[string]any{
			"package":            map[string]any{"name": Module, "ecosystem": "Go"},
			"ranges":             []any{map[string]any{"type": "SEMVER", "events": []any{map[string]any{"introduced": "0"}, map[string]any{"fixed": Fixed[1:]}}}},
			"ecosystem_specific": map[string]any{"imports": []any{map[string]any{"path": Module, "symbols": []string{"Bad"}}}},
		}},
		"database_specific": map[string]any{"url": "https://pkg.go.dev/vuln/" + ID},
	}
	data, _ := json.MarshalIndent(entry, "", "  ")
	return string(data)
}

// DBModuleVersion is the version DBModule publishes.
const DBModuleVersion = "v0.0.0-20261101000000-0123456789ab"

// DBModule adds golang.org/x/vulndb to the proxy in dir, holding the
// database's one entry in data/osv the way the real module does, and an
// entry about the standard library.
func DBModule(t testing.TB, dir string) {
	t.Helper()
	const path = "golang.org/x/vulndb"
	src := filepath.Join(t.TempDir(), "src")
	write(t, src, "go.mod", "module "+path+"\n\ngo 1.21\n")
	write(t, filepath.Join(src, "data", "osv"), ID+".json", osvEntry())
	write(t, filepath.Join(src, "data", "osv"), "GO-2099-0002.json", `{"id":"GO-2099-0002","affected":[{"package":{"name":"stdlib","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}`)
	at := filepath.Join(dir, filepath.FromSlash(path), "@v")
	write(t, at, DBModuleVersion+".mod", "module "+path+"\n\ngo 1.21\n")
	write(t, at, DBModuleVersion+".info", fmt.Sprintf(`{"Version":%q,"Time":"2026-11-01T00:00:00Z"}`, DBModuleVersion))
	write(t, at, "list", "")
	// A module with pseudo-versions only is found through @latest.
	write(t, filepath.Dir(at), "@latest", fmt.Sprintf(`{"Version":%q,"Time":"2026-11-01T00:00:00Z"}`, DBModuleVersion))
	f, err := os.Create(filepath.Join(at, DBModuleVersion+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := modzip.CreateFromDir(f, module.Version{Path: path, Version: DBModuleVersion}, src); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// Env makes the go command resolve modules from proxy only, with no
// checksum database and a private module cache.
func Env(t testing.TB, proxy string) []string {
	t.Helper()
	return []string{"GOPROXY=" + proxy, "GOSUMDB=off", "GONOSUMCHECK=1", "GOFLAGS=-mod=mod -modcacherw", "GOMODCACHE=" + t.TempDir(), "GOWORK=off", "GOTOOLCHAIN=local"}
}

// MainCalling is a main package that calls vulnlib's function fn.
func MainCalling(fn string) string {
	return "package main\n\nimport (\n\t\"fmt\"\n\n\t\"" + Module + "\"\n)\n\nvar version string\n\nfunc main() { fmt.Println(version, vulnlib." + fn + "()) }\n"
}

func write(t testing.TB, dir, name, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
