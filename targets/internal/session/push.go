package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"golang.org/x/term"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/publish"
	"github.com/hoistdev/hoist/registry"
)

// ImageTags returns the tags a version is pushed under: the version itself,
// plus MAJOR.MINOR and latest when configured, for releases only.
func (s *Session) ImageTags(v *semver.Version) []string {
	tags := []string{v.String()}
	if v.Prerelease() != "" {
		return tags
	}
	if s.Cfg.Publish.MinorTag {
		tags = append(tags, fmt.Sprintf("%d.%d", v.Major(), v.Minor()))
	}
	if s.Cfg.Publish.Latest {
		tags = append(tags, "latest")
	}
	return tags
}

// Repositories returns the configured destinations with the image name
// appended, or nil when the embedded registry is the destination.
func (s *Session) Repositories() []string {
	var repos []string
	for _, r := range s.Cfg.Publish.Registries {
		repos = append(repos, strings.TrimSuffix(r, "/")+"/"+s.ImageName())
	}
	return repos
}

// publishOptions are the options every registry operation uses.
func (s *Session) publishOptions(target string) []publish.Option {
	opts := []publish.Option{publish.WithProgress(s.Writer(target), s.tty())}
	if len(s.Cfg.Publish.Insecure) > 0 {
		opts = append(opts, publish.WithInsecure(s.Cfg.Publish.Insecure...))
	}
	if s.Cfg.Publish.Jobs > 0 {
		opts = append(opts, publish.WithJobs(s.Cfg.Publish.Jobs))
	}
	return opts
}

// tty reports whether progress bars may redraw lines: stdout is a terminal
// and this is not a CI log.
func (s *Session) tty() bool {
	if s.Getenv("CI") != "" || s.Out != os.Stdout {
		return false
	}
	return term.IsTerminal(int(os.Stdout.Fd()))
}

// CheckRegistries tests that every configured destination is reachable and
// accepts our credentials; with none configured it checks that the
// embedded registry can start.
func (s *Session) CheckRegistries(ctx context.Context) error {
	repos := s.Repositories()
	if len(repos) == 0 {
		reg, err := s.StartEmbedded(ctx)
		if err != nil {
			return err
		}
		return reg.Stop(ctx)
	}
	var errs []error
	for _, r := range repos {
		if err := publish.Check(ctx, r, s.publishOptions("preflight")...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Embedded is a handle on the embedded registry, started by this run or
// already serving the same data directory.
type Embedded struct {
	Host string
	proc *registry.Process
}

// Stop stops the registry if this run started it.
func (e *Embedded) Stop(ctx context.Context) error {
	if e.proc == nil {
		return nil
	}
	return e.proc.Stop(ctx)
}

// StartEmbedded starts hoist's embedded registry on a free loopback port
// with the configured data directory. If a registry:serve already serves
// that directory, that instance is used instead.
func (s *Session) StartEmbedded(ctx context.Context) (*Embedded, error) {
	data, err := s.EmbeddedDataDir()
	if err != nil {
		return nil, err
	}
	proc, err := registry.Start(ctx, registry.WithDataDir(data), registry.WithDir(s.Cfg.Dir), registry.WithAddr("127.0.0.1:0"))
	var inUse *registry.InUseError
	if errors.As(err, &inUse) {
		return &Embedded{Host: inUse.Host}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("no registry configured, and the embedded one did not start: %w", err)
	}
	return &Embedded{Host: proc.Host(), proc: proc}, nil
}

// EmbeddedDataDir is where the embedded registry keeps its data.
func (s *Session) EmbeddedDataDir() (string, error) {
	if s.Cfg.Publish.EmbeddedData != "" {
		return s.Cfg.Path(s.Cfg.Publish.EmbeddedData), nil
	}
	return registry.DefaultDataDir(s.Getenv)
}

// PushImage pushes the image index in dist/image to every destination, by
// digest first and tags last, and records the pushed references. With no
// registry configured it starts the embedded registry, pushes, pulls the
// digest back to verify it, and stops the registry again.
func (s *Session) PushImage(ctx context.Context, target string) ([]publish.Result, error) {
	ver, err := s.Version()
	if err != nil {
		return nil, err
	}
	layout := s.Dist("image")
	idx, err := image.ReadLayout(ctx, layout, ver.String())
	if err != nil {
		return nil, fmt.Errorf("read the image built for %s: %w (run image:build first)", ver, err)
	}
	tags := s.ImageTags(ver)
	repos := s.Repositories()
	var emb *Embedded
	if len(repos) == 0 {
		if emb, err = s.StartEmbedded(ctx); err != nil {
			return nil, err
		}
		defer emb.Stop(context.WithoutCancel(ctx))
		repos = []string{emb.Host + "/" + s.ImageName()}
		s.Logf(target, "no registry configured: pushing to the embedded registry at %s", emb.Host)
	}
	dests := make([]publish.Destination, len(repos))
	for i, r := range repos {
		dests[i] = publish.Destination{Repository: r, Tags: tags}
	}
	start := time.Now()
	results, err := publish.Push(ctx, idx, dests, s.publishOptions(target)...)
	var pushed []artifact.Artifact
	for _, r := range results {
		if r.Err != nil {
			s.Logf(target, "%s: failed: %v", r.Repository, r.Err)
			continue
		}
		s.Logf(target, "%s: %d blobs uploaded (%s), %d already there", r.Repository, r.BlobsUploaded, humanBytes(r.BytesUploaded), r.BlobsSkipped)
		for _, ref := range r.Refs {
			s.Logf(target, "  pushed %s", ref)
			pushed = append(pushed, artifact.Artifact{Type: artifact.ImagePush, Name: ref, Digest: r.Digest.String()})
		}
	}
	if err != nil {
		return results, err
	}
	if emb != nil {
		for _, r := range results {
			ref := r.Repository + "@" + r.Digest.String()
			if err := publish.Verify(ctx, ref, s.publishOptions(target)...); err != nil {
				return results, fmt.Errorf("verify the push by pulling it back: %w", err)
			}
			s.Logf(target, "verified %s by pulling it back", ref)
		}
	}
	s.Logf(target, "done in %s", time.Since(start).Round(time.Millisecond))
	s.Arts.Replace(artifact.ImagePush, pushed...)
	return results, s.SaveArtifacts()
}
