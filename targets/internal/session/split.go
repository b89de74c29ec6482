package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/publish"
)

// digestDir holds one file per platform pushed by digest, the hand-off
// between split CI runners and the merge job.
func (s *Session) digestDir() string { return s.Dist("digests") }

// PushPlatforms is the split half of a split-and-merge CI build: it pushes
// each platform image of dist/image by digest, with no tag, to every
// configured registry, and writes dist/digests/<platform>.digest for the
// merge job to collect.
func (s *Session) PushPlatforms(ctx context.Context, target string) error {
	repos := s.Repositories()
	if len(repos) == 0 {
		return errors.New("a split build needs a registry every runner can reach: set REGISTRY (the embedded registry is local to one machine)")
	}
	ver, err := s.Version()
	if err != nil {
		return err
	}
	idx, err := image.ReadLayout(ctx, s.Dist("image"), ver.String())
	if err != nil {
		return fmt.Errorf("read the image built for %s: %w (run image:build first)", ver, err)
	}
	man, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("read the image index: %w", err)
	}
	if err := os.MkdirAll(s.digestDir(), 0o755); err != nil {
		return fmt.Errorf("write digests: %w", err)
	}
	for _, desc := range man.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return fmt.Errorf("read image %s: %w", desc.Digest, err)
		}
		p := platformString(*desc.Platform)
		for _, repo := range repos {
			res, err := publish.PushImage(ctx, img, publish.Destination{Repository: repo}, s.publishOptions(target)...)
			if err != nil {
				return err
			}
			s.Logf(target, "%s pushed %s@%s (%d blobs uploaded, %d already there)", p, repo, res.Digest, res.BlobsUploaded, res.BlobsSkipped)
		}
		file := filepath.Join(s.digestDir(), strings.ReplaceAll(p, "/", "_")+".digest")
		if err := artifact.WriteFileAtomic(file, []byte(desc.Digest.String()+"\n"), 0o644); err != nil {
			return err
		}
		s.Logf(target, "wrote %s", s.Rel(file))
	}
	return nil
}

// Merge is the merge half: it gathers the per-platform digests (from
// DIGESTS, comma-separated, or the files in dist/digests), assembles an OCI
// index over them in every configured registry, and applies the tags.
func (s *Session) Merge(ctx context.Context, target string) error {
	repos := s.Repositories()
	if len(repos) == 0 {
		return errors.New("nothing to merge into: set REGISTRY to the registry the split jobs pushed to")
	}
	digests, err := s.collectDigests()
	if err != nil {
		return err
	}
	ver, err := s.Version()
	if err != nil {
		return err
	}
	// Assemble by digest in every registry first, then move the tags the
	// same careful way a release does.
	p := &pushed{}
	for _, repo := range repos {
		d, err := publish.AssembleIndex(ctx, repo, digests, nil, s.publishOptions(target)...)
		if err != nil {
			return err
		}
		if p.digest != "" && p.digest != d.String() {
			return fmt.Errorf("the index assembled in %s is %s, but %s in %s: the registries disagree about the platform images", repo, d, p.digest, p.repos[0])
		}
		p.repos, p.digest = append(p.repos, repo), d.String()
		s.Logf(target, "%s@%s assembled from %d platform images", repo, d, len(digests))
		p.pushed = append(p.pushed, artifact.Artifact{Type: artifact.ImagePush, Name: repo + "@" + d.String(), Digest: d.String()})
	}
	_, err = s.tagPushed(ctx, target, p, s.ImageTags(ver))
	return err
}

func (s *Session) collectDigests() ([]string, error) {
	if v := s.Getenv("DIGESTS"); v != "" {
		return splitDigests(v), nil
	}
	files, err := filepath.Glob(filepath.Join(s.digestDir(), "*.digest"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no platform digests in %s: copy the split jobs' dist/digests/*.digest files there, or set DIGESTS", s.Rel(s.digestDir()))
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

func splitDigests(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })
}
