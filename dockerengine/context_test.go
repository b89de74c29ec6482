package dockerengine

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeTree creates files (path → content) under dir; a content of "/"
// makes a directory, and "-> target" a symlink.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case content == "/":
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(content, "-> "):
			if err := os.Symlink(strings.TrimPrefix(content, "-> "), p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// tarEntries reads back a tar stream as the list of its entry names.
func tarEntries(t *testing.T, data []byte) []*tar.Header {
	t.Helper()
	var hdrs []*tar.Header
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return hdrs
		}
		if err != nil {
			t.Fatalf("read context tar: %v", err)
		}
		hdrs = append(hdrs, h)
	}
}

func TestWriteBuildContext(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		dockerfile string
		want       []string
	}{
		{
			name: "dockerignore keeps secrets and build output out",
			files: map[string]string{
				"Dockerfile": "FROM scratch\n",
				".dockerignore": "# build output and secrets\n.git\ndist/\n.env\n*.log\n!keep.log\n" +
					"secret/\n!secret/public.txt\nDockerfile\n.dockerignore\n",
				"go.mod":             "module example.com/x\n",
				"cmd/web/main.go":    "package main\n",
				".git/HEAD":          "ref: refs/heads/main\n",
				".git/objects/ab/cd": "blob",
				"dist/web_linux":     "ELF",
				".env":               "TOKEN=hunter2\n",
				"debug.log":          "noise",
				"keep.log":           "wanted",
				"secret/private.txt": "no",
				"secret/public.txt":  "yes",
				"nested/.env":        "patterns are anchored at the root",
				"link":               "-> go.mod",
			},
			want: []string{
				".dockerignore", "Dockerfile", "cmd/", "cmd/web/", "cmd/web/main.go",
				"go.mod", "keep.log", "link", "nested/", "nested/.env", "secret/public.txt",
			},
		},
		{
			name: "Dockerfile inside an ignored directory is still sent",
			files: map[string]string{
				"build/Dockerfile": "FROM scratch\n",
				"build/notes.txt":  "ignored",
				".dockerignore":    "build\n",
				"main.go":          "package main\n",
			},
			dockerfile: "build/Dockerfile",
			want:       []string{".dockerignore", "build/Dockerfile", "main.go"},
		},
		{
			name: "no dockerignore sends everything",
			files: map[string]string{
				"Dockerfile": "FROM scratch\n",
				".git/HEAD":  "ref",
				"empty/":     "/",
			},
			want: []string{".git/", ".git/HEAD", "Dockerfile", "empty/"},
		},
		{
			name: "wildcard re-include reaches into an ignored directory",
			files: map[string]string{
				"Dockerfile":      "FROM scratch\n",
				".dockerignore":   "docs\n!**/*.md\n",
				"docs/a/guide.md": "# guide",
				"docs/a/draft.tx": "draft",
			},
			want: []string{".dockerignore", "Dockerfile", "docs/a/guide.md"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			var buf bytes.Buffer
			names, err := WriteBuildContext(t.Context(), &buf, dir, tc.dockerfile)
			if err != nil {
				t.Fatalf("WriteBuildContext(%s) = %v, want nil error", dir, err)
			}
			if diff := cmp.Diff(tc.want, names); diff != "" {
				t.Errorf("WriteBuildContext(%s) names mismatch (-want +got):\n%s", dir, diff)
			}
			var inTar []string
			for _, h := range tarEntries(t, buf.Bytes()) {
				inTar = append(inTar, h.Name)
				if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
					t.Errorf("entry %s owner = %d:%d (%q:%q), want 0:0 without names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
				}
				if !h.ModTime.Equal(time.Unix(0, 0)) {
					t.Errorf("entry %s mtime = %v, want the epoch", h.Name, h.ModTime)
				}
			}
			if diff := cmp.Diff(tc.want, inTar); diff != "" {
				t.Errorf("tar entries mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The same tree must give the same bytes even when file times differ, so
// that the COPY layers of a Dockerfile build do not depend on checkout time.
func TestWriteBuildContextDeterministic(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"Dockerfile": "FROM scratch\n", "a/b/c.txt": "c", "z.txt": "z", "m/n.txt": "n",
	})
	var first bytes.Buffer
	if _, err := WriteBuildContext(t.Context(), &first, dir, ""); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "z.txt"), later, later); err != nil {
		t.Fatal(err)
	}
	var second bytes.Buffer
	if _, err := WriteBuildContext(t.Context(), &second, dir, ""); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Errorf("WriteBuildContext twice = %d and %d differing bytes, want identical streams", first.Len(), second.Len())
	}
	// The executable bit is kept: scripts copied into an image must still run.
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var third bytes.Buffer
	if _, err := WriteBuildContext(t.Context(), &third, dir, ""); err != nil {
		t.Fatal(err)
	}
	for _, h := range tarEntries(t, third.Bytes()) {
		if h.Name == "run.sh" && h.Mode&0o111 == 0 {
			t.Errorf("run.sh mode = %o, want the executable bits kept", h.Mode)
		}
	}
}

func TestWriteBuildContextErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch\n", "file": "x"})
	badIgnore := t.TempDir()
	writeTree(t, badIgnore, map[string]string{"Dockerfile": "FROM scratch\n", ".dockerignore": "[\n"})

	tests := []struct {
		name       string
		dir        string
		dockerfile string
		want       string
	}{
		{name: "no directory", dir: "", want: "set BuildOptions.ContextDir"},
		{name: "missing directory", dir: filepath.Join(dir, "nope"), want: "no such file"},
		{name: "file instead of directory", dir: filepath.Join(dir, "file"), want: "is not a directory"},
		{name: "missing Dockerfile", dir: dir, dockerfile: "Containerfile", want: "create it or set BuildOptions.Dockerfile"},
		{name: "Dockerfile outside the context", dir: dir, dockerfile: "../Dockerfile", want: "inside the context directory"},
		{name: "Dockerfile is a directory", dir: dir, dockerfile: ".", want: "no Dockerfile at ."},
		{name: "bad ignore pattern", dir: badIgnore, want: "fix the pattern"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := WriteBuildContext(t.Context(), io.Discard, tc.dir, tc.dockerfile)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("WriteBuildContext(%q, %q) = %v, want an error containing %q", tc.dir, tc.dockerfile, err, tc.want)
			}
		})
	}

	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := WriteBuildContext(ctx, io.Discard, dir, "")
		if err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("WriteBuildContext(cancelled) = %v, want context canceled", err)
		}
	})
	t.Run("broken writer", func(t *testing.T) {
		_, err := WriteBuildContext(t.Context(), failWriter{}, dir, "")
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("WriteBuildContext(failing writer) = %v, want the writer's error", err)
		}
	})
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
