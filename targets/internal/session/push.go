package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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
	// Host is the registry's host:port.
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
	opts := []registry.Option{registry.WithDataDir(data), registry.WithDir(s.RegistryDir()), registry.WithAddr("127.0.0.1:0")}
	if len(s.Cfg.Publish.EmbeddedCommand) > 0 {
		opts = append(opts, registry.WithCommand(s.Cfg.Publish.EmbeddedCommand...))
	}
	// The registry outlives the caller's ctx: an interrupted release still
	// needs it to put tags back. Every caller stops it explicitly.
	proc, err := registry.Start(context.WithoutCancel(ctx), opts...)
	var inUse *registry.InUseError
	if errors.As(err, &inUse) {
		return &Embedded{Host: inUse.Host}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("no registry configured, and the embedded one did not start: %w%s", err, s.RegistryToolHint())
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
	tags := s.ImageTags(ver)
	repos := s.Repositories()
	if r, _ := s.current(); r != nil && r.snapshot {
		repos = nil // a snapshot never leaves the machine
	}
	if len(repos) == 0 {
		idx, err := s.readImage(ctx)
		if err != nil {
			return nil, err
		}
		held, err := s.embeddedHolds(idx, tags)
		if err != nil {
			return nil, err
		}
		if held != nil {
			s.Logf(target, "the embedded registry already holds %s: nothing to push", strings.Join(refNames(held), ", "))
			s.Arts.Replace(artifact.ImagePush, held...)
			return nil, s.SaveArtifacts()
		}
	}
	// Digests first, tags after, the way a release does it: a failure part
	// of the way through the tags puts back the ones already moved.
	p, err := s.pushIndex(ctx, target, repos, nil)
	if p != nil && p.emb != nil {
		defer p.emb.Stop(context.WithoutCancel(ctx))
	}
	if err != nil {
		return p.results(), err
	}
	if _, err := s.tagPushed(ctx, target, p, tags); err != nil {
		return p.results(), err
	}
	return p.results(), nil
}

// pushed is the outcome of pushIndex: where the index went and, when the
// embedded registry received it, the running registry.
type pushed struct {
	res    []publish.Result
	emb    *Embedded
	repos  []string
	digest string
	pushed []artifact.Artifact
}

func (p *pushed) results() []publish.Result {
	if p == nil {
		return nil
	}
	return p.res
}

func (s *Session) readImage(ctx context.Context) (v1.ImageIndex, error) {
	ver, err := s.Version()
	if err != nil {
		return nil, err
	}
	idx, err := image.ReadLayout(ctx, s.Dist("image"), ver.String())
	if err != nil {
		return nil, fmt.Errorf("read the image built for %s: %w (run image:build first)", ver, err)
	}
	return idx, nil
}

// pushIndex pushes dist/image to repos, or to the embedded registry (left
// running for the caller to stop) when repos is empty. With no tags it
// pushes by digest only, the first half of a release's push.
func (s *Session) pushIndex(ctx context.Context, target string, repos, tags []string) (*pushed, error) {
	idx, err := s.readImage(ctx)
	if err != nil {
		return nil, err
	}
	p := &pushed{repos: repos}
	if len(repos) == 0 {
		if p.emb, err = s.StartEmbedded(ctx); err != nil {
			return nil, err
		}
		p.repos = []string{p.emb.Host + "/" + s.ImageName()}
		s.Logf(target, "no registry configured: pushing to the embedded registry at %s", p.emb.Host)
	}
	dests := make([]publish.Destination, len(p.repos))
	for i, r := range p.repos {
		dests[i] = publish.Destination{Repository: r, Tags: tags}
	}
	start := time.Now()
	p.res, err = publish.Push(ctx, idx, dests, s.publishOptions(target)...)
	for _, r := range p.res {
		if r.Err != nil {
			s.Logf(target, "%s: failed: %v", r.Repository, r.Err)
			continue
		}
		p.digest = r.Digest.String()
		s.Logf(target, "%s: %d blobs uploaded (%s), %d already there", r.Repository, r.BlobsUploaded, humanBytes(r.BytesUploaded), r.BlobsSkipped)
		for _, ref := range r.Refs {
			s.Logf(target, "  pushed %s", ref)
			if p.emb == nil {
				p.pushed = append(p.pushed, artifact.Artifact{Type: artifact.ImagePush, Name: ref, Digest: r.Digest.String()})
			}
		}
		if p.emb != nil {
			p.pushed = s.embeddedRefs(r.Digest.String(), tags)
		}
	}
	if err != nil {
		return p, err
	}
	if p.emb != nil {
		for _, r := range p.res {
			ref := r.Repository + "@" + r.Digest.String()
			if err := publish.Verify(ctx, ref, s.publishOptions(target)...); err != nil {
				return p, fmt.Errorf("verify the push by pulling it back: %w", err)
			}
			s.Logf(target, "verified %s by pulling it back", ref)
		}
	}
	s.Logf(target, "done in %s", time.Since(start).Round(time.Millisecond))
	return p, nil
}

// tagPushed moves the release's tags in every destination pushIndex
// reached, only once the git tag exists. On failure it puts back every tag
// it moved; the states it returns let a later failure do the same.
func (s *Session) tagPushed(ctx context.Context, target string, p *pushed, tags []string) ([]publish.TagState, error) {
	// Floating tags (latest, MAJOR.MINOR) usually exist and can always be
	// put back by pointing them at their old digest; the version tag is new
	// and can only be undone by deleting it, which some registries refuse.
	// So every registry moves its floating tags before any gets the new one.
	var states []publish.TagState
	for _, phase := range [][]string{tags[min(1, len(tags)):], tags[:min(1, len(tags))]} {
		if len(phase) == 0 {
			continue
		}
		for _, repo := range p.repos {
			st, err := publish.Tag(ctx, repo, p.digest, phase, s.publishOptions(target)...)
			states = append(states, st...)
			if err != nil {
				if uerr := publish.Untag(context.WithoutCancel(ctx), states, s.publishOptions(target)...); uerr != nil {
					err = fmt.Errorf("%w; and putting the tags back failed: %v", err, uerr)
				}
				return nil, err
			}
			for _, t := range phase {
				s.Logf(target, "  pushed %s:%s (%s)", repo, t, p.digest)
			}
		}
	}
	refs := p.pushed
	if p.emb != nil {
		refs = s.embeddedRefs(p.digest, tags)
		s.Logf(target, "registry:serve serves it as %s", strings.Join(refNames(refs[1:]), ", "))
	} else {
		for _, repo := range p.repos {
			for _, t := range tags {
				refs = append(refs, artifact.Artifact{Type: artifact.ImagePush, Name: repo + ":" + t, Digest: p.digest})
			}
		}
	}
	s.Arts.Replace(artifact.ImagePush, refs...)
	return states, s.SaveArtifacts()
}

// embeddedAddr is the address registry:serve listens on, which names the
// embedded registry's images in records.
func (s *Session) embeddedAddr() string {
	if s.Cfg.Publish.EmbeddedAddr != "" {
		return s.Cfg.Publish.EmbeddedAddr
	}
	return "localhost:5000"
}

// embeddedRefs names an image pushed to the embedded registry the way
// registry:serve serves it.
func (s *Session) embeddedRefs(digest string, tags []string) []artifact.Artifact {
	repo := s.embeddedAddr() + "/" + s.ImageName()
	out := []artifact.Artifact{{Type: artifact.ImagePush, Name: repo + "@" + digest, Digest: digest}}
	for _, t := range tags {
		out = append(out, artifact.Artifact{Type: artifact.ImagePush, Name: repo + ":" + t, Digest: digest})
	}
	return out
}

// embeddedHolds returns the pushed references when the embedded registry's
// data directory already has every tag at the index digest, or nil.
func (s *Session) embeddedHolds(idx v1.ImageIndex, tags []string) ([]artifact.Artifact, error) {
	d, err := idx.Digest()
	if err != nil {
		return nil, fmt.Errorf("digest the image index: %w", err)
	}
	data, err := s.EmbeddedDataDir()
	if err != nil {
		return nil, err
	}
	for _, t := range tags {
		if !registry.Holds(data, s.ImageName(), t, d.String()) {
			return nil, nil
		}
	}
	return s.embeddedRefs(d.String(), tags), nil
}

func refNames(as []artifact.Artifact) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name
	}
	return out
}
