package docker

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/dockerengine"
)

// contextNames builds the context tar for dir the way docker:build sends
// it and returns the names inside, read back from the tar itself.
func contextNames(t *testing.T, dir string) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := dockerengine.WriteBuildContext(t.Context(), &buf, dir, ""); err != nil {
		t.Fatalf("WriteBuildContext(%s) = %v, want nil", dir, err)
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read the context tar of %s: %v", dir, err)
		}
		names = append(names, strings.TrimSuffix(h.Name, "/"))
	}
	return names
}

// inContext reports whether name, or anything under it, is in names.
func inContext(names []string, name string) bool {
	return slices.ContainsFunc(names, func(n string) bool {
		return n == name || strings.HasPrefix(n, name+"/")
	})
}

// TestDockerignoreRepo builds the context of hoist's own checkout: the
// Dockerfile's inputs are in, history and output are out.
func TestDockerignoreRepo(t *testing.T) {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".dockerignore")); err != nil {
		t.Fatalf("the repository has no .dockerignore: %v", err)
	}
	names := contextNames(t, root)
	t.Logf("build context of %s: %d entries", root, len(names))
	for _, want := range []string{"Dockerfile", ".dockerignore", "go.mod", "go.sum", "cmd/web/main.go", "cmd/web/server.go"} {
		if !inContext(names, want) {
			t.Errorf("WriteBuildContext(repo) has no %s, want it: the Dockerfile build needs it", want)
		}
	}
	for _, banned := range []string{".git", "dist", ".hoist", ".env", "docs", ".ci"} {
		if inContext(names, banned) {
			t.Errorf("WriteBuildContext(repo) holds %s, want it left out by .dockerignore", banned)
		}
	}
	for _, n := range names {
		if strings.HasSuffix(n, ".test") || strings.HasSuffix(n, ".out") || strings.Contains("/"+n+"/", "/testdata/") {
			t.Errorf("WriteBuildContext(repo) holds %s, want test output and test data left out", n)
		}
	}
}

// TestDockerignoreRules applies a copy of the repository's .dockerignore
// to a tree that has every kind of file it must keep out, since the real
// checkout may not have them (and tests must not write into it).
func TestDockerignoreRules(t *testing.T) {
	ignore, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		in   bool
	}{
		{name: "module file", path: "go.mod", in: true},
		{name: "checksums", path: "go.sum", in: true},
		{name: "service source", path: "cmd/web/main.go", in: true},
		{name: "library source", path: "internal/store/store.go", in: true},
		{name: "Dockerfile", path: "Dockerfile", in: true},
		{name: "git history", path: ".git/HEAD"},
		{name: "git object", path: ".git/objects/ab/cdef"},
		{name: "build output", path: "dist/web_linux_amd64/web"},
		{name: "image tarball", path: "dist/image_linux_amd64.tar"},
		{name: "hoist cache", path: ".hoist/cache.json"},
		{name: "root env file", path: ".env"},
		{name: "nested env file", path: "cmd/web/.env"},
		{name: "env variant", path: ".env.production"},
		{name: "test binary", path: "web.test"},
		{name: "nested test binary", path: "gobuild/gobuild.test"},
		{name: "coverage profile", path: "coverage.out"},
		{name: "coverage html", path: "coverage.html"},
		{name: "cpu profile", path: "cpu.prof"},
		{name: "test data", path: "image/testdata/golden.json"},
		{name: "private key", path: "certs/server.key"},
		{name: "certificate", path: "certs/server.pem"},
		{name: "netrc", path: ".netrc"},
		{name: "docker credentials", path: ".docker/config.json"},
		{name: "idea", path: ".idea/workspace.xml"},
		{name: "vscode", path: ".vscode/settings.json"},
		{name: "swap file", path: "cmd/web/.main.go.swp"},
		{name: "backup file", path: "main.go~"},
		{name: "mac metadata", path: "cmd/.DS_Store"},
		{name: "docs", path: "docs/docker.md"},
		{name: "readme", path: "README.md"},
		{name: "compose file", path: "compose.yaml"},
	}
	files := map[string]string{".dockerignore": string(ignore)}
	for _, tc := range tests {
		files[tc.path] = "content of " + tc.path + "\n"
	}
	writeTree(t, dir, files)
	names := contextNames(t, dir)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := slices.Contains(names, tc.path); got != tc.in {
				t.Errorf("WriteBuildContext(%s) holds %s = %v, want %v", dir, tc.path, got, tc.in)
			}
		})
	}
}
