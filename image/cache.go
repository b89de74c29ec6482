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

	v1 "github.com/google/go-containerregistry/pkg/v1"

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
	// Remote restores a layout another machine built from the same inputs
	// instead of building it, and keeps the layouts built here. Default:
	// none.
	Remote LayoutRemote
	// Sums hashes the binaries for the skip record, such as a stat cache
	// shared with the build that wrote them. Default: each is read.
	Sums FileSums
}

// FileSums returns a file's hex SHA-256 and size.
type FileSums interface {
	Sum(path string) (string, int64, error)
}

// LayoutRemote keeps OCI layouts where another machine finds them, under a
// key of everything the index is made of.
type LayoutRemote interface {
	// Restore writes the layout stored under key into dir, which does not
	// exist yet. ok is false when nothing usable is stored; an error fails
	// the build.
	Restore(ctx context.Context, key, dir string) (ok bool, err error)
	// Save stores the layout in dir under key; an error fails the build.
	Save(ctx context.Context, key, dir string) error
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
	now, err := inputs(bins, cfg, lo.Extra, lo.Sums)
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
	key := "img-" + now.Key
	if lo.Remote != nil && now.Base != "" && !lo.Force {
		out, err := restoreLayout(ctx, lo, key, reason)
		if err != nil || out != nil {
			if out != nil && lo.Record != "" {
				now.Digest = out.Digest
				if err := writeRecord(ctx, lo.Record, now); err != nil {
					return nil, err
				}
			}
			return out, err
		}
	}
	res, err := Build(ctx, bins, cfg, opts...)
	if err != nil {
		return nil, err
	}
	if err := WriteLayout(ctx, lo.Dir, res, lo.RefName); err != nil {
		return nil, err
	}
	if lo.Remote != nil && now.Base != "" {
		if err := lo.Remote.Save(ctx, key, lo.Dir); err != nil {
			return nil, err
		}
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

// restoreLayout asks lo.Remote for the layout stored under key and, when
// it has one that holds lo.RefName, puts it in lo.Dir's place and describes
// it as a build would. It returns nil when the remote has none.
func restoreLayout(ctx context.Context, lo LayoutOptions, key, reason string) (*Layout, error) {
	parent := filepath.Dir(lo.Dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("restore image layout: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".restore-image-")
	if err != nil {
		return nil, fmt.Errorf("restore image layout: %w", err)
	}
	defer os.RemoveAll(tmp)
	ok, err := lo.Remote.Restore(ctx, key, tmp)
	if err != nil || !ok {
		return nil, err
	}
	res, err := resultFromLayout(ctx, tmp, lo.RefName)
	if err != nil {
		return nil, nil // not the layout it should be: build instead
	}
	if err := normalizeModes(tmp); err != nil {
		return nil, fmt.Errorf("restore image layout: %w", err)
	}
	if err := replaceDir(tmp, lo.Dir); err != nil {
		return nil, fmt.Errorf("restore image layout: %w", err)
	}
	return &Layout{Digest: res.Digest.String(), Reason: fmt.Sprintf("restored from cache (key %s): %s", key[:16], reason), Result: res}, nil
}

// resultFromLayout describes the index stored under ref in the layout dir
// the way Build describes what it built.
func resultFromLayout(ctx context.Context, dir, ref string) (*Result, error) {
	idx, err := ReadLayout(ctx, dir, ref)
	if err != nil {
		return nil, err
	}
	d, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	res := &Result{Index: idx, Digest: d, BaseName: im.Annotations[AnnotationBaseName]}
	if bd := im.Annotations[AnnotationBaseDigest]; bd != "" {
		res.BaseDigest, _ = v1.NewHash(bd)
	}
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, err
		}
		size, err := storedSize(img)
		if err != nil {
			return nil, err
		}
		pi := PlatformImage{Image: img, Digest: desc.Digest, Size: size, BaseName: desc.Annotations[AnnotationBaseName]}
		if desc.Platform != nil {
			pi.Platform = *desc.Platform
		}
		if bd := desc.Annotations[AnnotationBaseDigest]; bd != "" {
			pi.BaseDigest, _ = v1.NewHash(bd)
		}
		res.Images = append(res.Images, pi)
	}
	return res, nil
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
func inputs(bins []Binary, cfg Config, extra []string, sums FileSums) (record, error) {
	r := record{Format: recordFormat}
	switch {
	case cfg.Base == "":
		r.Base = "builtin " + CABundleVersion()
	case strings.Contains(cfg.Base, "@sha256:"):
		r.Base = cfg.Base
	}
	h := sha256.New()
	for _, b := range bins {
		var sum string
		var err error
		if sums != nil {
			sum, _, err = sums.Sum(b.Path)
		} else {
			sum, err = fileSum(b.Path)
		}
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
	if err := atomicfile.ReplaceBytes(ctx, path, data, 0o644); err != nil {
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
