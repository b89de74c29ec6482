package dockerengine

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"
)

// testRef returns a fresh image reference under hoist-test/, so parallel
// runs and leftovers never collide, and removes it when the test ends.
func testRef(t *testing.T, e *Engine, repo string) string {
	t.Helper()
	ref := "hoist-test/" + repo + ":" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.RemoveImage(ctx, ref, true); err != nil {
			t.Errorf("RemoveImage(%s) = %v, want nil", ref, err)
		}
	})
	return ref
}

// buildWeb compiles testdata/web, the stand-in for cmd/web, for Linux on
// the host architecture, as hoist's own build does.
func buildWeb(t *testing.T, version string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "web")
	src, err := filepath.Abs(filepath.Join("testdata", "web"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+version, "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build testdata/web: %v\n%s", err, b)
	}
	return out
}

// tarFile is one entry of a hand-made image layer.
type tarFile struct {
	name string
	mode int64
	body []byte // nil for directories
	link string
}

func writeTarFiles(tw *tar.Writer, files []tarFile) error {
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Size: int64(len(f.body))}
		switch {
		case f.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.link, 0
		case strings.HasSuffix(f.name, "/"):
			h.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.body); err != nil {
			return err
		}
	}
	return nil
}

var nonrootPasswd = []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")

// webImage wraps the binary into a daemonless image the way hoist's image
// package does: one layer on an empty base, non-root, port and
// healthcheck in the config.
func webImage(t *testing.T, bin string, healthcheck bool) v1.Image {
	t.Helper()
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err = writeTarFiles(tw, []tarFile{
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, body: nonrootPasswd},
		{name: "tmp/", mode: 0o1777},
		{name: "usr/", mode: 0o755},
		{name: "usr/local/", mode: 0o755},
		{name: "usr/local/bin/", mode: 0o755},
		{name: "usr/local/bin/web", mode: 0o755, body: body},
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{
		User:         "65532:65532",
		Entrypoint:   []string{"/usr/local/bin/web"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
	}
	if healthcheck {
		cf.Config.Healthcheck = &v1.HealthConfig{
			Test:     []string{"CMD", "/usr/local/bin/web", "-healthcheck"},
			Interval: 30 * time.Second,
			Timeout:  3 * time.Second,
			Retries:  3,
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// writeTarball writes images to a docker-archive tarball, as hoist's
// image package does before a load.
func writeTarball(t *testing.T, images map[string]v1.Image) string {
	t.Helper()
	refs := map[name.Reference]v1.Image{}
	for r, img := range images {
		tag, err := name.NewTag(r)
		if err != nil {
			t.Fatal(err)
		}
		refs[tag] = img
	}
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.MultiRefWriteToFile(p, refs); err != nil {
		t.Fatalf("tarball.MultiRefWriteToFile(%s) = %v", p, err)
	}
	return p
}

// importImage creates a single-layer image from a tar stream with the
// Engine's import endpoint. The tests need base images for Dockerfile
// builds and this machine cannot pull any, so they are made locally.
func importImage(t *testing.T, e *Engine, ref string, changes []string, write func(*tar.Writer) error) {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := write(tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	rc, err := e.cli.ImageImport(t.Context(), client.ImageImportSource{Source: pr, SourceName: "-"}, ref, client.ImageImportOptions{Changes: changes})
	if err != nil {
		pr.CloseWithError(err)
		t.Fatalf("ImageImport(%s) = %v", ref, err)
	}
	defer rc.Close()
	sr := streamReader{}
	if err := sr.read(rc); err != nil {
		t.Fatalf("ImageImport(%s) stream = %v", ref, err)
	}
}

// goBuilderImage makes a minimal stand-in for golang:1.26-bookworm: the
// host's Go toolchain at /usr/local/go plus a static busybox as /bin/sh
// for RUN. Parts a build never reads (tests, docs, cmd sources, testdata)
// are left out to keep the import fast.
func goBuilderImage(t *testing.T, e *Engine) string {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skipf("busybox (static) is needed for the builder base image: %v", err)
	}
	goroot, err := exec.CommandContext(t.Context(), "go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	root := strings.TrimSpace(string(goroot))
	bb, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	skip := map[string]bool{"test": true, "api": true, "doc": true, "misc": true, ".git": true, "src/cmd": true}

	ref := testRef(t, e, "go-builder")
	importImage(t, e, ref, []string{
		"ENV PATH=/usr/local/go/bin:/bin",
		"ENV GOTOOLCHAIN=local",
		"ENV GOPROXY=off",
		"ENV GOPATH=/go",
		"ENV GOCACHE=/tmp/go-cache",
		"WORKDIR /",
	}, func(tw *tar.Writer) error {
		if err := writeTarFiles(tw, []tarFile{
			{name: "bin/", mode: 0o755},
			{name: "bin/busybox", mode: 0o755, body: bb},
			{name: "bin/sh", link: "busybox"},
			{name: "tmp/", mode: 0o1777},
			{name: "root/", mode: 0o700},
			{name: "usr/", mode: 0o755},
			{name: "usr/local/", mode: 0o755},
		}); err != nil {
			return err
		}
		return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() && (skip[rel] || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			h, err := tar.FileInfoHeader(fi, "")
			if err != nil || !(fi.Mode().IsRegular() || fi.IsDir()) {
				return err
			}
			h.Name = "usr/local/go/" + rel
			if rel == "." {
				h.Name = "usr/local/go"
			}
			if fi.IsDir() {
				h.Name += "/"
			}
			h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if fi.Mode().IsRegular() {
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = io.Copy(tw, f)
				return err
			}
			return nil
		})
	})
	return ref
}

// staticRuntimeImage makes a stand-in for distroless/static:nonroot: no
// shell, a passwd file naming uid 65532, a sticky /tmp, and the host's CA
// bundle when there is one.
func staticRuntimeImage(t *testing.T, e *Engine) string {
	t.Helper()
	files := []tarFile{
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, body: nonrootPasswd},
		{name: "etc/group", mode: 0o644, body: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "tmp/", mode: 0o1777},
	}
	if ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		files = append(files,
			tarFile{name: "etc/ssl/", mode: 0o755},
			tarFile{name: "etc/ssl/certs/", mode: 0o755},
			tarFile{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, body: ca})
	}
	ref := testRef(t, e, "static")
	importImage(t, e, ref, []string{"USER 65532:65532"}, func(tw *tar.Writer) error {
		return writeTarFiles(tw, files)
	})
	return ref
}
