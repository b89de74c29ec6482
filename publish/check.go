package publish

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// Check makes sure a push to repository can work before anything is built:
// the registry answers on /v2/, the credentials are accepted, and they carry
// push rights (a push-scoped token is obtained and an upload session is
// opened, then abandoned). The error says whether the registry is
// unreachable or the credentials are wrong, and how to fix it; it matches
// ErrUnreachable, ErrUnauthorized, ErrForbidden, ErrUntrustedCert or
// ErrPlainHTTP with errors.Is.
func Check(ctx context.Context, repository string, opts ...Option) (err error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer o.release()
	repo, err := parseRepository(repository, o)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("check %s: %w", repository, explain(err, repo))
		}
	}()
	o.warnInsecure(ctx, repo.RegistryStr())

	// Authenticating for the push scope catches most problems. Some
	// registries hand out tokens for any scope and refuse only at the first
	// write, so an upload session is opened too, and abandoned.
	auth, err := o.authFor(ctx, repo)
	if err != nil {
		return err
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, o.base, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return fmt.Errorf("authenticate for a push: %w", err)
	}
	client := &http.Client{Transport: rt}
	u := url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + "/blobs/uploads/"}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("open a test upload: %w", err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusAccepted); err != nil {
		return fmt.Errorf("open a test upload: %w", err)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		if lu, err := resp.Request.URL.Parse(loc); err == nil {
			if dreq, err := http.NewRequestWithContext(ctx, http.MethodDelete, lu.String(), nil); err == nil {
				if dresp, err := client.Do(dreq); err == nil {
					dresp.Body.Close()
				}
			}
		}
	}
	return nil
}

// Verify pulls ref, which must name a digest (repo@sha256:…), back from its
// registry and validates it: the index or image manifest, every child
// manifest and config, and the presence of every layer (each is fetched and
// digested instead with WithFullVerify). A push to the embedded registry
// uses it to prove the result is complete.
func Verify(ctx context.Context, ref string, opts ...Option) (err error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer o.release()
	repoStr, dig, ok := strings.Cut(ref, "@")
	if !ok {
		return fmt.Errorf("verify %s: not a digest reference: use repo@sha256:<hex>, as listed in Result.Refs", ref)
	}
	repo, err := parseRepository(repoStr, o)
	if err != nil {
		return fmt.Errorf("verify %s: %w", ref, err)
	}
	d, err := digestRef(repo, dig)
	if err != nil {
		return fmt.Errorf("verify %s: digest %q is malformed: %w", ref, dig, err)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("verify %s: %w", ref, explain(err, repo))
		}
	}()

	desc, err := remote.Get(d, o.remoteOptions(ctx)...)
	if err != nil {
		return err
	}
	var vopts []validate.Option
	if !o.full {
		vopts = append(vopts, validate.Fast)
	}
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return err
		}
		return checkIndex(idx, vopts)
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return err
		}
		return validate.Image(img, vopts...)
	}
	return fmt.Errorf("media type %q is neither an image nor an index", desc.MediaType)
}

// checkIndex validates idx and, because validate.Index silently passes
// entries of media types it does not know, insists that every entry is an
// image or an index.
func checkIndex(idx v1.ImageIndex, vopts []validate.Option) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	if len(im.Manifests) == 0 {
		return errors.New("index lists no manifests")
	}
	for _, desc := range im.Manifests {
		if !desc.MediaType.IsImage() && !desc.MediaType.IsIndex() {
			return fmt.Errorf("index entry %s has media type %q, which is neither an image nor an index", desc.Digest, desc.MediaType)
		}
	}
	return validate.Index(idx, vopts...)
}
