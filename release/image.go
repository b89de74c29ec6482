package release

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
)

// ImageName is the repository name images are pushed under.
func (w *Workspace) ImageName() string {
	if w.Cfg.Image.Name != "" {
		return w.Cfg.Image.Name
	}
	return w.Proj.Name
}

// imageMain picks the entrypoint binary: the configured one, the one named
// like the project, or the only one.
func (w *Workspace) imageMain() (string, error) {
	var names []string
	for _, m := range w.Proj.Mains {
		if !w.Cfg.Binaries[m.Name].NoImage {
			names = append(names, m.Name)
		}
	}
	if w.Cfg.Image.Main != "" {
		if slices.Contains(names, w.Cfg.Image.Main) {
			return w.Cfg.Image.Main, nil
		}
		return "", fmt.Errorf("Image.Main = %q, but the binaries are %s: set it to one of them", w.Cfg.Image.Main, strings.Join(names, ", "))
	}
	if slices.Contains(names, w.Proj.Name) {
		return w.Proj.Name, nil
	}
	if len(names) == 1 {
		return names[0], nil
	}
	return "", fmt.Errorf("the image holds %s and none is named like the project (%s): set Image.Main to the one the entrypoint runs", strings.Join(names, ", "), w.Proj.Name)
}

// imageSource derives org.opencontainers.image.source from the module path
// for the well-known forges.
func (w *Workspace) imageSource() string {
	if w.Cfg.Image.Source != "" {
		return w.Cfg.Image.Source
	}
	for _, host := range []string{"github.com/", "gitlab.com/", "bitbucket.org/"} {
		if strings.HasPrefix(w.Proj.Module, host) {
			parts := strings.Split(w.Proj.Module, "/")
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
	// Reason says why the index was built, or that it is up to date.
	Reason string
	// Images are the per-platform images built (empty when skipped).
	Images []artifact.Artifact
	// Tarballs are the docker-loadable tarballs written.
	Tarballs []string
}

// imageInputs are the image's binaries, taken from arts, and its
// configuration stamped with st, as BuildImage and its dry run both need
// them.
func (w *Workspace) imageInputs(target string, st Stamp, arts []artifact.Artifact, quiet bool) ([]image.Binary, image.Config, error) {
	main, err := w.imageMain()
	if err != nil {
		return nil, image.Config{}, err
	}
	var bins []image.Binary
	var skipped []string
	for _, a := range artifact.Select(arts, artifact.ByType(artifact.Binary)) {
		p, err := platform.Parse(a.Platform)
		if err != nil {
			return nil, image.Config{}, fmt.Errorf("artifact list: %w", err)
		}
		if p.OS != "linux" {
			if !slices.Contains(skipped, a.Platform) {
				skipped = append(skipped, a.Platform)
			}
			continue
		}
		if w.Cfg.Binaries[a.Name].NoImage {
			continue
		}
		bins = append(bins, image.Binary{Name: a.Name, Platform: p.OCI(), Path: w.Cfg.Path(a.Path)})
	}
	if len(skipped) > 0 && !quiet {
		w.Logf(target, "skipping %s: images are linux-only", strings.Join(skipped, ", "))
	}
	if len(bins) == 0 {
		return nil, image.Config{}, errors.New("no linux binaries to put in an image: add a linux platform to the build matrix (PLATFORMS=linux/amd64,linux/arm64)")
	}
	ic := w.Cfg.Image
	cfg := image.Config{
		Base: ic.Base, Main: main, Entrypoint: ic.Entrypoint, Cmd: ic.Cmd, Env: ic.Env,
		User: ic.User, WorkDir: ic.WorkDir, ExposedPorts: ic.Ports, Labels: ic.Labels,
		Annotations: ic.Annotations, Version: st.Version.String(), Revision: st.Rev.Commit,
		Source: w.imageSource(), Title: w.ImageName(), Files: ic.Files, Dirs: ic.Dirs,
		Healthcheck: ic.Healthcheck, Created: st.Rev.Time, TZData: ic.TZData, Paths: ic.Paths,
	}
	if ic.Files == nil {
		if cfg.Files, err = w.staticFiles(target, quiet); err != nil {
			return nil, image.Config{}, err
		}
	}
	cfg.Files = slices.Clone(cfg.Files) // resolved below without touching w.Cfg
	for i, f := range cfg.Files {
		cfg.Files[i].Src = w.Cfg.Path(f.Src)
	}
	return bins, cfg, nil
}

// staticFiles turns the static directories project discovery finds into
// image files under the image's working directory, so a path such as
// ui/index.html resolves the same in the image as in a checkout.
func (w *Workspace) staticFiles(target string, quiet bool) ([]image.File, error) {
	workdir := w.Cfg.Image.WorkDir
	if workdir == "" {
		workdir = image.DefaultWorkDir
	}
	dirs, err := project.StaticDirs(w.Cfg.Dir)
	if err != nil {
		return nil, err
	}
	var files []image.File
	for _, d := range dirs {
		if d.Skip != "" {
			if !quiet {
				w.Logf(target, "%s/ not copied into the image: %s", d.Name, d.Skip)
			}
			continue
		}
		dst := path.Join(workdir, d.Name)
		if !quiet {
			w.Logf(target, "static files: %s/ -> %s (root-owned, read-only; set Image.Files for another place, owner or mode)", d.Name, dst)
		}
		files = append(files, image.File{Src: d.Name, Dst: dst})
	}
	return files, nil
}

// LayoutRefName names the index in dist/image: NAME:TAG, such as
// web:0.1.0, which podman load turns into localhost/web:0.1.0 and skopeo
// selects with oci:dist/image:web:0.1.0. A bare tag would leave podman to
// name the image after the directory.
func (w *Workspace) LayoutRefName(v *semver.Version) string {
	return w.ImageName() + ":" + w.VersionTag(v)
}

// imageLayout is where the index goes and how its skip is decided.
func (w *Workspace) imageLayout(st Stamp, dryRun bool) image.LayoutOptions {
	return image.LayoutOptions{
		Dir: w.Dist("image"), RefName: w.LayoutRefName(st.Version), Record: w.Dist(".hoist", "image.json"),
		Extra: w.Cfg.Image.Tarball, Force: w.Env.Force, DryRun: dryRun, Sums: w.statCache(),
	}
}

// BuildImage assembles the OCI index stamped with st from the binaries in
// the artifact list and writes it to dist/image, unless its inputs match
// the last build, and records it.
func (w *Workspace) BuildImage(ctx context.Context, target string, st Stamp) (*ImageOutcome, error) {
	unlock, err := w.lockDist()
	if err != nil {
		return nil, err
	}
	defer unlock()
	bins, cfg, err := w.imageInputs(target, st, w.Arts.All(), false)
	if err != nil {
		return nil, err
	}
	lo := w.imageLayout(st, false)
	defer w.saveStats(ctx, target)
	cache, err := w.openBuildCache(ctx, target)
	if err != nil {
		return nil, err
	}
	defer cache.close()
	if cache != nil {
		lo.Remote = layoutCache{cache}
	}
	lay, err := image.BuildLayout(ctx, bins, cfg, lo, image.WithGoRoot(w.Env.GoRoot))
	if err != nil {
		return nil, err
	}
	out := &ImageOutcome{Digest: lay.Digest, Layout: lo.Dir, RefName: lo.RefName, Skipped: lay.Skipped, Reason: lay.Reason}
	if lay.Skipped {
		w.Logf(target, "skipped: %s", lay.Reason)
		return out, nil
	}
	res := lay.Result
	w.Logf(target, "index %s (%s) written to %s: %s", res.Digest, count(len(res.Images), "platform", "platforms"), w.Rel(lo.Dir), lay.Reason)
	for _, pi := range res.Images {
		p := pi.Platform.String()
		w.Logf(target, "  %-14s %s  %s compressed", p, pi.Digest, humanBytes(pi.Size))
		out.Images = append(out.Images, artifact.Artifact{
			Type: artifact.Image, Name: w.ImageName(), Platform: p, Digest: pi.Digest.String(), Size: pi.Size,
			Extra: map[string]string{"base.name": pi.BaseName, "base.digest": pi.BaseDigest.String()},
		})
	}
	for _, want := range w.Cfg.Image.Tarball {
		tp, err := platform.Parse(want)
		if err != nil {
			return nil, fmt.Errorf("image tarball: %w", err)
		}
		pi, ok := res.ForPlatform(tp.OCI())
		if !ok {
			return nil, fmt.Errorf("image tarball for %s: the image has no such platform; build it (PLATFORMS) or drop it from HOIST_IMAGE_TARBALL", want)
		}
		file := w.Dist("image_" + tp.Slug() + ".tar")
		if err := image.WriteTarball(ctx, file, lo.RefName, pi.Image); err != nil {
			return nil, err
		}
		w.Logf(target, "docker-loadable tarball for %s: %s", want, w.Rel(file))
		out.Tarballs = append(out.Tarballs, file)
	}
	w.Arts.Replace(artifact.Image, out.Images...)
	w.Arts.Replace(artifact.ImageIndex, artifact.Artifact{
		Type: artifact.ImageIndex, Name: w.ImageName(), Digest: out.Digest, Path: w.Rel(lo.Dir),
		Extra: map[string]string{"ref.name": lo.RefName, "base.name": res.BaseName, "base.digest": res.BaseDigest.String()},
	})
	return out, w.SaveArtifacts()
}

// HasImage reports whether dist/ holds the image an earlier image:build
// recorded for version v, so image:push can do without the binaries.
func (w *Workspace) HasImage(ctx context.Context, st Stamp) bool {
	ref := w.LayoutRefName(st.Version)
	for _, a := range w.Arts.Filter(artifact.ByType(artifact.ImageIndex)) {
		if a.Extra["ref.name"] == ref && image.LayoutHolds(ctx, w.Cfg.Path(a.Path), ref, a.Digest) {
			return true
		}
	}
	return false
}

// HasBinaries reports whether the binaries the artifact list names are on
// disk, which means image:push should rebuild the image from them (a no-op
// when nothing changed) rather than trust an image built earlier.
func (w *Workspace) HasBinaries() bool {
	bins := w.Arts.Filter(artifact.ByType(artifact.Binary))
	for _, b := range bins {
		if !fileExists(w.Cfg.Path(b.Path)) {
			return false
		}
	}
	return len(bins) > 0
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
