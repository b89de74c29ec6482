// Package dockertest makes the base images Docker tests need on a machine
// that cannot pull any: a stand-in for golang:1.26-bookworm built from the
// host's Go toolchain and a static busybox, and a stand-in for
// distroless/static:nonroot. Only tests import it; it pulls in the moby
// client, like the packages whose tests use it.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoistdev/hoist/internal/lockfile"
)

// File is one entry of a hand-made layer: a directory when Name ends in
// "/", a symlink when Link is set, else a regular file holding Body.
type File struct {
	// Name is the path inside the layer.
	Name string
	// Mode is the permission bits.
	Mode int64
	// Body is a regular file's content.
	Body []byte
	// Link is a symlink's target.
	Link string
}

// WriteFiles writes files to tw with root ownership and the Unix epoch as
// their time.
func WriteFiles(tw *tar.Writer, files []File) error {
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: f.Mode, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Size: int64(len(f.Body))}
		switch {
		case f.Link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.Link, 0
		case strings.HasSuffix(f.Name, "/"):
			h.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.Body); err != nil {
			return err
		}
	}
	return nil
}

// NonrootPasswd is an /etc/passwd with root and nonroot (65532).
var NonrootPasswd = []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")

// Import creates the single-layer image ref from the tar stream write
// produces, through the Engine's import endpoint, applying Dockerfile-style
// changes such as "ENV PATH=/bin". Failures the daemon reports inside its
// JSON stream are returned as errors.
func Import(ctx context.Context, cli *client.Client, ref string, changes []string, write func(*tar.Writer) error) error {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := write(tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	rc, err := cli.ImageImport(ctx, client.ImageImportSource{Source: pr, SourceName: "-"}, ref, client.ImageImportOptions{Changes: changes})
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("import %s: %w", ref, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("import %s: read the daemon's answer: %w", ref, err)
		}
		if m.Error != "" {
			return fmt.Errorf("import %s: %s", ref, m.Error)
		}
	}
}

// ErrNoBusybox means the static busybox a builder image needs for RUN is
// not installed (Debian: busybox-static); tests skip on it.
var ErrNoBusybox = errors.New("busybox (static) is needed for the builder base image")

// GoBuilder returns the changes and the layer of a minimal Go builder
// image: the host's GOROOT at /usr/local/go, a static busybox as /bin/sh,
// GOPROXY=off and a writable cache. Parts a build never reads (tests, docs,
// the cmd sources, testdata) are left out to keep the import fast.
func GoBuilder(ctx context.Context) ([]string, func(*tar.Writer) error, error) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNoBusybox, err)
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("go env GOROOT: %w", err)
	}
	root := strings.TrimSpace(string(out))
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return nil, nil, err
	}
	skip := map[string]bool{"test": true, "api": true, "doc": true, "misc": true, ".git": true, "src/cmd": true}
	changes := []string{
		"ENV PATH=/usr/local/go/bin:/bin",
		"ENV GOTOOLCHAIN=local",
		"ENV GOPROXY=off",
		"ENV GOPATH=/go",
		"ENV GOCACHE=/tmp/go-cache",
		"WORKDIR /",
	}
	write := func(tw *tar.Writer) error {
		if err := WriteFiles(tw, []File{
			{Name: "bin/", Mode: 0o755},
			{Name: "bin/busybox", Mode: 0o755, Body: bb},
			{Name: "bin/sh", Link: "busybox"},
			{Name: "tmp/", Mode: 0o1777},
			{Name: "root/", Mode: 0o700},
			{Name: "usr/", Mode: 0o755},
			{Name: "usr/local/", Mode: 0o755},
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
	}
	return changes, write, nil
}

// StaticRuntime returns the changes and the layer of a distroless-like
// runtime image: no shell, a passwd file naming uid 65532, a sticky /tmp,
// the host's CA bundle when there is one, and USER 65532:65532.
func StaticRuntime() ([]string, func(*tar.Writer) error) {
	files := []File{
		{Name: "etc/", Mode: 0o755},
		{Name: "etc/passwd", Mode: 0o644, Body: NonrootPasswd},
		{Name: "etc/group", Mode: 0o644, Body: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{Name: "tmp/", Mode: 0o1777},
	}
	if ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		files = append(files,
			File{Name: "etc/ssl/", Mode: 0o755},
			File{Name: "etc/ssl/certs/", Mode: 0o755},
			File{Name: "etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Body: ca})
	}
	return []string{"USER 65532:65532"}, func(tw *tar.Writer) error { return WriteFiles(tw, files) }
}

// builderFormat changes when GoBuilder's layer or the warm-up changes
// shape, so that a builder image kept from an earlier run is not reused by
// mistake.
const builderFormat = "2"

// WarmPackages are the standard-library packages that the services of the
// Dockerfile tests import (hoist's cmd/web and dockerengine's testdata/web).
// EnsureGoBuilder compiles them into the builder image's Go build cache the
// way the Dockerfile compiles (CGO_ENABLED=0, -trimpath), so that each
// Dockerfile test links against a warm cache instead of compiling the
// standard library from nothing; the compile itself is still real and
// still happens inside the daemon, once per toolchain.
var WarmPackages = []string{"net/http", "log/slog", "encoding/json", "flag", "os/signal", "log"}

// EnsureGoBuilder returns a GoBuilder image the daemon holds, making it
// only when no image of the same Go toolchain and busybox is there yet:
// the imported layer, then WarmPackages compiled in a container from it
// and committed. The image is kept after the tests, tagged
// hoist-test/go-builder:<key>: it is what every Dockerfile test builds
// from, and the daemon's layer cache of those builds stays valid only
// while its ID stays the same. Test processes that need it at once make
// it one at a time (a lock file in the temporary directory), so a cold
// run compiles the warm-up once.
func EnsureGoBuilder(ctx context.Context, cli *client.Client) (string, error) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoBusybox, err)
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return "", err
	}
	ver, err := exec.CommandContext(ctx, "go", "version").Output()
	if err != nil {
		return "", fmt.Errorf("go version: %w", err)
	}
	root, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", builderFormat, ver, root, strings.Join(WarmPackages, " "))
	h.Write(bb)
	key := hex.EncodeToString(h.Sum(nil))[:16]
	ref := "hoist-test/go-builder:" + key
	if _, err := cli.ImageInspect(ctx, ref); err == nil {
		return ref, nil
	}
	lock, err := lockfile.Wait(ctx, filepath.Join(os.TempDir(), "hoist-test-go-builder-"+key+".lock"),
		lockfile.Holder{PID: os.Getpid(), What: "make the Go builder test image"}, nil)
	if err != nil {
		return "", fmt.Errorf("wait to make %s: %w", ref, err)
	}
	defer lock.Release()
	// Another test process may have made it while this one waited.
	if _, err := cli.ImageInspect(ctx, ref); err == nil {
		return ref, nil
	}
	changes, write, err := GoBuilder(ctx)
	if err != nil {
		return "", err
	}
	base := ref + "-base"
	if err := Import(ctx, cli, base, changes, write); err != nil {
		return "", err
	}
	// The committed image keeps the layer; the base tag is only scaffolding.
	defer func() { _, _ = cli.ImageRemove(context.WithoutCancel(ctx), base, client.ImageRemoveOptions{}) }()
	if err := warm(ctx, cli, base, ref); err != nil {
		return "", fmt.Errorf("warm the Go build cache of %s: %w", ref, err)
	}
	return ref, nil
}

// warm compiles WarmPackages in a container from base and commits the
// container as ref.
func warm(ctx context.Context, cli *client.Client, base, ref string) error {
	script := "CGO_ENABLED=0 go build -trimpath " + strings.Join(WarmPackages, " ")
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: base, Cmd: []string{"/bin/sh", "-c", script}},
	})
	if err != nil {
		return fmt.Errorf("create the warm-up container: %w", err)
	}
	defer func() {
		_, _ = cli.ContainerRemove(context.WithoutCancel(ctx), created.ID, client.ContainerRemoveOptions{Force: true})
	}()
	wait := cli.ContainerWait(ctx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start the warm-up container: %w", err)
	}
	select {
	case res := <-wait.Result:
		if res.StatusCode != 0 {
			return fmt.Errorf("%s exited with %d: %s", script, res.StatusCode, containerLogs(ctx, cli, created.ID))
		}
	case err := <-wait.Error:
		return fmt.Errorf("wait for the warm-up container: %w", err)
	}
	if _, err := cli.ContainerCommit(ctx, created.ID, client.ContainerCommitOptions{Reference: ref, Comment: "Go build cache warmed: " + script}); err != nil {
		return fmt.Errorf("commit %s: %w", ref, err)
	}
	return nil
}

// containerLogs returns the end of what a container printed, for errors.
func containerLogs(ctx context.Context, cli *client.Client, id string) string {
	rc, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "20"})
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	defer rc.Close()
	var buf bytes.Buffer
	_, _ = stdcopy.StdCopy(&buf, &buf, io.LimitReader(rc, 64<<10))
	return buf.String()
}
