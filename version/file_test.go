package version

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

func TestReadFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string   // the version, when valid
		errHas  []string // substrings of the error, when invalid
	}{
		{name: "plain", content: "1.2.3", want: "1.2.3"},
		{name: "trailing newline", content: "1.2.3\n", want: "1.2.3"},
		{name: "crlf", content: "0.1.0\r\n", want: "0.1.0"},
		{name: "prerelease and build", content: "2.0.0-rc.1+build.5\n", want: "2.0.0-rc.1+build.5"},
		{name: "short", content: "1.2\n", errHas: []string{`holds "1.2"`, "write a full semantic version such as 1.2.0"}},
		{name: "leading v", content: "v1.2.3\n", errHas: []string{`holds "v1.2.3"`, `drop the leading "v"`, "write 1.2.3"}},
		{name: "leading v and short", content: "v1\n", errHas: []string{`holds "v1"`, "such as 1.0.0"}},
		{name: "empty", content: "", errHas: []string{"is empty", "such as 0.1.0"}},
		{name: "only newline", content: "\n", errHas: []string{"is empty"}},
		{name: "two lines", content: "1.2.3\n1.2.4\n", errHas: []string{"single line", "such as 1.2.3"}},
		{name: "two newlines", content: "1.2.3\n\n", errHas: []string{"single line"}},
		{name: "spaces", content: " 1.2.3 \n", errHas: []string{"surrounding spaces", "just 1.2.3"}},
		{name: "leading zero", content: "01.2.3", errHas: []string{`holds "01.2.3"`, "such as 1.2.3"}},
		{name: "garbage", content: "latest", errHas: []string{`holds "latest"`, "such as 0.1.0"}},
		{name: "long garbage is cut", content: strings.Repeat("x", 200), errHas: []string{strings.Repeat("x", maxQuoted) + "..."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "VERSION")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path)
			if tt.errHas == nil {
				if err != nil {
					t.Fatalf("ReadFile(%q) error = %v, want nil", tt.content, err)
				}
				if got.String() != tt.want {
					t.Errorf("ReadFile(%q) = %s, want %s", tt.content, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadFile(%q) = %s, want an error", tt.content, got)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("ReadFile(%q) error = %q, want it to contain %q", tt.content, err, s)
				}
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("ReadFile(%q) error = %q, want it to name the file", tt.content, err)
			}
		})
	}
}

func TestReadFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "VERSION")
	_, err := ReadFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile(missing) error = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "echo 0.1.0 >") {
		t.Errorf("ReadFile(missing) error = %q, want the command that creates it", err)
	}
	if _, err := ReadFile(t.TempDir()); err == nil {
		t.Errorf("ReadFile(a directory) error = nil, want an error")
	}
}

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name     string
		existing *os.FileMode // nil: the file does not exist yet
		wantMode os.FileMode
	}{
		{name: "new file", wantMode: 0o644},
		{name: "keeps 0600", existing: ptr(os.FileMode(0o600)), wantMode: 0o600},
		{name: "keeps 0664", existing: ptr(os.FileMode(0o664)), wantMode: 0o664},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "VERSION")
			if tt.existing != nil {
				if err := os.WriteFile(path, []byte("0.0.1\n"), *tt.existing); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, *tt.existing); err != nil { // umask may have cut bits
					t.Fatal(err)
				}
			}
			v := semver.MustParse("1.4.0-rc.2+meta")
			if err := WriteFile(path, v); err != nil {
				t.Fatalf("WriteFile(%s) error = %v", v, err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(b), "1.4.0-rc.2+meta\n"; got != want {
				t.Errorf("WriteFile(%s) wrote %q, want %q", v, got, want)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.wantMode {
				t.Errorf("WriteFile(%s) mode = %v, want %v", v, got, tt.wantMode)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("WriteFile left %d files in the directory, want only VERSION", len(entries))
			}
			back, err := ReadFile(path)
			if err != nil || !back.Equal(v) {
				t.Errorf("ReadFile after WriteFile = %v, %v, want %s", back, err, v)
			}
		})
	}
}

func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, "VERSION"), nil); err == nil {
		t.Errorf("WriteFile(nil) error = nil, want an error")
	}
	missing := filepath.Join(dir, "no", "such", "VERSION")
	if err := WriteFile(missing, semver.MustParse("1.0.0")); err == nil {
		t.Errorf("WriteFile(%s) error = nil, want an error for a missing directory", missing)
	}
	// A directory in place of the file: the rename must fail and the
	// temporary file must not be left behind.
	target := filepath.Join(dir, "VERSION")
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(target, semver.MustParse("1.0.0")); err == nil {
		t.Errorf("WriteFile(over a directory) error = nil, want an error")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("WriteFile left %d entries after a failed rename, want 1", len(entries))
	}
}

func ptr[T any](v T) *T { return &v }
