package forge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"code.gitea.io/sdk/gitea"
)

// giteaClient speaks the API of Gitea and Forgejo through Gitea's SDK.
type giteaClient struct {
	repo  Repo
	api   *gitea.Client
	hc    *http.Client
	token string
}

// NewGitea returns a client for repo on a Gitea or Forgejo server.
func NewGitea(repo Repo, token string, hc *http.Client) (Client, error) {
	if token == "" {
		return nil, fmt.Errorf("no token for %s: set %s", repo, Gitea.TokenVar())
	}
	if hc == nil {
		hc = &http.Client{}
	}
	// The SDK would ask the server's version on creation; Check asks
	// instead, so that an unreachable server is reported with the fix.
	api, err := gitea.NewClient(strings.TrimSuffix(repo.URL, "/"), gitea.SetToken(token), gitea.SetHTTPClient(hc), gitea.SetGiteaVersion(""), gitea.SetUserAgent("hoist"))
	if err != nil {
		return nil, fmt.Errorf("Gitea client for %s: %w", repo, errors.New(Redact(err.Error(), token)))
	}
	return &giteaClient{repo: repo, api: api, hc: hc, token: token}, nil
}

func (c *giteaClient) Repo() Repo { return c.repo }

// with sets ctx on the SDK's client, which takes it per client rather
// than per call; the stages call one method at a time.
func (c *giteaClient) with(ctx context.Context) *gitea.Client {
	c.api.SetContext(ctx)
	return c.api
}

func (c *giteaClient) err(resp *gitea.Response, err error) error {
	if err == nil {
		return nil
	}
	msg := Redact(err.Error(), c.token)
	if resp != nil && resp.Response != nil && resp.StatusCode >= 400 {
		return &HTTPError{Status: resp.StatusCode, Msg: msg}
	}
	return errors.New(msg)
}

func (c *giteaClient) Check(ctx context.Context) (string, error) {
	u, resp, err := c.with(ctx).GetMyUserInfo()
	if err != nil {
		return "", accessError(c.repo, c.err(resp, err))
	}
	r, resp, err := c.with(ctx).GetRepo(c.repo.Owner(), c.repo.Name())
	if err != nil {
		return "", accessError(c.repo, c.err(resp, err))
	}
	if r.Permissions != nil && !r.Permissions.Push {
		return u.UserName, fmt.Errorf("the %s token (user %s) can read %s but not write to it: releases need write access; add the user as a collaborator with write permission, or use another user's token", Gitea.TokenVar(), u.UserName, c.repo)
	}
	return u.UserName, nil
}

func (c *giteaClient) release(r *gitea.Release) *Release {
	rel := &Release{ID: r.ID, Tag: r.TagName, Draft: r.IsDraft, URL: r.HTMLURL}
	for _, a := range r.Attachments {
		rel.Assets = append(rel.Assets, c.asset(a))
	}
	return rel
}

func (c *giteaClient) asset(a *gitea.Attachment) RemoteAsset {
	u := a.DownloadURL
	if a.UUID != "" {
		// The tag's download path does not exist until the draft is
		// published; the attachment's own path always does.
		u = strings.TrimSuffix(c.repo.URL, "/") + "/attachments/" + a.UUID
	}
	return RemoteAsset{ID: a.ID, Name: a.Name, Size: a.Size, URL: u}
}

func (c *giteaClient) Find(ctx context.Context, tag string) (*Release, error) {
	for page := 1; page <= 50; page++ {
		rs, resp, err := c.with(ctx).ListReleases(c.repo.Owner(), c.repo.Name(), gitea.ListReleasesOptions{ListOptions: gitea.ListOptions{Page: page, PageSize: 50}})
		if err != nil {
			return nil, c.err(resp, err)
		}
		for _, r := range rs {
			if r.TagName == tag {
				return c.release(r), nil
			}
		}
		if len(rs) == 0 || resp.NextPage == 0 {
			return nil, nil
		}
	}
	return nil, nil
}

func (c *giteaClient) Create(ctx context.Context, s Spec) (*Release, error) {
	r, resp, err := c.with(ctx).CreateRelease(c.repo.Owner(), c.repo.Name(), gitea.CreateReleaseOption{
		TagName: s.Tag, Target: s.Commit, Title: s.Name, Note: s.Notes, IsDraft: true, IsPrerelease: s.Prerelease,
	})
	if err != nil {
		return nil, c.err(resp, err)
	}
	return c.release(r), nil
}

func (c *giteaClient) Update(ctx context.Context, rel *Release, s Spec) error {
	_, resp, err := c.with(ctx).EditRelease(c.repo.Owner(), c.repo.Name(), rel.ID, gitea.EditReleaseOption{
		TagName: s.Tag, Target: s.Commit, Title: s.Name, Note: s.Notes, IsPrerelease: &s.Prerelease,
	})
	return c.err(resp, err)
}

func (c *giteaClient) Upload(ctx context.Context, rel *Release, a Asset) (RemoteAsset, error) {
	f, err := os.Open(a.Path)
	if err != nil {
		return RemoteAsset{}, err
	}
	defer f.Close()
	at, resp, err := c.with(ctx).CreateReleaseAttachment(c.repo.Owner(), c.repo.Name(), rel.ID, f, a.Name)
	if err != nil {
		return RemoteAsset{}, c.err(resp, err)
	}
	return c.asset(at), nil
}

func (c *giteaClient) DeleteAsset(ctx context.Context, rel *Release, a RemoteAsset) error {
	resp, err := c.with(ctx).DeleteReleaseAttachment(c.repo.Owner(), c.repo.Name(), rel.ID, a.ID)
	return c.err(resp, err)
}

func (c *giteaClient) Download(ctx context.Context, _ *Release, a RemoteAsset) (io.ReadCloser, error) {
	// The download URL serves a draft's files to its repository's
	// writers only, so the token goes along: it is the forge's own host.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "token "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, errors.New(Redact(err.Error(), c.token))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, &HTTPError{Status: resp.StatusCode, Msg: "download " + a.Name}
	}
	return resp.Body, nil
}

func (c *giteaClient) Publish(ctx context.Context, rel *Release, s Spec) (*Release, error) {
	r, resp, err := c.with(ctx).EditRelease(c.repo.Owner(), c.repo.Name(), rel.ID, gitea.EditReleaseOption{
		TagName: s.Tag, Title: s.Name, Note: s.Notes, IsDraft: new(false), IsPrerelease: &s.Prerelease,
	})
	if err != nil {
		return nil, c.err(resp, err)
	}
	return c.release(r), nil
}

func (c *giteaClient) Delete(ctx context.Context, rel *Release) error {
	resp, err := c.with(ctx).DeleteRelease(c.repo.Owner(), c.repo.Name(), rel.ID)
	return c.err(resp, err)
}

var _ Client = (*giteaClient)(nil)
