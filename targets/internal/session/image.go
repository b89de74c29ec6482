package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/platform"
)

// ImageName is the repository name images are pushed under.
func (s *Session) ImageName() string {
	if s.Cfg.Image.Name != "" {
		return s.Cfg.Image.Name
	}
	return s.Proj.Name
}

// imageMain picks the entrypoint binary: the configured one, the one named
// like the project, or the only one.
func (s *Session) imageMain() (string, error) {
	if s.Cfg.Image.Main != "" {
		for _, m := range s.Proj.Mains {
			if m.Name == s.Cfg.Image.Main {
				return m.Name, nil
			}
		}
		return "", fmt.Errorf("Image.Main = %q, but the binaries are %s: set it to one of them", s.Cfg.Image.Main, s.mainNames())
	}
	for _, m := range s.Proj.Mains {
		if m.Name == s.Proj.Name {
			return m.Name, nil
		}
	}
	if len(s.Proj.Mains) == 1 {
		return s.Proj.Mains[0].Name, nil
	}
	return "", fmt.Errorf("the image holds %s and none is named like the project (%s): set Image.Main to the one the entrypoint runs", s.mainNames(), s.Proj.Name)
}

func (s *Session) mainNames() string {
	names := make([]string, len(s.Proj.Mains))
	for i, m := range s.Proj.Mains {
		names[i] = m.Name
	}
	return strings.Join(names, ", ")
}

// imageSource derives org.opencontainers.image.source from the module path
// for the well-known forges.
func (s *Session) imageSource() string {
	if s.Cfg.Image.Source != "" {
		return s.Cfg.Image.Source
	}
	for _, host := range []string{"github.com/", "gitlab.com/", "bitbucket.org/"} {
		if strings.HasPrefix(s.Proj.Module, host) {
			parts := strings.Split(s.Proj.Module, "/")
			if len(parts) >= 3 {
				return "https://" + strings.Join(parts[:3], "/")
			}
		}
	}
	return ""
}

// ImageOutcome is what BuildImage produced or found up to date.
type ImageOutcome struct {
	// Digest is the index digest.
	Digest string
	// Layout is the OCI layout directory holding the index.
	Layout string
	// RefName is the index's ref name in the layout: the version.
	RefName string
	// Skipped is true when the inputs matched the last build.
	Skipped bool
	// Images are the per-platform images built (empty when skipped).
	Images []artifact.Artifact
	// Tarballs are the docker-loadable tarballs written.
	Tarballs []string
}

// imageRecord is saved beside the layout to skip unchanged rebuilds.
type imageRecord struct {
	Key    string `json:"key"`
	Digest string `json:"digest"`
}

// BuildImage assembles the OCI index from the binaries in the artifact list
// and writes it to dist/image, unless its inputs match the last build.
func (s *Session) BuildImage(ctx context.Context, target string) (*ImageOutcome, error) {
	ver, err := s.Version()
	if err != nil {
		return nil, err
	}
	rev, err := s.Revision(ctx)
	if err != nil {
		return nil, err
	}
	main, err := s.imageMain()
	if err != nil {
		return nil, err
	}
	var bins []image.Binary
	var skipped []string
	for _, a := range s.Arts.Filter(artifact.ByType(artifact.Binary)) {
		p, err := platform.Parse(a.Platform)
		if err != nil {
			return nil, fmt.Errorf("artifact list: %w", err)
		}
		if p.OS != "linux" {
			if !slices.Contains(skipped, a.Platform) {
				skipped = append(skipped, a.Platform)
			}
			continue
		}
		bins = append(bins, image.Binary{
			Name:     a.Name,
			Platform: v1.Platform{OS: p.OS, Architecture: p.Arch, Variant: p.OCIVariant()},
			Path:     s.Cfg.Path(a.Path),
		})
	}
	if len(skipped) > 0 {
		s.Logf(target, "skipping %s: images are linux-only", strings.Join(skipped, ", "))
	}
	if len(bins) == 0 {
		return nil, errors.New("no linux binaries to put in an image: add a linux platform to the build matrix (PLATFORMS=linux/amd64,linux/arm64)")
	}
	ic := s.Cfg.Image
	cfg := image.Config{
		Base: ic.Base, Main: main, Entrypoint: ic.Entrypoint, Cmd: ic.Cmd, Env: ic.Env,
		User: ic.User, WorkDir: ic.WorkDir, ExposedPorts: ic.Ports, Labels: ic.Labels,
		Annotations: ic.Annotations, Version: ver.String(), Revision: rev.Commit,
		Source: s.imageSource(), Title: s.ImageName(), Files: ic.Files, Dirs: ic.Dirs,
		Healthcheck: ic.Healthcheck, Created: rev.Time, TZData: ic.TZData,
	}
	if ic.Files == nil {
		if cfg.Files, err = s.staticFiles(target); err != nil {
			return nil, err
		}
	}
	cfg.Files = slices.Clone(cfg.Files) // resolved below without touching s.Cfg
	for i, f := range cfg.Files {
		cfg.Files[i].Src = s.Cfg.Path(f.Src)
	}
	layout := s.Dist("image")
	refName := ver.String()
	key, err := imageKey(bins, cfg, ic.Tarball)
	if err != nil {
		return nil, err
	}
	recPath := s.Dist(".hoist", "image.json")
	if rec, err := readImageRecord(recPath); err == nil && key != "" && rec.Key == key && s.Getenv("HOIST_FORCE") != "1" && s.layoutHolds(ctx, layout, refName, rec.Digest) {
		s.Logf(target, "skipped: up to date (index %s; binaries, config and version unchanged)", rec.Digest)
		return &ImageOutcome{Digest: rec.Digest, Layout: layout, RefName: refName, Skipped: true}, nil
	}

	res, err := image.Build(ctx, bins, cfg, image.WithGoRoot(s.Getenv("GOROOT")))
	if err != nil {
		return nil, err
	}
	if err := image.WriteLayout(ctx, layout, res, refName); err != nil {
		return nil, err
	}
	out := &ImageOutcome{Digest: res.Digest.String(), Layout: layout, RefName: refName}
	s.Logf(target, "index %s (%d platforms) written to %s", res.Digest, len(res.Images), s.Rel(layout))
	for _, pi := range res.Images {
		p := platformString(pi.Platform)
		s.Logf(target, "  %-14s %s  %s compressed", p, pi.Digest, humanBytes(pi.Size))
		out.Images = append(out.Images, artifact.Artifact{
			Type: artifact.Image, Name: s.ImageName(), Platform: p, Digest: pi.Digest.String(), Size: pi.Size,
			Extra: map[string]string{"base.name": pi.BaseName, "base.digest": pi.BaseDigest.String()},
		})
	}
	for _, want := range ic.Tarball {
		tp, err := platform.Parse(want)
		if err != nil {
			return nil, fmt.Errorf("image tarball: %w", err)
		}
		pi, ok := res.ForPlatform(v1.Platform{OS: tp.OS, Architecture: tp.Arch, Variant: tp.OCIVariant()})
		if !ok {
			return nil, fmt.Errorf("image tarball for %s: the image has no such platform; build it (PLATFORMS) or drop it from HOIST_IMAGE_TARBALL", want)
		}
		path := s.Dist("image_" + tp.Slug() + ".tar")
		if err := image.WriteTarball(ctx, path, s.ImageName()+":"+refName, pi.Image); err != nil {
			return nil, err
		}
		s.Logf(target, "docker-loadable tarball for %s: %s", want, s.Rel(path))
		out.Tarballs = append(out.Tarballs, path)
	}
	s.Arts.Replace(artifact.Image, out.Images...)
	s.Arts.Replace(artifact.ImageIndex, artifact.Artifact{
		Type: artifact.ImageIndex, Name: s.ImageName(), Digest: out.Digest, Path: s.Rel(layout),
		Extra: map[string]string{"ref.name": refName, "base.name": res.BaseName, "base.digest": res.BaseDigest.String()},
	})
	if err := s.SaveArtifacts(); err != nil {
		return nil, err
	}
	if err := writeImageRecord(recPath, imageRecord{Key: key, Digest: out.Digest}); err != nil {
		return nil, err
	}
	return out, nil
}

// layoutHolds reports whether the layout on disk still has the recorded index.
func (s *Session) layoutHolds(ctx context.Context, dir, ref, digest string) bool {
	idx, err := image.ReadLayout(ctx, dir, ref)
	if err != nil {
		return false
	}
	d, err := idx.Digest()
	return err == nil && d.String() == digest
}

// imageKey hashes everything the image is made of. It is "" (never skip)
// when the base is a tag or an OCI layout, whose content can change under
// the same name; the built-in base is keyed on the pinned CA bundle version
// and a digest-pinned base on its digest.
func imageKey(bins []image.Binary, cfg image.Config, tarballs []string) (string, error) {
	base := cfg.Base
	switch {
	case base == "":
		base = "builtin " + caBundleVersion()
	case !strings.Contains(base, "@sha256:"):
		return "", nil
	}
	type binKey struct {
		Name, Platform, SHA256 string
	}
	var bk []binKey
	for _, b := range bins {
		sum, err := fileSHA256(b.Path)
		if err != nil {
			return "", fmt.Errorf("binary for %s missing: run go:build first: %w", platformString(b.Platform), err)
		}
		bk = append(bk, binKey{b.Name, platformString(b.Platform), sum})
	}
	files, err := filesDigest(cfg.Files)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(struct {
		Bins     []binKey
		Cfg      image.Config
		Files    string
		Tarballs []string
		Base     string
		Format   int
	}{bk, cfg, files, tarballs, base, 2})
	if err != nil {
		return "", fmt.Errorf("image key: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

func readImageRecord(path string) (imageRecord, error) {
	var r imageRecord
	data, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(data, &r)
}

func writeImageRecord(path string, r imageRecord) error {
	data, _ := json.Marshal(r)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return artifact.WriteFileAtomic(path, data, 0o644)
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// HasImage reports whether dist/ already holds the image an earlier
// image:build recorded for this version, so image:push can skip the build.
func (s *Session) HasImage(ctx context.Context) bool {
	ver, err := s.Version()
	if err != nil {
		return false
	}
	for _, a := range s.Arts.Filter(artifact.ByType(artifact.ImageIndex)) {
		if a.Extra["ref.name"] == ver.String() && s.layoutHolds(ctx, s.Cfg.Path(a.Path), ver.String(), a.Digest) {
			return true
		}
	}
	return false
}

// caBundleVersion is the version of the module the built-in base takes its
// CA certificates from, as linked into this binary.
func caBundleVersion() string {
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

// HasBinaries reports whether the binaries the artifact list names are on
// disk, which means image:push should rebuild the image from them (a no-op
// when nothing changed) rather than trust an image built earlier.
func (s *Session) HasBinaries() bool {
	bins := s.Arts.Filter(artifact.ByType(artifact.Binary))
	for _, b := range bins {
		if _, err := os.Stat(s.Cfg.Path(b.Path)); err != nil {
			return false
		}
	}
	return len(bins) > 0
}
