package archive

import (
	"archive/tar"
	"archive/zip"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"github.com/hoistdev/hoist/internal/atomicfile"
	"github.com/hoistdev/hoist/internal/ctxio"
)

// Format is an archive container format. Its value is also the file
// extension without the leading dot, so it can be spliced into file names.
type Format string

const (
	// TarGz is a gzip-compressed tar archive, the convention for Linux,
	// macOS and the BSDs where tar preserves permissions natively.
	TarGz Format = "tar.gz"
	// Zip is a deflate zip archive, the convention for Windows, whose
	// built-in tooling opens zip but not tar.gz.
	Zip Format = "zip"
)

// Ext returns the file extension for f including the leading dot, for
// building archive file names.
func (f Format) Ext() string { return "." + string(f) }

// FormatFor returns the archive format users of goos expect: Zip for
// windows and TarGz for everything else.
func FormatFor(goos string) Format {
	if goos == "windows" {
		return Zip
	}
	return TarGz
}

// formatOf infers the format from dst's extension so that the common case
// needs no WithFormat.
func formatOf(dst string) (Format, bool) {
	base := strings.ToLower(filepath.Base(dst))
	switch {
	case strings.HasSuffix(base, ".tar.gz"), strings.HasSuffix(base, ".tgz"):
		return TarGz, true
	case strings.HasSuffix(base, ".zip"):
		return Zip, true
	}
	return "", false
}

// Name returns the conventional archive file name for one build target,
// so that every release names its downloads the same way GoReleaser's
// default template does:
//
//	<project>_<version>_<goos>_<goarch><variant>.<ext>
//
// A leading "v" is dropped from version ("v0.1.0" becomes "0.1.0"). The
// extension follows FormatFor(goos). The variant is the GOARM, GOAMD64,
// GO386, GOMIPS... value of the build and is rendered per architecture:
//
//   - arm: "v" plus the ARM level, so "7" or "v7" give "armv7";
//   - amd64: appended as is ("amd64v3"), except the baseline "v1" which is
//     left out so the common build keeps the plain "amd64" name;
//   - any other architecture: "_" plus the value ("mips_softfloat").
//
// For example Name("web", "v0.1.0", "linux", "arm", "7") is
// "web_0.1.0_linux_armv7.tar.gz" and Name("web", "0.1.0", "windows",
// "amd64", "") is "web_0.1.0_windows_amd64.zip".
func Name(project, version, goos, goarch, variant string) string {
	if len(version) > 1 && version[0] == 'v' && version[1] >= '0' && version[1] <= '9' {
		version = version[1:]
	}
	return project + "_" + version + "_" + goos + "_" + goarch + variantSuffix(goarch, variant) + FormatFor(goos).Ext()
}

func variantSuffix(goarch, variant string) string {
	switch {
	case variant == "":
		return ""
	case goarch == "arm":
		return "v" + strings.TrimPrefix(variant, "v")
	case goarch == "amd64":
		if variant == "v1" {
			return ""
		}
		return variant
	default:
		return "_" + variant
	}
}

// File is one file to put into an archive.
type File struct {
	// Src is the path of the file on disk. It must exist and be a regular
	// file; a missing README or LICENSE is reported, not skipped, because
	// whether it is optional is the caller's call.
	Src string
	// Name is the slash-separated path inside the archive. Empty means the
	// base name of Src.
	Name string
	// Mode sets the permission bits inside the archive. Zero means 0755 if
	// Src has any executable bit and 0644 otherwise, so that the host's
	// umask and checkout state do not leak into the archive.
	Mode fs.FileMode
}

// Option configures Write.
type Option func(*options)

type options struct {
	modTime time.Time
	format  Format
	level   int
}

// WithModTime sets the modification time stored for every entry. Release
// builds pass the commit time so that the archive changes only when the
// source does. The default, also used for the zero time.Time, is the Unix
// epoch. The time is truncated to whole seconds and must lie between 1970
// and 2106, the range of the 32-bit timestamps zip stores.
func WithModTime(t time.Time) Option {
	return func(o *options) { o.modTime = t }
}

// WithFormat forces the archive format. By default the format follows the
// destination's extension (.tar.gz, .tgz or .zip); an extension that
// disagrees with WithFormat is rejected rather than producing a file whose
// name lies about its content.
func WithFormat(f Format) Option {
	return func(o *options) { o.format = f }
}

// WithCompressionLevel sets the deflate level (1 = fastest to 9 = smallest)
// used by both gzip and zip. The level is part of what makes the bytes
// reproducible, so every run that must match has to use the same one. The
// default is 6: on Go binaries level 9 saves well under 1% of the size
// for about three times the CPU (see BenchmarkWrite).
func WithCompressionLevel(level int) Option {
	return func(o *options) { o.level = level }
}

// defaultLevel is spelled out rather than flate.DefaultCompression (-1) so
// that the level behind the reproducible bytes is visible.
const defaultLevel = 6

// maxModTime is the last second a zip extended timestamp (uint32) can hold.
var maxModTime = time.Unix(math.MaxUint32, 0)

func makeOptions(opts ...Option) (options, error) {
	o := options{level: defaultLevel}
	for _, opt := range opts {
		opt(&o)
	}
	if o.modTime.IsZero() {
		o.modTime = time.Unix(0, 0)
	}
	o.modTime = o.modTime.Truncate(time.Second).UTC()
	if o.modTime.Before(time.Unix(0, 0)) || o.modTime.After(maxModTime) {
		return o, fmt.Errorf("archive: WithModTime(%s) is outside 1970..2106, which tar and zip headers cannot both hold; pass the commit time", o.modTime.Format(time.RFC3339))
	}
	if o.level < flate.BestSpeed || o.level > flate.BestCompression {
		return o, fmt.Errorf("archive: WithCompressionLevel(%d): the level must be between %d and %d", o.level, flate.BestSpeed, flate.BestCompression)
	}
	switch o.format {
	case "", TarGz, Zip:
	default:
		return o, fmt.Errorf("archive: WithFormat(%q): unknown format; use archive.TarGz or archive.Zip", o.format)
	}
	return o, nil
}

// entry is a planned archive member: either a file read from src or a
// directory implied by a file's path.
type entry struct {
	name string // archive path; directories end in "/"
	src  string
	mode fs.FileMode
	dir  bool
}

// Write packs files into a new archive at dst, replacing any existing file
// only once the new archive is complete. The format follows dst's
// extension unless WithFormat is given. Entries are stored sorted by name,
// with a directory entry for each parent directory a name implies. The
// destination's directory is created if needed.
func Write(ctx context.Context, dst string, files []File, opts ...Option) error {
	o, err := makeOptions(opts...)
	if err != nil {
		return err
	}
	ext, known := formatOf(dst)
	switch {
	case o.format == "" && !known:
		return fmt.Errorf("archive %s: cannot tell the format from the file name; end it in .tar.gz or .zip, or pass archive.WithFormat", dst)
	case o.format == "":
		o.format = ext
	case known && ext != o.format:
		return fmt.Errorf("archive %s: the name says %s but WithFormat asks for %s; make the extension match (see archive.Name)", dst, ext, o.format)
	}
	entries, err := plan(dst, files)
	if err != nil {
		return err
	}
	if err := atomicfile.Replace(ctx, dst, 0o644, func(w io.Writer) error {
		if o.format == Zip {
			return writeZip(ctx, w, entries, o)
		}
		return writeTarGz(ctx, w, entries, o)
	}); err != nil {
		return fmt.Errorf("archive %s: %w", dst, err)
	}
	return nil
}

// plan validates the file list up front, before anything is written, so
// that a bad list fails fast and leaves no temporary file behind.
func plan(dst string, files []File) ([]entry, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("archive %s: no files given; pass at least the binary", dst)
	}
	byName := make(map[string]entry, len(files))
	dirs := make(map[string]bool)
	for _, f := range files {
		if f.Src == "" {
			return nil, fmt.Errorf("archive %s: a File has an empty Src; set it to the path of the file to pack", dst)
		}
		name := f.Name
		if name == "" {
			name = filepath.Base(f.Src)
		}
		if !fs.ValidPath(name) || name == "." || strings.Contains(name, `\`) {
			return nil, fmt.Errorf("archive %s: entry name %q (from %s) is not a clean relative path; use slash-separated names without leading \"/\", \".\" or \"..\" elements", dst, name, f.Src)
		}
		if prev, dup := byName[name]; dup {
			return nil, fmt.Errorf("archive %s: entry %q is listed twice (from %s and %s); give one of them another Name", dst, name, prev.src, f.Src)
		}
		st, err := os.Stat(f.Src)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("archive %s: %s (entry %q) does not exist; create it or leave it out of the file list", dst, f.Src, name)
		}
		if err != nil {
			return nil, fmt.Errorf("archive %s: stat %s: %w", dst, f.Src, err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("archive %s: %s (entry %q) is a %s, not a regular file; list the files themselves", dst, f.Src, name, kind(st.Mode()))
		}
		mode := f.Mode.Perm()
		if mode == 0 {
			mode = 0o644
			if st.Mode()&0o111 != 0 {
				mode = 0o755
			}
		}
		byName[name] = entry{name: name, src: f.Src, mode: mode}
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	entries := make([]entry, 0, len(byName)+len(dirs))
	for d := range dirs {
		if e, clash := byName[d]; clash {
			return nil, fmt.Errorf("archive %s: %q is a file (from %s) but other entries use it as a directory; rename one of them", dst, d, e.src)
		}
		entries = append(entries, entry{name: d + "/", mode: 0o755, dir: true})
	}
	for _, e := range byName {
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.name, b.name) })
	return entries, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	default:
		return "special file"
	}
}

func writeTarGz(ctx context.Context, w io.Writer, entries []entry, o options) error {
	// A fresh gzip.Writer has an empty name and a fixed OS byte; the mtime
	// field is set to 0 explicitly, since this writer stores ModTime.Unix()
	// even for the zero time.
	gz, err := gzip.NewWriterLevel(w, o.level)
	if err != nil {
		return err
	}
	gz.ModTime = time.Unix(0, 0)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    int64(e.mode),
			ModTime: o.modTime,
			Format:  tar.FormatPAX,
		}
		if e.dir {
			hdr.Typeflag = tar.TypeDir
			if err := tw.WriteHeader(hdr); err != nil {
				return fmt.Errorf("write tar header for %s: %w", e.name, err)
			}
			continue
		}
		hdr.Typeflag = tar.TypeReg
		if err := copyEntry(ctx, e, func(size int64) (io.Writer, error) {
			hdr.Size = size
			return tw, tw.WriteHeader(hdr)
		}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("finish gzip: %w", err)
	}
	return nil
}

func writeZip(ctx context.Context, w io.Writer, entries []entry, o options) error {
	zw := zip.NewWriter(w)
	// Pin the level: archive/zip's built-in deflater level is an
	// implementation detail that could change between Go releases.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, o.level)
	})
	date, clock := msDosTime(o.modTime)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		fh := &zip.FileHeader{
			Name:         e.name,
			Method:       zip.Deflate,
			ModifiedDate: date,
			ModifiedTime: clock,
			Extra:        unixTimeExtra(o.modTime),
		}
		mode := e.mode
		if e.dir {
			fh.Method = zip.Store
			mode |= fs.ModeDir
		}
		// SetMode records a Unix creator and the mode in the external
		// attributes, which is what makes unzip restore the +x bit.
		fh.SetMode(mode)
		if e.dir {
			if _, err := zw.CreateHeader(fh); err != nil {
				return fmt.Errorf("write zip header for %s: %w", e.name, err)
			}
			continue
		}
		if err := copyEntry(ctx, e, func(int64) (io.Writer, error) {
			return zw.CreateHeader(fh)
		}); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finish zip: %w", err)
	}
	return nil
}

// copyEntry streams one source file into the archive. The size handed to
// open comes from the opened file, not from the earlier plan, so a file
// that changed in between is still described truthfully.
func copyEntry(ctx context.Context, e entry, open func(size int64) (io.Writer, error)) error {
	f, err := os.Open(e.src)
	if err != nil {
		return fmt.Errorf("open %s: %w", e.src, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", e.src, err)
	}
	w, err := open(st.Size())
	if err != nil {
		return fmt.Errorf("write header for %s: %w", e.name, err)
	}
	if _, err := io.Copy(w, ctxio.Reader{Ctx: ctx, R: f}); err != nil {
		return fmt.Errorf("pack %s as %s: %w", e.src, e.name, err)
	}
	return nil
}

// msDosTime converts t to the MS-DOS date and time fields of a zip
// header. That encoding starts in 1980, so earlier times (the epoch
// default included) are clamped to 1980-01-01; the exact time travels in
// the extended timestamp field instead.
func msDosTime(t time.Time) (date, clock uint16) {
	t = t.UTC()
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	date = uint16(t.Day() | int(t.Month())<<5 | (t.Year()-1980)<<9)
	clock = uint16(t.Second()/2 | t.Minute()<<5 | t.Hour()<<11)
	return date, clock
}

// unixTimeExtra builds the Info-ZIP "UT" extra field carrying the
// modification time as Unix seconds, which unzip and archive/zip prefer
// over the coarse, timezone-less MS-DOS fields.
func unixTimeExtra(t time.Time) []byte {
	b := make([]byte, 9)
	binary.LittleEndian.PutUint16(b[0:], 0x5455) // header ID "UT"
	binary.LittleEndian.PutUint16(b[2:], 5)      // data size
	b[4] = 1                                     // flags: modification time present
	binary.LittleEndian.PutUint32(b[5:], uint32(t.Unix()))
	return b
}
