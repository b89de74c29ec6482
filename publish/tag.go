package publish

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// TagState records what one tag pointed at before Tag moved it, so that
// Untag can put it back.
type TagState struct {
	// Repository is the repository as given to Tag.
	Repository string
	// Tag is the tag name.
	Tag string
	// Previous is the digest the tag resolved to before, or "" when the tag
	// did not exist.
	Previous string
}

// Tag points each tag at digest in repository, after checking that the
// registry holds that manifest. It is the last, separate step of a release:
// everything is pushed by digest first, the git tag is made, and only then
// do the registry tags move. It returns the state of every tag it moved, in
// order, also when it fails part-way, so the caller can Untag them.
func Tag(ctx context.Context, repository, digest string, tags []string, opts ...Option) ([]TagState, error) {
	return tag(ctx, repository, digest, tags, nil, opts...)
}

func tag(ctx context.Context, repository, digest string, tags []string, before func(TagState) error, opts ...Option) ([]TagState, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, fmt.Errorf("tag %s: %w", repository, err)
	}
	defer o.release()
	repo, err := parseRepository(repository, o)
	if err != nil {
		return nil, fmt.Errorf("tag %s: %w", repository, err)
	}
	dref, err := digestRef(repo, digest)
	if err != nil {
		return nil, fmt.Errorf("tag %s: %q is not a digest like sha256:<64 hex>: %w", repository, digest, err)
	}
	ropts := o.remoteOptions(ctx)
	desc, err := remote.Get(dref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("tag %s: the registry does not serve %s (push it first): %w", repository, dref, explain(err, repo))
	}
	var states []TagState
	for _, t := range tags {
		tref := repo.Tag(t)
		prev := ""
		switch d, err := remote.Head(tref, ropts...); {
		case err == nil:
			prev = d.Digest.String()
		case !isStatus(err, http.StatusNotFound):
			return states, fmt.Errorf("tag %s: read the current %s: %w", repository, tref, explain(err, repo))
		}
		if prev == digest {
			continue // already there; nothing to undo either
		}
		st := TagState{Repository: repository, Tag: t, Previous: prev}
		if before != nil {
			if err := before(st); err != nil {
				return states, fmt.Errorf("tag %s: %w", tref, err)
			}
		}
		if err := remote.Tag(tref, desc, ropts...); err != nil {
			return states, fmt.Errorf("tag %s: %w", tref, explain(err, repo))
		}
		states = append(states, st)
		o.progress.note(fmt.Sprintf("tagged %s -> %s", tref, shortDigest(desc.Digest)))
	}
	return states, nil
}

// TagDigest returns the digest tag names in repository, or "" when there
// is no such tag.
func TagDigest(ctx context.Context, repository, tag string, opts ...Option) (string, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return "", fmt.Errorf("read tag %s: %w", tag, err)
	}
	defer o.release()
	repo, err := parseRepository(repository, o)
	if err != nil {
		return "", fmt.Errorf("read tag %s: %w", tag, err)
	}
	d, err := remote.Head(repo.Tag(tag), o.remoteOptions(ctx)...)
	switch {
	case err == nil:
		return d.Digest.String(), nil
	case isStatus(err, http.StatusNotFound):
		return "", nil
	}
	return "", fmt.Errorf("read %s:%s: %w", repository, tag, explain(err, repo))
}

// TagAll moves a release's tags to digest in every repository, the version
// tag tags[0] last: the floating tags that follow it (latest, MAJOR.MINOR)
// usually exist and can always be put back by pointing them at their old
// digest, while the version tag is new and can only be undone by deleting
// it, which some registries refuse. So every repository moves its floating
// tags before any gets the version tag. before, when not nil, is called
// with each tag's state before it moves, for a caller that must remember
// what to put back even if it is killed half-way. On failure TagAll puts
// back what it moved; otherwise it returns the states for a later Untag.
func TagAll(ctx context.Context, repos []string, digest string, tags []string, before func(TagState) error, opts ...Option) ([]TagState, error) {
	var states []TagState
	for _, phase := range [][]string{tags[min(1, len(tags)):], tags[:min(1, len(tags))]} {
		if len(phase) == 0 {
			continue
		}
		for _, repo := range repos {
			st, err := tag(ctx, repo, digest, phase, before, opts...)
			states = append(states, st...)
			if err != nil {
				if uerr := Untag(context.WithoutCancel(ctx), states, opts...); uerr != nil {
					err = fmt.Errorf("%w; and putting the tags back failed: %v", err, uerr)
				}
				return nil, err
			}
		}
	}
	return states, nil
}

// Untag puts tags back where Tag found them, newest first: a tag that
// existed points at its previous digest again, and a new tag is deleted.
// Registries that refuse tag deletion keep the new tag, and the error names
// it so it can be removed by hand.
func Untag(ctx context.Context, states []TagState, opts ...Option) error {
	o, err := makeOptions(opts...)
	if err != nil {
		return fmt.Errorf("untag: %w", err)
	}
	defer o.release()
	ropts := o.remoteOptions(ctx)
	var errs []error
	for i := len(states) - 1; i >= 0; i-- {
		st := states[i]
		repo, err := parseRepository(st.Repository, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		tref := repo.Tag(st.Tag)
		if st.Previous == "" {
			if err := remote.Delete(tref, ropts...); err != nil {
				errs = append(errs, fmt.Errorf("remove new tag %s (delete it by hand): %w", tref, explain(err, repo)))
			}
			continue
		}
		desc, err := remote.Get(repo.Digest(st.Previous), ropts...)
		if err == nil {
			err = remote.Tag(tref, desc, ropts...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("put %s back to %s: %w", tref, st.Previous, explain(err, repo)))
		}
	}
	return errors.Join(errs...)
}

func isStatus(err error, code int) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == code
}
