package checksum

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t testing.TB, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSHA256File(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		content  string
		wantSum  string
		wantSize int64
	}{
		// Digests from FIPS 180-2 and the well-known empty-input value.
		{name: "abc", content: "abc", wantSum: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", wantSize: 3},
		{name: "empty", content: "", wantSum: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", wantSize: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			writeFile(t, p, tt.content)
			sum, size, err := SHA256File(context.Background(), p)
			if err != nil || sum != tt.wantSum || size != tt.wantSize {
				t.Errorf("SHA256File(%s) = %s, %d, %v, want %s, %d, nil", tt.name, sum, size, err, tt.wantSum, tt.wantSize)
			}
		})
	}
	missing := filepath.Join(dir, "missing")
	if _, _, err := SHA256File(context.Background(), missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SHA256File(missing) = %v, want fs.ErrNotExist", err)
	}
}

// dist builds a small release directory: archives at the top and one
// artifact in a subdirectory, to exercise relative paths and sorting.
func dist(t *testing.T) (dir string, paths []string) {
	t.Helper()
	dir = t.TempDir()
	files := map[string]string{
		"web_0.1.0_windows_amd64.zip":   "zip bytes",
		"web_0.1.0_linux_amd64.tar.gz":  "tgz bytes",
		"sbom/web_linux_amd64.spdx":     "{}",
		"web_0.1.0_darwin_arm64.tar.gz": "abc",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), content)
	}
	// Mixed styles on purpose: absolute, and relative to baseDir.
	paths = []string{
		filepath.Join(dir, "web_0.1.0_windows_amd64.zip"),
		"web_0.1.0_linux_amd64.tar.gz",
		"sbom/web_linux_amd64.spdx",
		"web_0.1.0_darwin_arm64.tar.gz",
	}
	return dir, paths
}

func TestWrite(t *testing.T) {
	dir, paths := dist(t)
	dst := filepath.Join(dir, "checksums.txt")
	if err := Write(t.Context(), dst, paths, dir); err != nil {
		t.Fatalf("Write(%s) = %v, want nil", dst, err)
	}
	sum := func(name string) string {
		s, _, err := SHA256File(context.Background(), filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := sum("sbom/web_linux_amd64.spdx") + "  sbom/web_linux_amd64.spdx\n" +
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  web_0.1.0_darwin_arm64.tar.gz\n" +
		sum("web_0.1.0_linux_amd64.tar.gz") + "  web_0.1.0_linux_amd64.tar.gz\n" +
		sum("web_0.1.0_windows_amd64.zip") + "  web_0.1.0_windows_amd64.zip\n"
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Write(%s) content =\n%s\nwant\n%s", dst, got, want)
	}
	st, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("Write(%s) mode = %v, want 0644", dst, st.Mode().Perm())
	}

	// A second run over the same files, listed in another order, must give
	// the same bytes.
	slices.Reverse(paths)
	if err := Write(t.Context(), dst, paths, dir); err != nil {
		t.Fatalf("second Write(%s) = %v, want nil", dst, err)
	}
	again, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(got) {
		t.Errorf("Write twice: content differs:\n%s\nvs\n%s", got, again)
	}
	assertNoTemp(t, dir)
}

func TestWriteVerifiesWithSha256sum(t *testing.T) {
	sha256sum, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("sha256sum not installed")
	}
	dir, paths := dist(t)
	dst := filepath.Join(dir, "checksums.txt")
	if err := Write(t.Context(), dst, paths, dir); err != nil {
		t.Fatalf("Write(%s) = %v, want nil", dst, err)
	}
	check := func() (string, error) {
		cmd := exec.CommandContext(t.Context(), sha256sum, "--strict", "-c", "checksums.txt")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := check(); err != nil {
		t.Fatalf("sha256sum -c checksums.txt = %v, want exit 0:\n%s", err, out)
	}

	writeFile(t, filepath.Join(dir, "web_0.1.0_linux_amd64.tar.gz"), "tampered")
	out, err := check()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
		t.Fatalf("sha256sum -c after corrupting an artifact = %v, want a non-zero exit:\n%s", err, out)
	}
	if !strings.Contains(out, "web_0.1.0_linux_amd64.tar.gz: FAILED") {
		t.Errorf("sha256sum -c output = %q, want it to name the corrupted file", out)
	}
}

func TestWriteErrors(t *testing.T) {
	dir, _ := dist(t)
	outside := filepath.Join(t.TempDir(), "elsewhere.zip")
	writeFile(t, outside, "x")
	writeFile(t, filepath.Join(dir, "back\\slash"), "x")
	tests := []struct {
		name    string
		dst     string
		paths   []string
		wantErr string
	}{
		{name: "no paths", dst: "checksums.txt", wantErr: "no files given"},
		{name: "missing", dst: "checksums.txt", paths: []string{"web_0.1.0_linux_arm64.tar.gz"}, wantErr: "does not exist; build it first"},
		{name: "directory", dst: "checksums.txt", paths: []string{"sbom"}, wantErr: "not a regular file"},
		{name: "outside", dst: "checksums.txt", paths: []string{outside}, wantErr: "is outside"},
		{name: "outside via dotdot", dst: "sbom/checksums.txt", paths: []string{"web_0.1.0_linux_amd64.tar.gz"}, wantErr: "is outside"},
		{name: "itself", dst: "checksums.txt", paths: []string{"checksums.txt"}, wantErr: "checksums file itself"},
		{name: "duplicate", dst: "checksums.txt", paths: []string{"web_0.1.0_linux_amd64.tar.gz", "./web_0.1.0_linux_amd64.tar.gz"}, wantErr: "listed twice"},
		{name: "backslash", dst: "checksums.txt", paths: []string{"back\\slash"}, wantErr: "backslash or line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(dir, filepath.FromSlash(tt.dst))
			err := Write(t.Context(), dst, tt.paths, dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Write(%s, %q) = %v, want error containing %q", tt.dst, tt.paths, err, tt.wantErr)
			}
			if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after failed Write, stat(%s) = %v, want not exist", tt.dst, err)
			}
		})
	}
	assertNoTemp(t, dir)
}

func TestWriteCancelled(t *testing.T) {
	dir, paths := dist(t)
	dst := filepath.Join(dir, "checksums.txt")
	writeFile(t, dst, "previous\n")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Write(ctx, dst, paths, dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write(cancelled ctx) = %v, want context.Canceled", err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "previous\n" {
		t.Errorf("after cancelled Write, %s = %q, want the previous content kept", dst, got)
	}
	assertNoTemp(t, dir)
}

func TestWriteRelativeToWorkingDir(t *testing.T) {
	dir, _ := dist(t)
	t.Chdir(dir)
	if err := Write(t.Context(), "checksums.txt", []string{"web_0.1.0_darwin_arm64.tar.gz"}, ""); err != nil {
		t.Fatalf("Write(checksums.txt, empty baseDir) = %v, want nil", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  web_0.1.0_darwin_arm64.tar.gz\n"
	if string(got) != want {
		t.Errorf("Write(checksums.txt, empty baseDir) content = %q, want %q", got, want)
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("leftover temporary file %s in %s", e.Name(), dir)
		}
	}
}

// BenchmarkSHA256File hashes an 8 MiB artifact, the size of a typical
// compressed service release.
func BenchmarkSHA256File(b *testing.B) {
	const size = 8 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 31)
	}
	p := filepath.Join(b.TempDir(), "web")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		if _, n, err := SHA256File(context.Background(), p); err != nil || n != size {
			b.Fatalf("SHA256File = %d, %v", n, err)
		}
	}
}

func TestWriteRenameFailureLeavesNoTemp(t *testing.T) {
	dir, paths := dist(t)
	// A non-empty directory where checksums.txt should go makes the final
	// rename fail for real.
	dst := filepath.Join(dir, "checksums.txt")
	writeFile(t, filepath.Join(dst, "keep"), "x")
	err := Write(t.Context(), dst, paths, dir)
	if err == nil || !strings.Contains(err.Error(), "rename into place") {
		t.Fatalf("Write(%s over a directory) = %v, want a rename error", dst, err)
	}
	assertNoTemp(t, dir)
}
