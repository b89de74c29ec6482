package gobuild

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTidy(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"go.mod": "module example.com/t\n\ngo 1.26\n", "a.go": "package t\n"})
	var out bytes.Buffer
	if err := Tidy(t.Context(), dir, true, &out); err != nil {
		t.Fatalf("Tidy(check, tidy module) = %v\n%s", err, out.String())
	}

	// An unused requirement makes the module untidy; check mode must say so
	// with the diff and leave go.mod alone.
	untidy := "module example.com/t\n\ngo 1.26\n\nrequire github.com/google/go-cmp v0.7.0\n"
	writeFiles(t, dir, map[string]string{"go.mod": untidy})
	err := Tidy(t.Context(), dir, true, &out)
	if err == nil || !strings.Contains(err.Error(), "not tidy") || !strings.Contains(err.Error(), "-require github.com/google/go-cmp") {
		t.Fatalf("Tidy(check, untidy) = %v, want a not-tidy error with the diff", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "go.mod")); string(got) != untidy {
		t.Errorf("Tidy(check) wrote go.mod:\n%s", got)
	}
	if err := Tidy(t.Context(), dir, false, &out); err != nil {
		t.Fatalf("Tidy(write) = %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "go.mod")); strings.Contains(string(got), "go-cmp") {
		t.Errorf("Tidy(write) left the unused requirement:\n%s", got)
	}
	if err := Tidy(t.Context(), t.TempDir(), true, &out); err == nil {
		t.Error("Tidy(no go.mod) = nil, want an error")
	}
}

func TestVet(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"go.mod": "module example.com/v\n\ngo 1.26\n", "a.go": "package v\n\nimport \"fmt\"\n\nfunc F() { fmt.Printf(\"%d\", \"s\") }\n"})
	var out bytes.Buffer
	if err := Vet(t.Context(), dir, &out); err == nil || !strings.Contains(out.String(), "%d") {
		t.Errorf("Vet(bad printf) = %v, output %q; want a failure naming the verb", err, out.String())
	}
	writeFiles(t, dir, map[string]string{"a.go": "package v\n"})
	if err := Vet(t.Context(), dir, &out); err != nil {
		t.Errorf("Vet(clean) = %v", err)
	}
}

func TestTestGate(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"go.mod":    "module example.com/c\n\ngo 1.26\n",
		"c.go":      "package c\n\nfunc A() int { return 1 }\n\nfunc B(x int) int {\n\tif x > 0 {\n\t\treturn x\n\t}\n\treturn -x\n}\n",
		"c_test.go": "package c\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {\n\tif A() != 1 {\n\t\tt.Fatal(\"A\")\n\t}\n}\n",
		"sub/s.go":  "package sub\n\nfunc S() {}\n",
	})
	profile := filepath.Join(dir, "dist", "coverage.out")
	var out bytes.Buffer
	total, err := Test(t.Context(), dir, &out, TestOptions{Profile: profile, CoverageMin: 10, NoRace: true})
	if err != nil {
		t.Fatalf("Test(gate 10) = %v\n%s", err, out.String())
	}
	// c.go has 4 statements (A: 1, B: 3), sub has none: only A's is covered.
	if total.Statements != 4 || total.Covered != 1 {
		t.Errorf("Test() total = %+v, want 1 of 4 statements", total)
	}
	for _, want := range []string{"ok  \texample.com/c", "coverage by package:", "25.0%  total"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Test() output lacks %q:\n%s", want, out.String())
		}
	}
	// Packages in a chosen order, one matched twice: tested once, the
	// same coverage.
	out.Reset()
	again, err := Test(t.Context(), dir, &out, TestOptions{Profile: profile, Packages: []string{"./sub", "./..."}, NoRace: true})
	if err != nil || again != total || !strings.Contains(out.String(), "go test ./sub ./...: 2 packages") {
		t.Errorf("Test(./sub ./...) = %+v, %v; want %+v from 2 packages:\n%s", again, err, total, out.String())
	}
	_, err = Test(t.Context(), dir, &out, TestOptions{Profile: profile, CoverageMin: 80, NoRace: true})
	if err == nil || !strings.Contains(err.Error(), "below the 80.0% gate") {
		t.Errorf("Test(gate 80) = %v, want a gate failure", err)
	}
	// COVERAGE_MIN=0 means a gate of 0%, not the default.
	if _, err := Test(t.Context(), dir, &out, TestOptions{Profile: profile, CoverageMin: 0, NoRace: true}); err != nil {
		t.Errorf("Test(gate 0) = %v, want a pass", err)
	}
	if _, err := Test(t.Context(), dir, &out, TestOptions{Profile: profile, CoverageMin: -1, NoRace: true}); err != nil {
		t.Errorf("Test(gate off) = %v", err)
	}
	// Timeout reaches go test: a test that sleeps past it fails as timed out.
	writeFiles(t, dir, map[string]string{"slow_test.go": "package c\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\nfunc TestSlow(t *testing.T) { time.Sleep(time.Minute) }\n"})
	out.Reset()
	if _, err := Test(t.Context(), dir, &out, TestOptions{Profile: profile, NoRace: true, Timeout: 2 * time.Second}); err == nil || !strings.Contains(out.String(), "test timed out after 2s") {
		t.Errorf("Test(Timeout 2s, a test sleeping a minute) = %v, want go test's timeout:\n%s", err, out.String())
	}
	if err := os.Remove(filepath.Join(dir, "slow_test.go")); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"c_test.go": "package c\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) { t.Fatal(\"boom\") }\n"})
	if _, err := Test(t.Context(), dir, &out, TestOptions{Profile: profile, NoRace: true}); err == nil || !strings.Contains(err.Error(), "go test failed") {
		t.Errorf("Test(failing test) = %v, want go test failed", err)
	}
	if _, err := Test(t.Context(), dir, &out, TestOptions{}); err == nil {
		t.Error("Test(no profile) = nil, want an error")
	}
}

func TestParseProfile(t *testing.T) {
	profile := `mode: atomic
example.com/a/x.go:1.1,2.2 3 0
example.com/a/x.go:3.1,4.2 2 5
example.com/a/x.go:1.1,2.2 3 1
example.com/b/y.go:1.1,2.2 4 0
`
	got, err := ParseProfile(strings.NewReader(profile))
	if err != nil {
		t.Fatal(err)
	}
	want := []Coverage{{Package: "example.com/a", Statements: 5, Covered: 5}, {Package: "example.com/b", Statements: 4, Covered: 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseProfile mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"mode: set\nx.go:1.1,2.2 3\n", "mode: set\nx.go:1.1,2.2 a 1\n", "mode: set\nnocolon 1 1\n"} {
		if _, err := ParseProfile(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseProfile(%q) = nil error, want one", bad)
		}
	}
	if (Coverage{}).Percent() != 100 {
		t.Error("empty package should count as covered")
	}
}

// TestTestGateRace runs the gate as adopters get it, with the race
// detector: a data race fails it, and the failure names both ways to turn
// the detector off.
func TestTestGateRace(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the standard library with the race detector")
	}
	if out, err := exec.Command("go", "env", "CGO_ENABLED").Output(); err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Skip("the race detector needs cgo")
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"go.mod":    "module example.com/r\n\ngo 1.26\n",
		"r.go":      "package r\n\n// Count adds one n times from n goroutines, without a lock.\nfunc Count(n int) int {\n\tx := 0\n\tdone := make(chan bool)\n\tfor range n {\n\t\tgo func() { x++; done <- true }()\n\t}\n\tfor range n {\n\t\t<-done\n\t}\n\treturn x\n}\n",
		"r_test.go": "package r\n\nimport \"testing\"\n\nfunc TestCount(t *testing.T) { Count(8) }\n",
	})
	var out bytes.Buffer
	_, err := Test(t.Context(), dir, &out, TestOptions{Profile: filepath.Join(dir, "dist", "coverage.out")})
	if err == nil || !strings.Contains(err.Error(), "data race") || !strings.Contains(err.Error(), "NoRace") || !strings.Contains(err.Error(), "RACE=0") {
		t.Errorf("Test(a data race, race detector on) = %v, want the data race and how to turn the detector off\n%s", err, out.String())
	}
}
