package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// registryClient speaks the few distribution-API calls a push needs to one
// repository. It does its own requests, rather than going through
// remote.Pusher, so that it can check each blob exactly once, count what was
// uploaded and what was already there, report per-blob progress, and control
// precisely when tags move.
type registryClient struct {
	repo   name.Repository
	client *http.Client
}

// newClient authenticates to repo's registry for the given scope action
// (transport.PushScope or PullScope). The ping and token exchange are
// retried like any other request.
func newClient(ctx context.Context, o *options, repo name.Repository, action string) (*registryClient, error) {
	auth, err := o.authFor(ctx, repo)
	if err != nil {
		return nil, err
	}
	var rt http.RoundTripper
	err = o.retry.do(ctx, "authenticate", func() error {
		var err error
		rt, err = transport.NewWithContext(ctx, repo.Registry, auth, o.base, []string{repo.Scope(action)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", repo.RegistryStr(), err)
	}
	return &registryClient{repo: repo, client: &http.Client{Transport: rt}}, nil
}

// url builds an API URL under this repository. The scheme is a first guess:
// the transport from NewWithContext rewrites it to whatever the ping found
// to work.
func (c *registryClient) url(suffix string) string {
	u := url.URL{
		Scheme: c.repo.Scheme(),
		Host:   c.repo.RegistryStr(),
		Path:   "/v2/" + c.repo.RepositoryStr() + "/" + suffix,
	}
	return u.String()
}

func (c *registryClient) do(req *http.Request) (*http.Response, error) {
	return c.client.Do(req)
}

// drain empties and closes a response body so the connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// blobExists asks the registry whether it already holds h in this repository.
func (c *registryClient) blobExists(ctx context.Context, h v1.Hash) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.url("blobs/"+h.String()), nil)
	if err != nil {
		return false, err
	}
	resp, err := c.do(req)
	if err != nil {
		return false, err
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, checkResponse(resp, http.StatusOK, http.StatusNotFound)
}

// startUpload opens an upload session and returns the absolute URL to send
// the blob to.
func (c *registryClient) startUpload(ctx context.Context) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("blobs/uploads/"), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	if err := checkResponse(resp, http.StatusAccepted); err != nil {
		return nil, err
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, errors.New("registry opened an upload without a Location header")
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("registry sent an unusable upload Location: %w", err)
	}
	return resp.Request.URL.ResolveReference(u), nil
}

// cancelUpload abandons an upload session; failures are ignored because the
// registry expires stale sessions anyway.
func (c *registryClient) cancelUpload(ctx context.Context, loc *url.URL) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc.String(), nil)
	if err != nil {
		return
	}
	if resp, err := c.do(req); err == nil {
		drain(resp)
	}
}

// uploadBlob sends b in one request (POST to open a session, then a single
// PUT with the content and digest), counting bytes into bar as they go.
func (c *registryClient) uploadBlob(ctx context.Context, b blobItem, bar *blobBar) error {
	loc, err := c.startUpload(ctx)
	if err != nil {
		return err
	}
	q := loc.Query()
	q.Set("digest", b.digest.String())
	loc.RawQuery = q.Encode()

	open := func() (io.ReadCloser, error) {
		rc, err := b.layer.Compressed()
		if err != nil {
			return nil, fmt.Errorf("read blob %s: %w", b.digest, err)
		}
		bar.restart()
		return bar.wrap(rc), nil
	}
	body, err := open()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), body)
	if err != nil {
		body.Close()
		return err
	}
	// A registry may redirect the upload elsewhere; let net/http replay it.
	req.GetBody = open
	req.ContentLength = b.size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer drain(resp)
	if err := checkResponse(resp, http.StatusCreated); err != nil {
		return err
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != b.digest.String() {
		return fmt.Errorf("registry stored blob as %s, want %s", got, b.digest)
	}
	return nil
}

// putManifest stores raw under ref, which is either a digest or a tag, and
// checks that the registry agrees on the digest.
func (c *registryClient) putManifest(ctx context.Context, ref string, mt types.MediaType, raw []byte, want v1.Hash) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url("manifests/"+ref), bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", string(mt))
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer drain(resp)
	if err := checkResponse(resp, http.StatusOK, http.StatusCreated, http.StatusAccepted); err != nil {
		return err
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != want.String() {
		return fmt.Errorf("registry stored manifest %s as %s, want %s", ref, got, want)
	}
	return nil
}
