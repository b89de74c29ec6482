package vuln

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/vulntest"
)

// app writes a module that requires vulnlib at version and whose main
// calls fn, resolves its go.sum from the proxy, and returns its directory.
func app(t *testing.T, env []string, version, fn string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":          "module example.com/app\n\ngo 1.26\n\nrequire " + vulntest.Module + " " + version + "\n",
		"cmd/app/main.go": vulntest.MainCalling(fn),
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), "go", "mod", "tidy")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	return dir
}

// TestScanLevels runs the real govulncheck over three builds of one app
// against a database with one entry: the vulnerable function called, only
// its package imported, and the fixed version. Only the first fails the
// gate, and every finding names its ID, module, versions, path and fix.
func TestScanLevels(t *testing.T) {
	if testing.Short() {
		t.Skip("runs govulncheck")
	}
	env := vulntest.Env(t, vulntest.Proxy(t, t.TempDir()))
	db := vulntest.DB(t, t.TempDir())
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, version, fn string
		level             Level
		found             bool
		gate              bool // the gate passes
	}{
		{"called", vulntest.Vulnerable, "Bad", Called, true, false},
		{"imported only", vulntest.Vulnerable, "Good", Imported, true, true},
		{"fixed version", vulntest.Fixed, "Bad", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := app(t, env, tt.version, tt.fn)
			rep, err := Scan(t.Context(), WithDB(db), WithDir(dir), WithPackages("./cmd/app"), WithEnv(env...), WithPlatforms("linux/amd64", "darwin/arm64"))
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			var f *Finding
			for i := range rep.Findings {
				if rep.Findings[i].ID == vulntest.ID {
					f = &rep.Findings[i]
				}
			}
			if (f != nil) != tt.found {
				t.Fatalf("findings = %+v, want %s found: %v", rep.Findings, vulntest.ID, tt.found)
			}
			var out bytes.Buffer
			gerr := rep.Gate(&out, nil, now)
			if (gerr == nil) != tt.gate {
				t.Errorf("Gate = %v, want pass %v\n%s", gerr, tt.gate, out.String())
			}
			if f == nil {
				return
			}
			if f.Level != tt.level || f.Module != vulntest.Module || f.Found != vulntest.Vulnerable || f.Fixed != vulntest.Fixed || f.Summary != vulntest.Summary {
				t.Errorf("finding = %+v, want level %s, %s found %s fixed %s", *f, tt.level, vulntest.Module, vulntest.Vulnerable, vulntest.Fixed)
			}
			if len(f.Platforms) != 2 {
				t.Errorf("platforms = %v, want both scanned", f.Platforms)
			}
			text := out.String()
			for _, want := range []string{vulntest.ID, vulntest.Alias, "module " + vulntest.Module + ", found v1.0.0, fixed v1.0.1", "fix: go get " + vulntest.Module + "@v1.0.1"} {
				if !strings.Contains(text, want) {
					t.Errorf("gate output lacks %q:\n%s", want, text)
				}
			}
			if tt.level == Called {
				if !strings.Contains(text, "call path: example.com/app/cmd/app.main (main.go:") || !strings.Contains(text, "-> "+vulntest.Module+".Bad (vulnlib.go:") {
					t.Errorf("gate output lacks the call path from the app's main to vulnlib.Bad:\n%s", text)
				}
				if !errors.Is(gerr, ErrVulnerable) || !strings.Contains(gerr.Error(), "Vuln.Allow") {
					t.Errorf("Gate error = %v, want ErrVulnerable naming Vuln.Allow", gerr)
				}
			} else if !strings.Contains(text, "notice (imported, not reachable)") {
				t.Errorf("an imported-only finding is not a notice:\n%s", text)
			}
		})
	}
}

func TestAllowList(t *testing.T) {
	now := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	rep := &Report{DB: "file:///db", Findings: []Finding{{ID: vulntest.ID, Aliases: []string{vulntest.Alias}, Module: vulntest.Module, Found: "v1.0.0", Fixed: "v1.0.1", Level: Called,
		Path: []Frame{{Package: "main", Function: "main"}, {Package: vulntest.Module, Function: "Bad"}}}}}
	tests := []struct {
		name  string
		allow []Allow
		want  string // "" passes
	}{
		{"no entry", nil, "1 reachable vulnerability"},
		{"accepted by ID", []Allow{{ID: vulntest.ID, Reason: "input is trusted", Until: now.AddDate(0, 1, 0)}}, ""},
		{"accepted by alias", []Allow{{ID: vulntest.Alias, Reason: "input is trusted", Until: now}}, ""},
		{"expired", []Allow{{ID: vulntest.ID, Reason: "input is trusted", Until: now.AddDate(0, 0, -1)}}, "expired on 2026-12-05"},
		{"no reason", []Allow{{ID: vulntest.ID, Until: now.AddDate(0, 1, 0)}}, "gives no Reason"},
		{"no end", []Allow{{ID: vulntest.ID, Reason: "x"}}, "has no Until"},
		{"expired entry for something else", []Allow{{ID: vulntest.ID, Reason: "x", Until: now.AddDate(1, 0, 0)}, {ID: "GO-2000-0001", Reason: "y", Until: now.AddDate(0, 0, -3)}}, "Allow GO-2000-0001 expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := rep.Gate(&out, tt.allow, now)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Gate = %v, want pass\n%s", err, out.String())
				}
				if !strings.Contains(out.String(), "accepted until") {
					t.Errorf("an accepted finding is not shown as accepted:\n%s", out.String())
				}
				return
			}
			if !errors.Is(err, ErrVulnerable) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Gate = %v, want ErrVulnerable saying %q", err, tt.want)
			}
		})
	}
}

func TestDBUnreachable(t *testing.T) {
	for name, db := range map[string]string{
		"closed port":    "http://127.0.0.1:1",
		"not a database": "file://" + t.TempDir(),
		"no scheme":      "vuln.example.com",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Scan(t.Context(), WithDB(db), WithDir(t.TempDir()))
			if !errors.Is(err, ErrDBUnreachable) {
				t.Errorf("Scan(db %s) = %v, want ErrDBUnreachable", db, err)
			}
		})
	}
}

func TestFixText(t *testing.T) {
	for _, tt := range []struct {
		f    Finding
		want string
	}{
		{Finding{Module: "example.com/x", Fixed: "v1.2.3"}, "go get example.com/x@v1.2.3"},
		{Finding{Module: "stdlib", Fixed: "v1.26.9"}, "build with Go 1.26.9 or later"},
		{Finding{Module: "example.com/x"}, "no fixed version is known yet"},
	} {
		if got := tt.f.Fix(); !strings.Contains(got, tt.want) {
			t.Errorf("Fix(%+v) = %q, want it to say %q", tt.f, got, tt.want)
		}
	}
	if got := (Frame{Package: "p", Function: "M", Receiver: "*T"}).String(); got != "p.T.M" {
		t.Errorf("Frame.String() = %q, want p.T.M", got)
	}
}

// TestModuleDB builds the database from golang.org/x/vulndb served by a
// module proxy (here one on disk) and scans with it: the same finding as
// with the database itself.
func TestModuleDB(t *testing.T) {
	if testing.Short() {
		t.Skip("runs govulncheck")
	}
	proxyDir := t.TempDir()
	env := vulntest.Env(t, vulntest.Proxy(t, proxyDir))
	vulntest.DBModule(t, proxyDir)
	cache := t.TempDir()
	db, version, err := ModuleDB(t.Context(), cache, "", env)
	if err != nil {
		t.Fatalf("ModuleDB: %v", err)
	}
	if version != vulntest.DBModuleVersion || !strings.HasPrefix(db, "file://"+filepath.ToSlash(cache)) {
		t.Errorf("ModuleDB = %s, %s; want version %s under %s", db, version, vulntest.DBModuleVersion, cache)
	}
	dir := app(t, env, vulntest.Vulnerable, "Bad")
	rep, err := Scan(t.Context(), WithDB(db), WithDir(dir), WithPackages("./cmd/app"), WithEnv(env...))
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].ID != vulntest.ID || rep.Findings[0].Level != Called {
		t.Errorf("findings with the module's database = %+v, want %s called", rep.Findings, vulntest.ID)
	}
	if !rep.DBModified.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("database modified %v, want the pseudo-version's time", rep.DBModified)
	}
	// Built once per version.
	mods := filepath.Join(cache, version, "index", "modules.json")
	before, _ := os.Stat(mods)
	if _, _, err := ModuleDB(t.Context(), cache, version, env); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(mods); !after.ModTime().Equal(before.ModTime()) {
		t.Error("ModuleDB rebuilt an index it already had")
	}
	if _, _, err := ModuleDB(t.Context(), cache, "v9.9.9", env); !errors.Is(err, ErrDBUnreachable) {
		t.Errorf("ModuleDB(unknown version) = %v, want ErrDBUnreachable", err)
	}
}
