package image

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
	// commitTime stands in for the commit time a release passes as Created.
	commitTime = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
)

// fakeBinary writes content as an executable file; most tests need bytes in
// the right place, not a program.
func fakeBinary(t *testing.T, dir, name, content string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeBinaries lays out dist/<name>_linux_<arch>/<name> for amd64 and arm64.
func fakeBinaries(t *testing.T, name string) []Binary {
	t.Helper()
	dist := t.TempDir()
	var out []Binary
	for _, p := range []v1.Platform{amd64, arm64} {
		dir := filepath.Join(dist, name+"_linux_"+p.Architecture)
		out = append(out, Binary{Name: name, Platform: p, Path: fakeBinary(t, dir, name, "#fake "+name+" for "+p.Architecture+"\n")})
	}
	return out
}

const helloMain = `package main

import (
	"fmt"
	"os"
)

var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-healthcheck" {
		os.Exit(0)
	}
	fmt.Println("hello from", version)
}
`

// goBuild compiles a tiny static program for linux/goarch with the real
// toolchain, the way go:build would.
func goBuild(t testing.TB, dir, goarch string) string {
	t.Helper()
	return goBuildSrc(t, dir, goarch, helloMain, "-s -w -X main.version=0.1.0")
}

// goBuildSrc compiles mainSrc with ldflags for linux/goarch.
func goBuildSrc(t testing.TB, dir, goarch, mainSrc, ldflags string) string {
	t.Helper()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.26\n",
		"main.go": mainSrc,
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "hello_linux_"+goarch, "hello")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags="+ldflags, "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s: %v\n%s", goarch, err, b)
	}
	return out
}

// tarFile is one entry read back from a layer.
type tarFile struct {
	hdr  *tar.Header
	data []byte
}

// readLayer returns the entries of a layer in order, keyed and listed.
func readLayer(t *testing.T, l v1.Layer) ([]string, map[string]tarFile) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatalf("Uncompressed() error = %v", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	files := map[string]tarFile{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read layer: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		files[hdr.Name] = tarFile{hdr: hdr, data: data}
	}
	return names, files
}

// newRegistry serves go-containerregistry's in-memory registry on loopback
// and returns its host:port.
func newRegistry(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func mustDigest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatalf("Digest() error = %v", err)
	}
	return h
}

func layersOf(t *testing.T, img v1.Image) []v1.Layer {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatalf("Layers() error = %v", err)
	}
	return ls
}

func configOf(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("ConfigFile() error = %v", err)
	}
	return cf
}

func manifestOf(t *testing.T, img v1.Image) *v1.Manifest {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatalf("Manifest() error = %v", err)
	}
	return m
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !bytes.Contains([]byte(s), []byte(sub)) {
			return false
		}
	}
	return true
}
