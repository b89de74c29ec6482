package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/hoistdev/hoist/internal/atomicfile"
)

// recordFormat changes whenever the key below stops meaning the same bytes,
// so an upgraded hoist does not trust an older record.
const recordFormat = 3

// LayoutOptions says where BuildLayout writes the index and how it decides
// that an earlier build is still good.
type LayoutOptions struct {
	// Dir is the OCI layout directory, such as dist/image. Required.
	Dir string
	// RefName names the index in the layout, usually the version. Required.
	RefName string
	// Record is the skip record's path, such as dist/.hoist/image.json.
	// Default: "", always build.
	Record string
	// Extra is more input the record keys on, such as the tarballs the
	// caller writes from the result. Default: none.
	Extra []string
	// Force builds even when the record matches. Default: false.
	Force bool
	// DryRun only decides whether a build is needed, and why. Default:
	// false.
	DryRun bool
}

// Layout is what BuildLayout produced, or found still in place.
type Layout struct {
	// Digest is the index digest; empty in a dry run that would build.
	Digest string
	// Skipped is true when the inputs matched the record and the layout
	// still holds that index.
	Skipped bool
	// Reason says why the index was (or would be) built, or that it is up
	// to date.
	Reason string
	// Result is the index built; nil when skipped or in a dry run.
	Result *Result
}

// record is saved at LayoutOptions.Record after each build. The parts let a
// rebuild say which input changed.
type record struct {
	Format   int    `json:"format"`
	Key      string `json:"key"`
	Digest   string `json:"digest"`
	Binaries string `json:"binaries"`
	Config   string `json:"config"`
	Files    string `json:"files"`
	Base     string `json:"base"`
	Extra    string `json:"extra"`
}

// BuildLayout builds the index of bins with cfg and writes it to lo.Dir
// under lo.RefName, unless lo.Record shows that the same inputs produced
// the index the layout still holds. The inputs are the binaries' bytes,
// cfg, the contents of cfg.Files, lo.Extra and the base: the built-in base
// is keyed on the CA bundle version linked into this program, a base pinned
// by digest on that digest, and a base named by tag or OCI layout is never
// trusted, since its content can change under the same name.
func BuildLayout(ctx context.Context, bins []Binary, cfg Config, lo LayoutOptions, opts ...Option) (*Layout, error) {
	if lo.Dir == "" || lo.RefName == "" {
		return nil, errors.New("build image layout: no layout directory or ref name given")
	}
	now, err := inputs(bins, cfg, lo.Extra)
	if err != nil {
		return nil, err
	}
	prev, prevErr := readRecord(lo.Record)
	reason := ""
	switch {
	case lo.Record == "":
		reason = "no skip record kept"
	case lo.Force:
		reason = "forced"
	case now.Base == "":
		reason = fmt.Sprintf("base %s is not pinned by digest, so it is read again", cfg.Base)
	case errors.Is(prevErr, fs.ErrNotExist):
		reason = "no previous build"
	case prevErr != nil:
		reason = "previous build record unreadable"
	default:
		reason = now.changed(prev)
		if reason == "" && !layoutHolds(ctx, lo.Dir, lo.RefName, prev.Digest) {
			reason = fmt.Sprintf("%s no longer holds index %s", lo.Dir, prev.Digest)
		}
	}
	if reason == "" {
		return &Layout{Digest: prev.Digest, Skipped: true, Reason: fmt.Sprintf("up to date (index %s; binaries, config and version unchanged)", prev.Digest)}, nil
	}
	if lo.DryRun {
		return &Layout{Reason: reason}, nil
	}
	res, err := Build(ctx, bins, cfg, opts...)
	if err != nil {
		return nil, err
	}
	if err := WriteLayout(ctx, lo.Dir, res, lo.RefName); err != nil {
		return nil, err
	}
	out := &Layout{Digest: res.Digest.String(), Reason: reason, Result: res}
	if lo.Record != "" && now.Base != "" {
		now.Digest = out.Digest
		if err := writeRecord(ctx, lo.Record, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// layoutHolds reports whether the layout on disk still has the index.
func layoutHolds(ctx context.Context, dir, ref, digest string) bool {
	idx, err := ReadLayout(ctx, dir, ref)
	if err != nil {
		return false
	}
	d, err := idx.Digest()
	return err == nil && d.String() == digest
}

// LayoutHolds reports whether the OCI layout dir holds, under ref, the
// index with the given digest, such as the one an earlier image:build
// recorded.
func LayoutHolds(ctx context.Context, dir, ref, digest string) bool {
	return layoutHolds(ctx, dir, ref, digest)
}

// inputs hashes everything an index is made of. Base is "" when the base
// cannot be keyed.
func inputs(bins []Binary, cfg Config, extra []string) (record, error) {
	r := record{Format: recordFormat}
	switch {
	case cfg.Base == "":
		r.Base = "builtin " + CABundleVersion()
	case strings.Contains(cfg.Base, "@sha256:"):
		r.Base = cfg.Base
	}
	h := sha256.New()
	for _, b := range bins {
		sum, err := fileSum(b.Path)
		if err != nil {
			return r, fmt.Errorf("binary for %s missing: run go:build first: %w", platformString(b.Platform), err)
		}
		fmt.Fprintf(h, "%s %s %s\n", b.Name, platformString(b.Platform), sum)
	}
	r.Binaries = hex.EncodeToString(h.Sum(nil))
	data, err := json.Marshal(cfg)
	if err != nil {
		return r, fmt.Errorf("image key: %w", err)
	}
	r.Config = digestOf(data)
	if r.Files, err = filesDigest(cfg.Files); err != nil {
		return r, err
	}
	data, _ = json.Marshal(extra)
	r.Extra = digestOf(data)
	data, _ = json.Marshal([]any{r.Format, r.Binaries, r.Config, r.Files, r.Base, r.Extra})
	r.Key = digestOf(data)
	return r, nil
}

// changed names the first input that differs from prev, or "".
func (r record) changed(prev record) string {
	switch {
	case prev.Format != r.Format:
		return "the record was written by another version of hoist"
	case prev.Binaries != r.Binaries:
		return "binaries changed"
	case prev.Config != r.Config:
		return "image configuration or version changed"
	case prev.Files != r.Files:
		return "extra files changed"
	case prev.Base != r.Base:
		return "base changed"
	case prev.Extra != r.Extra:
		return "tarballs asked for changed"
	case prev.Key != r.Key:
		return "inputs changed"
	}
	return ""
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func readRecord(path string) (record, error) {
	var r record
	if path == "" {
		return r, fs.ErrNotExist
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(data, &r)
}

func writeRecord(ctx context.Context, path string, r record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("write image record: %w", err)
	}
	if err := atomicfile.WriteBytes(ctx, path, data, 0o644); err != nil {
		return fmt.Errorf("write image record: %w", err)
	}
	return nil
}

// filesDigest hashes the names, modes and contents of the extra files, so
// that editing ui/index.html rebuilds the image even though the binaries
// and the configuration are unchanged.
func filesDigest(files []File) (string, error) {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "file %s -> %s\n", f.Src, f.Dst)
		err := filepath.WalkDir(f.Src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(f.Src, p)
			fi, err := os.Stat(p) // follows symlinks, as the layer does
			if err != nil {
				return err
			}
			if fi.IsDir() {
				fmt.Fprintf(h, "dir %s\n", filepath.ToSlash(rel))
				return nil
			}
			fmt.Fprintf(h, "%s %o %d\n", filepath.ToSlash(rel), fi.Mode().Perm()&0o111, fi.Size())
			r, err := os.Open(p)
			if err != nil {
				return err
			}
			defer r.Close()
			_, err = io.Copy(h, r)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("Image.Files source %s: %w: fix Src, which is relative to the module root", f.Src, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CABundleVersion is the version of golang.org/x/crypto/x509roots/fallback
// linked into this program, whose Mozilla roots the built-in base carries.
func CABundleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == "golang.org/x/crypto/x509roots/fallback" {
			return d.Version
		}
	}
	return "unknown"
}
