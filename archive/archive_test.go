package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// commitTime stands in for a release's commit time: after 1980 so that
// zip's MS-DOS fields can hold it exactly.
var commitTime = time.Date(2024, 5, 17, 13, 45, 10, 0, time.UTC)

// release lays out what go:build leaves behind plus the docs that ship with
// it, with deliberately untidy permissions so normalisation is visible.
type release struct {
	bin, readme, license string
}

func newRelease(t testing.TB, dir string) release {
	t.Helper()
	r := release{
		bin:     filepath.Join(dir, "web"),
		readme:  filepath.Join(dir, "README.md"),
		license: filepath.Join(dir, "LICENSE"),
	}
	writeFile(t, r.bin, "\x7fELF pretend binary\n", 0o700)
	writeFile(t, r.readme, "# web\n", 0o664)
	writeFile(t, r.license, "MIT\n", 0o600)
	return r
}

func (r release) files() []File {
	return []File{{Src: r.bin}, {Src: r.readme}, {Src: r.license}}
}

func writeFile(t testing.TB, name, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode passes through the umask; set it exactly.
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		name                                    string
		project, version, goos, goarch, variant string
		want                                    string
	}{
		{name: "linux amd64", project: "web", version: "0.1.0", goos: "linux", goarch: "amd64", want: "web_0.1.0_linux_amd64.tar.gz"},
		{name: "v prefix dropped", project: "web", version: "v0.1.0", goos: "darwin", goarch: "arm64", want: "web_0.1.0_darwin_arm64.tar.gz"},
		{name: "non-numeric v kept", project: "web", version: "vnext", goos: "linux", goarch: "amd64", want: "web_vnext_linux_amd64.tar.gz"},
		{name: "windows zip", project: "web", version: "0.1.0", goos: "windows", goarch: "amd64", want: "web_0.1.0_windows_amd64.zip"},
		{name: "arm level digit", project: "web", version: "0.1.0", goos: "linux", goarch: "arm", variant: "7", want: "web_0.1.0_linux_armv7.tar.gz"},
		{name: "arm level with v", project: "web", version: "0.1.0", goos: "linux", goarch: "arm", variant: "v6", want: "web_0.1.0_linux_armv6.tar.gz"},
		{name: "amd64 baseline omitted", project: "web", version: "0.1.0", goos: "linux", goarch: "amd64", variant: "v1", want: "web_0.1.0_linux_amd64.tar.gz"},
		{name: "amd64 v3", project: "web", version: "0.1.0", goos: "linux", goarch: "amd64", variant: "v3", want: "web_0.1.0_linux_amd64v3.tar.gz"},
		{name: "mips softfloat", project: "web", version: "0.1.0", goos: "linux", goarch: "mips", variant: "softfloat", want: "web_0.1.0_linux_mips_softfloat.tar.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Name(tt.project, tt.version, tt.goos, tt.goarch, tt.variant); got != tt.want {
				t.Errorf("Name(%q, %q, %q, %q, %q) = %q, want %q", tt.project, tt.version, tt.goos, tt.goarch, tt.variant, got, tt.want)
			}
		})
	}
}

func TestFormatFor(t *testing.T) {
	tests := []struct {
		name, goos string
		want       Format
		wantExt    string
	}{
		{name: "linux", goos: "linux", want: TarGz, wantExt: ".tar.gz"},
		{name: "darwin", goos: "darwin", want: TarGz, wantExt: ".tar.gz"},
		{name: "freebsd", goos: "freebsd", want: TarGz, wantExt: ".tar.gz"},
		{name: "windows", goos: "windows", want: Zip, wantExt: ".zip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FormatFor(tt.goos)
			if got != tt.want {
				t.Errorf("FormatFor(%q) = %q, want %q", tt.goos, got, tt.want)
			}
			if got.Ext() != tt.wantExt {
				t.Errorf("FormatFor(%q).Ext() = %q, want %q", tt.goos, got.Ext(), tt.wantExt)
			}
		})
	}
}

func TestWriteReproducible(t *testing.T) {
	for _, ext := range []string{".tar.gz", ".zip"} {
		t.Run(ext, func(t *testing.T) {
			out := t.TempDir()
			r1 := newRelease(t, t.TempDir())
			// The second tree differs in everything the archive must not
			// depend on: file order, source mtimes and source permissions.
			r2 := newRelease(t, t.TempDir())
			for _, f := range []string{r2.bin, r2.readme, r2.license} {
				if err := os.Chtimes(f, time.Now(), time.Now().Add(-time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(r2.bin, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(r2.license, 0o644); err != nil {
				t.Fatal(err)
			}
			reversed := r2.files()
			reversed[0], reversed[2] = reversed[2], reversed[0]

			a := filepath.Join(out, "a"+ext)
			b := filepath.Join(out, "b"+ext)
			if err := Write(t.Context(), a, r1.files(), WithModTime(commitTime)); err != nil {
				t.Fatalf("Write(%s) = %v, want nil", a, err)
			}
			if err := Write(t.Context(), b, reversed, WithModTime(commitTime)); err != nil {
				t.Fatalf("Write(%s) = %v, want nil", b, err)
			}
			ab, bb := readAll(t, a), readAll(t, b)
			if !bytes.Equal(ab, bb) {
				t.Errorf("Write twice: archives differ (%d vs %d bytes), want identical bytes", len(ab), len(bb))
			}
			st, err := os.Stat(a)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o644 {
				t.Errorf("Write(%s) file mode = %v, want 0644", a, st.Mode().Perm())
			}
			assertNoTemp(t, out)
		})
	}
}

// member is what a test asserts about one archive entry.
type member struct {
	Name    string
	Dir     bool
	Mode    fs.FileMode
	ModTime time.Time
	Body    string
}

func TestWriteTarGzContents(t *testing.T) {
	r := newRelease(t, t.TempDir())
	longName := strings.Repeat("d", 60) + "/" + strings.Repeat("n", 60) + ".txt"
	files := append(r.files(),
		File{Src: r.readme, Name: "docs/guide/README.md", Mode: 0o600},
		File{Src: r.license, Name: longName},
	)
	dst := filepath.Join(t.TempDir(), "web_0.1.0_linux_amd64.tar.gz")
	if err := Write(t.Context(), dst, files, WithModTime(commitTime.Add(400*time.Millisecond))); err != nil {
		t.Fatalf("Write(%s) = %v, want nil", dst, err)
	}

	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("gzip.NewReader(%s) = %v", dst, err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() || gz.Comment != "" || gz.Extra != nil {
		t.Errorf("gzip header = name %q, mtime %v, comment %q, extra %x; want all empty", gz.Name, gz.ModTime, gz.Comment, gz.Extra)
	}

	var got []member
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("tar.Next() = %v", err)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("tar header %s owner = %d:%d %q:%q, want 0:0 with empty names", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname)
		}
		if hdr.Format&(tar.FormatPAX|tar.FormatUSTAR) == 0 {
			t.Errorf("tar header %s format = %v, want PAX/USTAR", hdr.Name, hdr.Format)
		}
		if !hdr.AccessTime.IsZero() || !hdr.ChangeTime.IsZero() {
			t.Errorf("tar header %s atime/ctime = %v/%v, want unset", hdr.Name, hdr.AccessTime, hdr.ChangeTime)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, member{
			Name:    hdr.Name,
			Dir:     hdr.Typeflag == tar.TypeDir,
			Mode:    fs.FileMode(hdr.Mode),
			ModTime: hdr.ModTime.UTC(),
			Body:    string(body),
		})
	}
	want := expectedMembers(longName)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tar entries of Write(%s) mismatch (-want +got):\n%s", dst, diff)
	}
}

func TestWriteZipContents(t *testing.T) {
	r := newRelease(t, t.TempDir())
	longName := strings.Repeat("d", 60) + "/" + strings.Repeat("n", 60) + ".txt"
	files := append(r.files(),
		File{Src: r.readme, Name: "docs/guide/README.md", Mode: 0o600},
		File{Src: r.license, Name: longName},
	)
	dst := filepath.Join(t.TempDir(), "web_0.1.0_windows_amd64.zip")
	if err := Write(t.Context(), dst, files, WithModTime(commitTime)); err != nil {
		t.Fatalf("Write(%s) = %v, want nil", dst, err)
	}
	zr, err := zip.OpenReader(dst)
	if err != nil {
		t.Fatalf("zip.OpenReader(%s) = %v", dst, err)
	}
	defer zr.Close()
	var got []member
	for _, f := range zr.File {
		if f.CreatorVersion>>8 != 3 {
			t.Errorf("zip entry %s creator = %d, want 3 (Unix) so modes are honoured", f.Name, f.CreatorVersion>>8)
		}
		wantMethod := zip.Deflate
		if f.Mode().IsDir() {
			wantMethod = zip.Store
		}
		if f.Method != wantMethod {
			t.Errorf("zip entry %s method = %d, want %d", f.Name, f.Method, wantMethod)
		}
		if d, c := msDosTime(commitTime); f.ModifiedDate != d || f.ModifiedTime != c {
			t.Errorf("zip entry %s MS-DOS time = %d/%d, want %d/%d", f.Name, f.ModifiedDate, f.ModifiedTime, d, c)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read zip entry %s: %v", f.Name, err)
		}
		got = append(got, member{
			Name:    f.Name,
			Dir:     f.Mode().IsDir(),
			Mode:    f.Mode().Perm(),
			ModTime: f.Modified.UTC(),
			Body:    string(body),
		})
	}
	if diff := cmp.Diff(expectedMembers(longName), got); diff != "" {
		t.Errorf("zip entries of Write(%s) mismatch (-want +got):\n%s", dst, diff)
	}
}

// expectedMembers is the sorted listing both formats must produce for the
// files used in the contents tests, at commitTime.
func expectedMembers(longName string) []member {
	dir := func(name string) member {
		return member{Name: name, Dir: true, Mode: 0o755, ModTime: commitTime}
	}
	file := func(name string, mode fs.FileMode, body string) member {
		return member{Name: name, Mode: mode, ModTime: commitTime, Body: body}
	}
	return []member{
		file("LICENSE", 0o644, "MIT\n"),
		file("README.md", 0o644, "# web\n"),
		dir(strings.Repeat("d", 60) + "/"),
		file(longName, 0o644, "MIT\n"),
		dir("docs/"),
		dir("docs/guide/"),
		file("docs/guide/README.md", 0o600, "# web\n"),
		file("web", 0o755, "\x7fELF pretend binary\n"),
	}
}

func TestWriteZipEpochDefault(t *testing.T) {
	r := newRelease(t, t.TempDir())
	dst := filepath.Join(t.TempDir(), "w.zip")
	if err := Write(t.Context(), dst, r.files()); err != nil {
		t.Fatalf("Write(%s) = %v, want nil", dst, err)
	}
	zr, err := zip.OpenReader(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	wantDate, wantClock := uint16(1<<5|1), uint16(0) // 1980-01-01 00:00:00
	for _, f := range zr.File {
		if !f.Modified.Equal(time.Unix(0, 0)) {
			t.Errorf("zip entry %s Modified = %v, want the Unix epoch", f.Name, f.Modified)
		}
		if f.ModifiedDate != wantDate || f.ModifiedTime != wantClock {
			t.Errorf("zip entry %s MS-DOS time = %d/%d, want %d/%d (clamped to 1980-01-01)", f.Name, f.ModifiedDate, f.ModifiedTime, wantDate, wantClock)
		}
	}
}

func TestWriteExtractTar(t *testing.T) {
	tarPath, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("tar not installed")
	}
	r := newRelease(t, t.TempDir())
	dst := filepath.Join(t.TempDir(), "web.tar.gz")
	if err := Write(t.Context(), dst, r.files(), WithModTime(commitTime)); err != nil {
		t.Fatalf("Write(%s) = %v, want nil", dst, err)
	}
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), tarPath, "-xzf", dst, "-C", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar -xzf %s = %v: %s", dst, err, b)
	}
	assertExtracted(t, out)
}

func TestWriteExtractUnzip(t *testing.T) {
	unzip, err := exec.LookPath("unzip")
	if err != nil {
		t.Skip("unzip not installed")
	}
	r := newRelease(t, t.TempDir())
	dst := filepath.Join(t.TempDir(), "web.zip")
	if err := Write(t.Context(), dst, r.files(), WithModTime(commitTime)); err != nil {
		t.Fatalf("Write(%s) = %v, want nil", dst, err)
	}
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), unzip, "-q", dst, "-d", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("unzip %s = %v: %s", dst, err, b)
	}
	assertExtracted(t, out)
}

func assertExtracted(t *testing.T, dir string) {
	t.Helper()
	tests := []struct {
		name string
		mode fs.FileMode
		body string
	}{
		{name: "web", mode: 0o755, body: "\x7fELF pretend binary\n"},
		{name: "README.md", mode: 0o644, body: "# web\n"},
		{name: "LICENSE", mode: 0o644, body: "MIT\n"},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, tt.name)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("extracted %s: %v", tt.name, err)
			continue
		}
		if st.Mode().Perm() != tt.mode {
			t.Errorf("extracted %s mode = %v, want %v", tt.name, st.Mode().Perm(), tt.mode)
		}
		if !st.ModTime().Equal(commitTime) {
			t.Errorf("extracted %s mtime = %v, want %v", tt.name, st.ModTime().UTC(), commitTime)
		}
		if got := string(readAll(t, p)); got != tt.body {
			t.Errorf("extracted %s content = %q, want %q", tt.name, got, tt.body)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	src := t.TempDir()
	r := newRelease(t, src)
	tests := []struct {
		name    string
		dst     string
		files   []File
		opts    []Option
		wantErr string
	}{
		{name: "missing src", dst: "a.tar.gz", files: []File{{Src: r.bin}, {Src: filepath.Join(src, "NOTICE")}}, wantErr: "NOTICE (entry \"NOTICE\") does not exist; create it or leave it out"},
		{name: "missing src zip", dst: "a.zip", files: []File{{Src: filepath.Join(src, "nope.exe")}}, wantErr: "does not exist"},
		{name: "empty src", dst: "a.tar.gz", files: []File{{Name: "x"}}, wantErr: "empty Src"},
		{name: "directory src", dst: "a.tar.gz", files: []File{{Src: src, Name: "d"}}, wantErr: "is a directory, not a regular file"},
		{name: "no files", dst: "a.tar.gz", wantErr: "no files given"},
		{name: "absolute name", dst: "a.tar.gz", files: []File{{Src: r.bin, Name: "/usr/bin/web"}}, wantErr: "not a clean relative path"},
		{name: "dotdot name", dst: "a.tar.gz", files: []File{{Src: r.bin, Name: "../web"}}, wantErr: "not a clean relative path"},
		{name: "backslash name", dst: "a.zip", files: []File{{Src: r.bin, Name: `bin\web.exe`}}, wantErr: "not a clean relative path"},
		{name: "duplicate", dst: "a.tar.gz", files: []File{{Src: r.bin}, {Src: r.readme, Name: "web"}}, wantErr: "listed twice"},
		{name: "file used as dir", dst: "a.tar.gz", files: []File{{Src: r.bin, Name: "docs"}, {Src: r.readme, Name: "docs/README.md"}}, wantErr: "other entries use it as a directory"},
		{name: "unknown extension", dst: "a.rar", files: r.files(), wantErr: "end it in .tar.gz or .zip"},
		{name: "extension conflict", dst: "a.zip", files: r.files(), opts: []Option{WithFormat(TarGz)}, wantErr: "the name says zip but WithFormat asks for tar.gz"},
		{name: "unknown format", dst: "a.zip", files: r.files(), opts: []Option{WithFormat("rar")}, wantErr: "unknown format"},
		{name: "level too high", dst: "a.zip", files: r.files(), opts: []Option{WithCompressionLevel(10)}, wantErr: "between 1 and 9"},
		{name: "level zero", dst: "a.tar.gz", files: r.files(), opts: []Option{WithCompressionLevel(0)}, wantErr: "between 1 and 9"},
		{name: "time before epoch", dst: "a.tar.gz", files: r.files(), opts: []Option{WithModTime(time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC))}, wantErr: "outside 1970..2106"},
		{name: "time after 2106", dst: "a.tar.gz", files: r.files(), opts: []Option{WithModTime(time.Date(2107, 1, 1, 0, 0, 0, 0, time.UTC))}, wantErr: "outside 1970..2106"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			dst := filepath.Join(out, tt.dst)
			err := Write(t.Context(), dst, tt.files, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Write(%s) = %v, want error containing %q", tt.dst, err, tt.wantErr)
			}
			if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after failed Write(%s), stat = %v, want not exist", tt.dst, err)
			}
			assertNoTemp(t, out)
		})
	}
}

func TestWriteCancelled(t *testing.T) {
	r := newRelease(t, t.TempDir())
	for _, ext := range []string{".tar.gz", ".zip"} {
		t.Run(ext, func(t *testing.T) {
			out := t.TempDir()
			dst := filepath.Join(out, "web"+ext)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			err := Write(ctx, dst, r.files())
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Write(cancelled ctx, %s) = %v, want context.Canceled", dst, err)
			}
			if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after cancelled Write, stat(%s) = %v, want not exist", dst, err)
			}
			assertNoTemp(t, out)
		})
	}
}

func TestWriteReplacesExisting(t *testing.T) {
	r := newRelease(t, t.TempDir())
	out := filepath.Join(t.TempDir(), "nested", "dist")
	dst := filepath.Join(out, "web.bin")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, "stale", 0o600)
	if err := Write(t.Context(), dst, r.files(), WithFormat(Zip)); err != nil {
		t.Fatalf("Write(%s, WithFormat(Zip)) = %v, want nil", dst, err)
	}
	zr, err := zip.OpenReader(dst)
	if err != nil {
		t.Fatalf("zip.OpenReader(%s) = %v, want a zip despite the .bin name", dst, err)
	}
	defer zr.Close()
	if len(zr.File) != 3 {
		t.Errorf("zip.OpenReader(%s) has %d entries, want 3", dst, len(zr.File))
	}
	st, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("replaced archive mode = %v, want 0644", st.Mode().Perm())
	}
	assertNoTemp(t, out)
}

func TestWriteCreatesDirAndTgz(t *testing.T) {
	r := newRelease(t, t.TempDir())
	dst := filepath.Join(t.TempDir(), "a", "b", "web.tgz")
	if err := Write(t.Context(), dst, []File{{Src: r.bin, Name: "bin/web"}}, WithCompressionLevel(1)); err != nil {
		t.Fatalf("Write(%s) = %v, want nil", dst, err)
	}
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("gzip.NewReader(%s) = %v, want a gzip stream for .tgz", dst, err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
	}
	if want := []string{"bin/", "bin/web"}; !cmp.Equal(names, want) {
		t.Errorf("entries of %s = %q, want %q", dst, names, want)
	}
}

func TestMsDosTime(t *testing.T) {
	tests := []struct {
		name      string
		in        time.Time
		wantDate  uint16
		wantClock uint16
	}{
		{name: "commit time", in: commitTime, wantDate: 17 | 5<<5 | 44<<9, wantClock: 5 | 45<<5 | 13<<11},
		{name: "epoch clamps", in: time.Unix(0, 0), wantDate: 1 | 1<<5, wantClock: 0},
		{name: "zone converted to UTC", in: commitTime.In(time.FixedZone("x", 3600)), wantDate: 17 | 5<<5 | 44<<9, wantClock: 5 | 45<<5 | 13<<11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, c := msDosTime(tt.in)
			if d != tt.wantDate || c != tt.wantClock {
				t.Errorf("msDosTime(%v) = %d, %d, want %d, %d", tt.in, d, c, tt.wantDate, tt.wantClock)
			}
		})
	}
}

func readAll(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertNoTemp checks that no temporary archive was left in dir.
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

// BenchmarkWrite packs an 8 MiB binary-like file. The bytes come from the
// test binary itself, repeated, so the compressor sees real machine code
// rather than incompressible noise or trivially repetitive data.
func BenchmarkWrite(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	code, err := os.ReadFile(exe)
	if err != nil {
		b.Fatal(err)
	}
	const size = 8 << 20
	data := make([]byte, 0, size)
	for len(data) < size {
		data = append(data, code[:min(len(code), size-len(data))]...)
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "web")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		ext   string
		level int
	}{
		{name: "tar.gz/best", ext: ".tar.gz", level: 9},
		{name: "tar.gz/default", ext: ".tar.gz", level: 6},
		{name: "zip/best", ext: ".zip", level: 9},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := filepath.Join(dir, "out"+bc.ext)
			b.SetBytes(size)
			for b.Loop() {
				if err := Write(b.Context(), dst, []File{{Src: bin}}, WithCompressionLevel(bc.level)); err != nil {
					b.Fatal(err)
				}
			}
			st, err := os.Stat(dst)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Size())/size, "ratio")
		})
	}
}

func TestWriteRenameFailureLeavesNoTemp(t *testing.T) {
	r := newRelease(t, t.TempDir())
	out := t.TempDir()
	// A non-empty directory in the way makes the final rename fail for real.
	dst := filepath.Join(out, "web.tar.gz")
	if err := os.MkdirAll(filepath.Join(dst, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Write(t.Context(), dst, r.files())
	if err == nil || !strings.Contains(err.Error(), "rename into place") {
		t.Fatalf("Write(%s over a directory) = %v, want a rename error", dst, err)
	}
	assertNoTemp(t, out)
}
