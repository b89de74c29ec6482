package project

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeTree creates files under dir from a path → content map.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNameFromModule(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "plain", in: "github.com/acme/web", want: "web"},
		{name: "major suffix", in: "example.com/acme/api/v2", want: "api"},
		{name: "single", in: "hello", want: "hello"},
		{name: "only version", in: "v2", want: "v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NameFromModule(tt.in); got != tt.want {
				t.Errorf("NameFromModule(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestModulePath(t *testing.T) {
	tests := []struct {
		name, gomod, want, wantErr string
	}{
		{name: "plain", gomod: "module example.com/a\n\ngo 1.26\n", want: "example.com/a"},
		{name: "quoted with comment", gomod: "// hi\nmodule \"example.com/b/v3\" // c\n", want: "example.com/b/v3"},
		{name: "no module line", gomod: "go 1.26\n", wantErr: "no module line"},
		{name: "modulex is not module", gomod: "modulex foo\n", wantErr: "unknown directive: modulex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"go.mod": tt.gomod})
			got, err := ModulePath(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ModulePath() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ModulePath() = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
	if _, err := ModulePath(t.TempDir()); err == nil || !strings.Contains(err.Error(), "go mod init") {
		t.Errorf("ModulePath(no go.mod) error = %v, want one naming go mod init", err)
	}
}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		dirs    []string
		want    []Main
		wantErr string
	}{
		{
			name:  "root main",
			files: map[string]string{"go.mod": "module example.com/acme/tool/v2\n", "main.go": "package main\nfunc main(){}\n"},
			want:  []Main{{Name: "tool", Dir: ".", ImportPath: "example.com/acme/tool/v2"}},
		},
		{
			name: "cmd a and b, library root",
			files: map[string]string{
				"go.mod": "module example.com/m\n", "lib.go": "package m\n",
				"cmd/b/main.go": "package main\nfunc main(){}\n", "cmd/a/main.go": "package main\nfunc main(){}\n",
				"cmd/notmain/x.go": "package notmain\n", "cmd/empty/README": "x", "cmd/.hidden/main.go": "package main\n",
			},
			want: []Main{{Name: "a", Dir: "cmd/a", ImportPath: "example.com/m/cmd/a"}, {Name: "b", Dir: "cmd/b", ImportPath: "example.com/m/cmd/b"}},
		},
		{
			name:  "configured dir",
			files: map[string]string{"go.mod": "module example.com/m\n", "tools/gen/main.go": "package main\nfunc main(){}\n"},
			dirs:  []string{"./tools/gen"},
			want:  []Main{{Name: "gen", Dir: "tools/gen", ImportPath: "example.com/m/tools/gen"}},
		},
		{
			name:    "no main",
			files:   map[string]string{"go.mod": "module example.com/m\n", "lib.go": "package m\n"},
			wantErr: "no main package",
		},
		{
			name:    "configured non-main",
			files:   map[string]string{"go.mod": "module example.com/m\n", "pkg/x/x.go": "package x\n"},
			dirs:    []string{"pkg/x"},
			wantErr: "is package x, not main",
		},
		{
			name:    "configured empty",
			files:   map[string]string{"go.mod": "module example.com/m\n"},
			dirs:    []string{"nothing"},
			wantErr: "no Go files",
		},
		{
			name:    "configured outside",
			files:   map[string]string{"go.mod": "module example.com/m\n"},
			dirs:    []string{"../elsewhere"},
			wantErr: "inside the module",
		},
		{
			name:    "name clash",
			files:   map[string]string{"go.mod": "module example.com/m\n", "a/web/main.go": "package main\n", "b/web/main.go": "package main\n"},
			dirs:    []string{"a/web", "b/web"},
			wantErr: "both build a binary",
		},
		{
			name:    "missing go.mod",
			files:   map[string]string{"main.go": "package main\n"},
			wantErr: "no go.mod",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			p, err := Discover(dir, tt.dirs...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Discover() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p.Mains); diff != "" {
				t.Errorf("Discover().Mains mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMainPkg(t *testing.T) {
	if got := (Main{Dir: "."}).Pkg(); got != "." {
		t.Errorf("Pkg() = %q, want .", got)
	}
	if got := (Main{Dir: "cmd/web"}).Pkg(); got != "./cmd/web" {
		t.Errorf("Pkg() = %q, want ./cmd/web", got)
	}
}

func TestDiscoverVars(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod": "module example.com/x\n",
		"cmd/svc/main.go": `package main

import (
	"fmt"
	"example.com/x/pkg/version"
)

var (
	version = "dev"
	commit  string
	buildDate, other = "", ""
	count = 3
	Date = fmt.Sprint("not a literal")
)

func main() { fmt.Println(version.REVISION) }
`,
		"pkg/version/version.go":      "package version\n\nimport _ \"example.com/x/internal/deep\"\n\nvar REVISION string\nvar Version = \"0\"\nconst Commit = \"c\"\n",
		"pkg/version/version_test.go": "package version\nvar date string\n",
		"internal/deep/deep.go":       "package deep\nvar BuildTime string\nvar n int\n",
	})
	p, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.DiscoverVars(p.Mains[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]string{got.Version, got.Commit, got.Date} {
		slices.Sort(v)
	}
	want := Vars{
		Version: []string{"example.com/x/pkg/version.Version", "main.version"},
		Commit:  []string{"example.com/x/pkg/version.REVISION", "main.commit"},
		Date:    []string{"example.com/x/internal/deep.BuildTime", "main.buildDate"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DiscoverVars mismatch (-want +got):\n%s", diff)
	}
	if got.Empty() || !(Vars{}).Empty() {
		t.Error("Empty() is wrong")
	}
}

func TestDiscoverVarsParseError(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"go.mod": "module example.com/x\n", "main.go": "package main\nvar version = \n"})
	p, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DiscoverVars(p.Mains[0]); err == nil {
		t.Error("DiscoverVars(syntax error) = nil error, want one")
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_COMMITTER_DATE=2024-05-06T07:08:09Z", "GIT_AUTHOR_DATE=2024-05-06T07:08:09Z")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestGitRevision(t *testing.T) {
	dir := t.TempDir()
	if _, err := GitRevision(t.Context(), dir); err == nil || !strings.Contains(err.Error(), ErrNoCommit.Error()) {
		t.Errorf("GitRevision(not a repo) error = %v, want ErrNoCommit", err)
	}
	git(t, dir, "init", "-q", "-b", "main")
	if _, err := GitRevision(t.Context(), dir); err == nil {
		t.Error("GitRevision(no commits) = nil error, want one")
	}
	writeTree(t, dir, map[string]string{"a.txt": "a"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "first")
	rev, err := GitRevision(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rev.Commit) != 40 || !strings.HasPrefix(rev.Commit, rev.Short) {
		t.Errorf("GitRevision() = %+v, want a full hash and its prefix", rev)
	}
	if want := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC); !rev.Time.Equal(want) {
		t.Errorf("GitRevision().Time = %v, want %v", rev.Time, want)
	}
}

func TestParseSourceDateEpoch(t *testing.T) {
	got, err := ParseSourceDateEpoch(" 1700000000\n")
	if err != nil || !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("ParseSourceDateEpoch = %v, %v", got, err)
	}
	for _, bad := range []string{"", "x", "-5", "1.5"} {
		if _, err := ParseSourceDateEpoch(bad); err == nil {
			t.Errorf("ParseSourceDateEpoch(%q) = nil error, want one", bad)
		}
	}
}
