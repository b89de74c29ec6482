package universal

import (
	"bytes"
	"debug/buildinfo"
	"debug/macho"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// build compiles a small program for goos/goarch with the real go command.
func build(t *testing.T, dir, goos, goarch string) string {
	t.Helper()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"hi\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/hi\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, goos+"_"+goarch, "hi")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s/%s: %v\n%s", goos, goarch, err, b)
	}
	return out
}

// TestWrite joins real darwin/amd64 and darwin/arm64 binaries: debug/macho
// reads both slices back byte for byte at aligned offsets, Go's build info
// is still readable, and the order of the inputs does not change a byte.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	amd, arm := build(t, dir, "darwin", "amd64"), build(t, dir, "darwin", "arm64")
	dst := filepath.Join(dir, "hi")
	if err := Write(t.Context(), dst, arm, amd); err != nil {
		t.Fatal(err)
	}
	ff, err := macho.OpenFat(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	if len(ff.Arches) != 2 || ff.Arches[0].Cpu != macho.CpuAmd64 || ff.Arches[1].Cpu != macho.CpuArm64 {
		t.Fatalf("arches: %+v", ff.Arches)
	}
	fat, _ := os.ReadFile(dst)
	for i, p := range []string{amd, arm} {
		a := ff.Arches[i]
		want, _ := os.ReadFile(p)
		if a.Offset%(1<<a.Align) != 0 || !bytes.Equal(fat[a.Offset:a.Offset+a.Size], want) {
			t.Errorf("slice %s: offset %d align %d, bytes equal %v", a.Cpu, a.Offset, a.Align, bytes.Equal(fat[a.Offset:a.Offset+a.Size], want))
		}
	}
	if a := ff.Arches[1]; a.Align != 14 {
		t.Errorf("arm64 aligned to 2^%d, want 2^14", a.Align)
	}
	if bi, err := buildinfo.ReadFile(dst); err != nil || !strings.HasPrefix(bi.GoVersion, "go1") {
		t.Errorf("build info of the universal binary: %v, %v", bi, err)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", fi.Mode())
	}
	again := filepath.Join(dir, "again")
	if err := Write(t.Context(), again, amd, arm); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(again); !bytes.Equal(b, fat) {
		t.Error("the order of the inputs changed the output")
	}
}

func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	amd := build(t, dir, "darwin", "amd64")
	elf := build(t, dir, "linux", "amd64")
	for name, c := range map[string]struct {
		in   []string
		want string
	}{
		"one input":     {[]string{amd}, "at least two"},
		"same arch":     {[]string{amd, amd}, "are both"},
		"not Mach-O":    {[]string{amd, elf}, "not a thin Mach-O"},
		"missing input": {[]string{amd, filepath.Join(dir, "nope")}, "no such file"},
	} {
		dst := filepath.Join(dir, "out-"+strings.ReplaceAll(name, " ", "-"))
		err := Write(t.Context(), dst, c.in...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		if _, serr := os.Stat(dst); serr == nil {
			t.Errorf("%s: a refused write left %s", name, dst)
		}
	}
}
