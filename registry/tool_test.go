package registry

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartToolRecord: with a record directory the default command's
// first start asks the go command for the binary and records its path; a
// later start runs the recorded binary, and a module whose tool directive
// is missing still gets go tool's error and the fix.
func TestStartToolRecord(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	records := t.TempDir()
	for range 2 {
		p, err := Start(t.Context(), WithDir(".."), WithDataDir(t.TempDir()), WithToolRecord(records))
		if err != nil {
			t.Fatalf("Start(WithToolRecord) = %v, want nil", err)
		}
		if err := Ping(t.Context(), p.Host()); err != nil {
			t.Errorf("Ping(%s) = %v", p.Host(), err)
		}
		// The recorded binary is the child itself, not go tool.
		if got := filepath.Base(p.cmd.Path); got != "hoist-registry" {
			t.Errorf("the registry ran as %s, want the hoist-registry binary", p.cmd.Path)
		}
		if err := p.Stop(t.Context()); err != nil {
			t.Errorf("Stop() = %v", err)
		}
	}
	entries, err := os.ReadDir(records)
	if err != nil || len(entries) != 1 {
		t.Fatalf("records = %v, %v; want one", entries, err)
	}
	b, _ := os.ReadFile(filepath.Join(records, entries[0].Name()))
	if !strings.HasSuffix(strings.TrimSpace(string(b)), "hoist-registry") {
		t.Errorf("record holds %q, want the binary's path", b)
	}

	// A record is trusted while its key holds: pointed at another program,
	// that program is what toolBinary returns, without the go command.
	stand := filepath.Join(t.TempDir(), "stand-in")
	if err := os.WriteFile(stand, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(records, entries[0].Name()), []byte(stand+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := toolBinary(t.Context(), "..", records, nil); err != nil || got != stand {
		t.Errorf("toolBinary(recorded) = %q, %v; want %q", got, err, stand)
	}
	// A recorded binary that is gone is asked for again.
	os.Remove(stand)
	if got, err := toolBinary(t.Context(), "..", records, nil); err != nil || filepath.Base(got) != "hoist-registry" {
		t.Errorf("toolBinary(recorded binary gone) = %q, %v; want the go command's answer", got, err)
	}

	// Without the tool directive: the lookup fails, go tool runs and says so.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/notool\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Start(t.Context(), WithDir(dir), WithDataDir(t.TempDir()), WithToolRecord(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "go get -tool "+ToolPackage) {
		t.Errorf("Start(module without the tool, WithToolRecord) = %v, want go tool's failure and the fix", err)
	}
}

// TestToolKey: the key follows the go environment, go.mod, go.sum and the
// files of local replacements, and ignores what no build reads.
func TestToolKey(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":         "module example.com/m\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ./lib\n",
		"go.sum":         "",
		"lib/go.mod":     "module example.com/lib\n\ngo 1.26\n",
		"lib/lib.go":     "package lib\n",
		"lib/static/a":   "a",
		"lib/testdata/x": "x",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := func(env ...string) string {
		t.Helper()
		k, err := toolKey(t.Context(), dir, append(os.Environ(), env...))
		if err != nil {
			t.Fatalf("toolKey() = %v", err)
		}
		return k
	}
	base := key()
	if key() != base {
		t.Fatal("toolKey() differs between two calls")
	}
	later := time.Now().Add(time.Hour)
	touch := func(name string) {
		if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(name)), later, later); err != nil {
			t.Fatal(err)
		}
		later = later.Add(time.Minute)
	}
	touch("lib/testdata/x")
	if key() != base {
		t.Error("a change under testdata changed the key")
	}
	if key("GOFLAGS=-tags=other") == base {
		t.Error("GOFLAGS did not change the key")
	}
	touch("lib/lib.go")
	edited := key()
	if edited == base {
		t.Error("an edited file of the replaced module did not change the key")
	}
	touch("lib/static/a")
	if key() == edited {
		t.Error("a changed file beside the sources (embeddable) did not change the key")
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), []byte("example.com/x v1.0.0 h1:abc=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if k := key(); k == edited {
		t.Error("go.sum did not change the key")
	}
	if _, err := toolKey(t.Context(), dir, append(os.Environ(), "GOWORK="+filepath.Join(dir, "go.work"))); err == nil {
		t.Error("toolKey(with a workspace) = nil error, want one")
	}
}
