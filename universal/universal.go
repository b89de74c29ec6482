// Package universal joins Mach-O executables built for different
// architectures into one universal ("fat") binary, which macOS runs
// natively on each of them, as Apple's lipo does, in Go: a big-endian
// header lists each architecture with the offset, size and alignment of
// its slice, and the slices follow, each at an offset aligned to its
// page size. The output depends only on the inputs, so it is as
// reproducible as they are; debug/macho and debug/buildinfo read it.
package universal

import (
	"bytes"
	"cmp"
	"context"
	"debug/macho"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"

	"github.com/hoistdev/hoist/internal/atomicfile"
)

// fatMagic starts a universal binary (FAT_MAGIC, big-endian).
const fatMagic = 0xcafebabe

// slice is one architecture's executable inside the universal binary.
type slice struct {
	path   string
	cpu    macho.Cpu
	subcpu uint32
	size   int64
	align  uint32 // log2 of the alignment
}

// Write joins the thin Mach-O executables at paths into the universal
// binary dst (mode 0755), ordered by CPU type so that the order of paths
// does not matter. Each input must be a thin Mach-O file of its own CPU
// type.
func Write(ctx context.Context, dst string, paths ...string) error {
	if len(paths) < 2 {
		return fmt.Errorf("universal binary %s: give at least two architectures, got %d", dst, len(paths))
	}
	var thin []slice
	for _, p := range paths {
		s, err := inspect(p)
		if err != nil {
			return fmt.Errorf("universal binary %s: %w", dst, err)
		}
		for _, o := range thin {
			if o.cpu == s.cpu {
				return fmt.Errorf("universal binary %s: %s and %s are both %s", dst, o.path, s.path, s.cpu)
			}
		}
		thin = append(thin, s)
	}
	slices.SortFunc(thin, func(a, b slice) int { return cmp.Compare(a.cpu, b.cpu) })

	// The header, then each slice at its aligned offset.
	var hdr bytes.Buffer
	put := func(v uint32) { _ = binary.Write(&hdr, binary.BigEndian, v) }
	put(fatMagic)
	put(uint32(len(thin)))
	offset := int64(8 + 20*len(thin))
	offsets := make([]int64, len(thin))
	for i, s := range thin {
		a := int64(1) << s.align
		offset = (offset + a - 1) / a * a
		offsets[i] = offset
		if offset+s.size > math.MaxUint32 {
			return fmt.Errorf("universal binary %s: over 4 GiB, which the 32-bit header cannot address", dst)
		}
		put(uint32(s.cpu))
		put(s.subcpu)
		put(uint32(offset))
		put(uint32(s.size))
		put(s.align)
		offset += s.size
	}
	return atomicfile.Replace(ctx, dst, 0o755, func(w io.Writer) error {
		if _, err := w.Write(hdr.Bytes()); err != nil {
			return err
		}
		at := int64(hdr.Len())
		for i, s := range thin {
			if err := ctx.Err(); err != nil {
				return err
			}
			if pad := offsets[i] - at; pad > 0 {
				if _, err := w.Write(make([]byte, pad)); err != nil {
					return err
				}
			}
			f, err := os.Open(s.path)
			if err != nil {
				return err
			}
			n, err := io.Copy(w, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("copy %s: %w", s.path, err)
			}
			if n != s.size {
				return fmt.Errorf("%s changed size while it was copied", s.path)
			}
			at = offsets[i] + n
		}
		return nil
	})
}

// inspect reads what the header needs from one thin executable.
func inspect(path string) (slice, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return slice{}, err
	}
	if !fi.Mode().IsRegular() {
		return slice{}, &fs.PathError{Op: "open", Path: path, Err: errors.New("not a regular file")}
	}
	f, err := macho.Open(path)
	if err != nil {
		var fe *macho.FormatError
		if errors.As(err, &fe) {
			return slice{}, fmt.Errorf("%s is not a thin Mach-O executable (a darwin binary): %w", path, err)
		}
		return slice{}, err
	}
	defer f.Close()
	s := slice{path: path, cpu: f.Cpu, subcpu: f.SubCpu, size: fi.Size(), align: 12}
	if f.Cpu == macho.CpuArm64 {
		s.align = 14 // 16 KiB pages
	}
	return s, nil
}
