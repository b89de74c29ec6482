package dockertest

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"
)

func entries(t *testing.T, write func(*tar.Writer) error) map[string]*tar.Header {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := write(tw); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
	}
}

func TestStaticRuntime(t *testing.T) {
	changes, write := StaticRuntime()
	if len(changes) != 1 || changes[0] != "USER 65532:65532" {
		t.Errorf("StaticRuntime() changes = %v, want USER 65532:65532", changes)
	}
	got := entries(t, write)
	if h := got["tmp/"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o1777 {
		t.Errorf("tmp/ = %+v, want a 1777 directory", h)
	}
	if h := got["etc/passwd"]; h == nil || h.Size != int64(len(NonrootPasswd)) {
		t.Errorf("etc/passwd = %+v, want the nonroot passwd", h)
	}
	if _, shell := got["bin/sh"]; shell {
		t.Error("the runtime image has a shell")
	}
}

func TestGoBuilder(t *testing.T) {
	changes, write, err := GoBuilder(t.Context())
	if errors.Is(err, ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 {
		t.Error("GoBuilder() gave no image changes")
	}
	got := entries(t, write)
	for _, want := range []string{"bin/busybox", "bin/sh", "usr/local/go/bin/go", "usr/local/go/src/fmt/print.go"} {
		if got[want] == nil {
			t.Errorf("builder layer lacks %s", want)
		}
	}
	if h := got["bin/sh"]; h != nil && (h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox") {
		t.Errorf("bin/sh = %+v, want a link to busybox", h)
	}
	if got["usr/local/go/src/cmd/go/main.go"] != nil {
		t.Error("builder layer carries the cmd sources it was meant to skip")
	}
	t.Setenv("PATH", t.TempDir())
	if _, _, err := GoBuilder(t.Context()); !errors.Is(err, ErrNoBusybox) {
		t.Errorf("GoBuilder(no busybox on PATH) = %v, want ErrNoBusybox", err)
	}
}
