package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/internal/atomicfile"
	"github.com/hoistdev/hoist/publish"
)

// digestDir holds one file per platform pushed by digest, the hand-off
// between split CI runners and the merge job.
func (w *Workspace) digestDir() string { return w.Dist("digests") }

// PushPlatforms is the split half of a split-and-merge CI build: it pushes
// each platform image of dist/image by digest, with no tag, to every
// configured registry, and writes dist/digests/<platform>.digest for the
// merge job to collect.
func (w *Workspace) PushPlatforms(ctx context.Context, target string, st Stamp) error {
	unlock, err := w.lockDist()
	if err != nil {
		return err
	}
	defer unlock()
	repos := w.Repositories()
	if len(repos) == 0 {
		return errors.New("a split build needs a registry every runner can reach: set REGISTRY (the embedded registry is local to one machine)")
	}
	idx, err := w.readImage(ctx, st)
	if err != nil {
		return err
	}
	man, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("read the image index: %w", err)
	}
	for _, desc := range man.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return fmt.Errorf("read image %s: %w", desc.Digest, err)
		}
		p := desc.Platform.String()
		for _, repo := range repos {
			res, err := publish.PushImage(ctx, img, publish.Destination{Repository: repo}, w.publishOptions(target)...)
			if err != nil {
				return err
			}
			w.Logf(target, "%s pushed %s@%s (%s uploaded, %d already there)", p, repo, res.Digest, count(res.BlobsUploaded, "blob", "blobs"), res.BlobsSkipped)
		}
		file := filepath.Join(w.digestDir(), strings.ReplaceAll(p, "/", "_")+".digest")
		if err := atomicfile.WriteBytes(ctx, file, []byte(desc.Digest.String()+"\n"), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", w.Rel(file), err)
		}
		w.Logf(target, "wrote %s", w.Rel(file))
	}
	return nil
}

// Merge is the merge half: it gathers the per-platform digests (from
// DIGESTS, or the files in dist/digests), assembles an OCI index over them
// in every configured registry, and applies the tags of version v.
func (w *Workspace) Merge(ctx context.Context, target string, st Stamp) error {
	unlock, err := w.lockDist()
	if err != nil {
		return err
	}
	defer unlock()
	repos := w.Repositories()
	if len(repos) == 0 {
		return errors.New("nothing to merge into: set REGISTRY to the registry the split jobs pushed to")
	}
	digests, err := w.collectDigests()
	if err != nil {
		return err
	}
	// Assemble by digest in every registry first, then move the tags the
	// same careful way a release does.
	p := &pushed{}
	for _, repo := range repos {
		d, err := publish.AssembleIndex(ctx, repo, digests, nil, w.publishOptions(target)...)
		if err != nil {
			return err
		}
		if p.digest != "" && p.digest != d.String() {
			return fmt.Errorf("the index assembled in %s is %s, but %s in %s: the registries disagree about the platform images", repo, d, p.digest, p.repos[0])
		}
		p.repos, p.digest = append(p.repos, repo), d.String()
		w.Logf(target, "%s@%s assembled from %d platform images", repo, d, len(digests))
	}
	_, err = w.tagPushed(ctx, target, p, w.ImageTags(st.Version), nil)
	return err
}

func (w *Workspace) collectDigests() ([]string, error) {
	if len(w.Env.Digests) > 0 {
		return w.Env.Digests, nil
	}
	files, err := filepath.Glob(filepath.Join(w.digestDir(), "*.digest"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no platform digests in %s: copy the split jobs' dist/digests/*.digest files there, or set DIGESTS", w.Rel(w.digestDir()))
	}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		out = append(out, strings.TrimSpace(string(data)))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Pack writes the archives, SBOMs and checksums.txt for the binaries of
// the artifact list, stamped st, and records them.
func (w *Workspace) Pack(ctx context.Context, st Stamp) (*PackageResult, error) {
	unlock, err := w.lockDist()
	if err != nil {
		return nil, err
	}
	defer unlock()
	o := w.packageOptions(st, w.Arts.Filter(artifact.ByType(artifact.Binary)), false)
	cache, err := w.openBuildCache(ctx, "package")
	if err != nil {
		return nil, err
	}
	defer cache.close()
	o.cache = cache
	defer w.saveStats(ctx, "package")
	res, err := Package(ctx, o)
	if err != nil {
		return nil, err
	}
	for _, t := range []artifact.Type{artifact.Archive, artifact.SBOM, artifact.Checksums} {
		w.Arts.Replace(t, artifact.Select(res.Artifacts, artifact.ByType(t))...)
	}
	return res, w.SaveArtifacts()
}

// packageOptions are the settings for packing bins stamped st; dryRun only
// decides.
func (w *Workspace) packageOptions(st Stamp, bins []artifact.Artifact, dryRun bool) PackageOptions {
	o := PackageOptions{
		Root: w.Cfg.Dir, Dist: w.Cfg.Dist, Project: w.Proj.Name, Version: st.Version.String(), ModTime: st.Rev.Time,
		Binaries: bins, ExtraFiles: w.Cfg.Release.ExtraFiles, NoArchive: w.binariesWith(func(b config.Binary) bool { return b.NoArchive }),
		OwnArchive: w.binariesWith(func(b config.Binary) bool { return b.OwnArchive }),
		Force:      w.Env.Force, DryRun: dryRun, Log: w.Out, stats: w.statCache(),
	}
	if w.Cfg.Release.SourceArchive {
		o.SourceCommit = st.Rev.Commit
	}
	o.ArchiveName = w.Cfg.Release.ArchiveName
	o.Checksums = w.checksumsName(st.Version.String())
	if dryRun {
		o.Log = nil
	}
	return o
}

// Verify builds HEAD twice in clean clones and fails if any binary,
// archive, SBOM, checksums file or the image index differs. The clones are
// opened with w's configuration and environment.
func (w *Workspace) Verify(ctx context.Context) error {
	rep, err := Verify(ctx, VerifyOptions{
		Dir: w.Cfg.Dir,
		Log: w.Out,
		Build: func(ctx context.Context, dir string) (map[string]string, error) {
			cfg := w.Cfg
			cfg.Dir = dir
			c, err := Open(cfg, w.Env, nil)
			if err != nil {
				return nil, err
			}
			st, err := c.CurrentStamp(ctx)
			if err != nil {
				return nil, err
			}
			if _, err := c.BuildBinaries(ctx, st); err != nil {
				return nil, err
			}
			if _, err := c.Pack(ctx, st); err != nil {
				return nil, err
			}
			digests := map[string]string{}
			for _, a := range c.Arts.Filter(artifact.ByType(artifact.Binary, artifact.Archive, artifact.SBOM, artifact.Checksums)) {
				digests[a.Path] = a.Digest
			}
			if !c.Cfg.Image.Skip {
				img, err := c.BuildImage(ctx, "release:verify", st)
				if err != nil {
					return nil, err
				}
				digests[c.Rel(img.Layout)+" (OCI index)"] = img.Digest
			}
			return digests, nil
		},
	})
	if rep != nil {
		if werr := rep.WriteText(w.Out); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// binariesWith names the binaries whose settings (Binaries) match keep,
// sorted.
func (w *Workspace) binariesWith(keep func(config.Binary) bool) []string {
	var out []string
	for name, b := range w.Cfg.Binaries {
		if keep(b) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// checksumsName is the checksum list's file name for version v
// (Release.ChecksumsName, else checksums.txt).
func (w *Workspace) checksumsName(v string) string {
	if fn := w.Cfg.Release.ChecksumsName; fn != nil {
		if name := fn(w.Proj.Name, strings.TrimPrefix(v, "v")); name != "" {
			return name
		}
	}
	return ChecksumsFile
}
