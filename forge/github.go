package forge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-github/v89/github"
)

// githubClient speaks GitHub's REST API through go-github.
type githubClient struct {
	repo  Repo
	api   *github.Client
	token string
}

// NewGitHub returns a client for repo on github.com, or on a GitHub
// Enterprise server when repo.URL is not https://github.com.
func NewGitHub(repo Repo, token string, hc *http.Client) (Client, error) {
	if token == "" {
		return nil, fmt.Errorf("no token for %s: set %s", repo, GitHub.TokenVar())
	}
	opts := []github.ClientOptionsFunc{github.WithAuthToken(token), github.WithUserAgent("hoist")}
	if hc != nil {
		opts = append(opts, github.WithHTTPClient(hc))
	}
	if base := strings.TrimSuffix(repo.URL, "/"); base != "https://github.com" && base != "" {
		opts = append(opts, github.WithEnterpriseURLs(base+"/", base+"/"))
	}
	api, err := github.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("GitHub client for %s: %w", repo, err)
	}
	return &githubClient{repo: repo, api: api, token: token}, nil
}

func (c *githubClient) Repo() Repo { return c.repo }

func (c *githubClient) err(err error) error {
	if err == nil {
		return nil
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		msg := er.Message
		for _, e := range er.Errors {
			msg += "; " + e.Error()
		}
		return &HTTPError{Status: er.Response.StatusCode, Msg: Redact(msg, c.token)}
	}
	return errors.New(Redact(err.Error(), c.token))
}

func (c *githubClient) Check(ctx context.Context) (string, error) {
	r, resp, err := c.api.Repositories.Get(ctx, c.repo.Owner(), c.repo.Name())
	if err != nil {
		return "", accessError(c.repo, c.err(err))
	}
	// Classic tokens list their scopes; fine-grained and Actions tokens
	// do not, and then the repository's permissions below decide.
	if scopes := resp.Header.Get("X-OAuth-Scopes"); resp.Header.Values("X-OAuth-Scopes") != nil {
		ok := false
		for _, s := range strings.Split(scopes, ",") {
			s = strings.TrimSpace(s)
			ok = ok || s == "repo" || (s == "public_repo" && !r.GetPrivate())
		}
		if !ok {
			return "", fmt.Errorf("the %s token has the scopes %q, which cannot create releases on %s: give it the repo scope (public_repo for a public repository)", GitHub.TokenVar(), scopes, c.repo)
		}
	}
	if p := r.GetPermissions(); p != nil && p.Push != nil && !p.GetPush() {
		return "", fmt.Errorf("the %s token can read %s but not write to it: releases need write access (in GitHub Actions, `permissions: contents: write`)", GitHub.TokenVar(), c.repo)
	}
	return "", nil
}

// accessError turns a refusal to read the repository into what to fix.
func accessError(repo Repo, err error) error {
	var he *HTTPError
	if errors.As(err, &he) {
		switch he.Status {
		case http.StatusUnauthorized:
			return fmt.Errorf("%s refuses the %s token (%v): it is wrong or expired; set a valid one", repo, repo.Kind.TokenVar(), err)
		case http.StatusForbidden, http.StatusNotFound:
			return fmt.Errorf("the %s token cannot read %s (%v): check the repository's name (Forge.Repository) and give the token access to it", repo.Kind.TokenVar(), repo, err)
		}
	}
	return fmt.Errorf("reach %s: %w", repo, err)
}

func (c *githubClient) release(r *github.RepositoryRelease) *Release {
	rel := &Release{ID: r.ID, Tag: r.TagName, Draft: r.Draft, URL: r.HTMLURL}
	for _, a := range r.Assets {
		rel.Assets = append(rel.Assets, githubAsset(a))
	}
	return rel
}

func githubAsset(a *github.ReleaseAsset) RemoteAsset {
	sum, _ := strings.CutPrefix(a.GetDigest(), "sha256:")
	if !strings.HasPrefix(a.GetDigest(), "sha256:") {
		sum = ""
	}
	return RemoteAsset{ID: a.GetID(), Name: a.GetName(), Size: int64(a.GetSize()), SHA256: sum, URL: a.GetBrowserDownloadURL()}
}

func (c *githubClient) Find(ctx context.Context, tag string) (*Release, error) {
	// The tag lookup does not see drafts, so the list is searched.
	opts := &github.ListOptions{PerPage: 100}
	for page := 0; page < 20; page++ {
		rs, resp, err := c.api.Repositories.ListReleases(ctx, c.repo.Owner(), c.repo.Name(), opts)
		if err != nil {
			return nil, c.err(err)
		}
		for _, r := range rs {
			if r.TagName == tag {
				return c.release(r), nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
	return nil, nil
}

func (c *githubClient) Create(ctx context.Context, s Spec) (*Release, error) {
	// No target_commitish: GitHub refuses a commit it does not have yet
	// (422, invalid target_commitish), and the release commit is pushed
	// only later; the tag exists by the time the draft is published, and
	// the target is then unused.
	r, _, err := c.api.Repositories.CreateRelease(ctx, c.repo.Owner(), c.repo.Name(), github.CreateReleaseRequest{
		TagName: s.Tag, Name: &s.Name, Body: &s.Notes, Draft: github.Ptr(true), Prerelease: &s.Prerelease,
	})
	if err != nil {
		return nil, c.err(err)
	}
	return c.release(r), nil
}

func (c *githubClient) Update(ctx context.Context, rel *Release, s Spec) error {
	_, _, err := c.api.Repositories.UpdateRelease(ctx, c.repo.Owner(), c.repo.Name(), rel.ID, github.UpdateReleaseRequest{
		Name: &s.Name, Body: &s.Notes, Prerelease: &s.Prerelease,
	})
	return c.err(err)
}

func (c *githubClient) Upload(ctx context.Context, rel *Release, a Asset) (RemoteAsset, error) {
	f, err := os.Open(a.Path)
	if err != nil {
		return RemoteAsset{}, err
	}
	defer f.Close()
	ra, _, err := c.api.Repositories.UploadReleaseAsset(ctx, c.repo.Owner(), c.repo.Name(), rel.ID, &github.UploadOptions{Name: a.Name, MediaType: "application/octet-stream"}, f)
	if err != nil {
		return RemoteAsset{}, c.err(err)
	}
	return githubAsset(ra), nil
}

func (c *githubClient) DeleteAsset(ctx context.Context, _ *Release, a RemoteAsset) error {
	_, err := c.api.Repositories.DeleteReleaseAsset(ctx, c.repo.Owner(), c.repo.Name(), a.ID)
	return c.err(err)
}

func (c *githubClient) Download(ctx context.Context, _ *Release, a RemoteAsset) (io.ReadCloser, error) {
	// Assets redirect to storage elsewhere; that request must not carry
	// the token, so it goes through a plain client.
	rc, _, err := c.api.Repositories.DownloadReleaseAsset(ctx, c.repo.Owner(), c.repo.Name(), a.ID, http.DefaultClient)
	if err != nil {
		return nil, c.err(err)
	}
	return rc, nil
}

func (c *githubClient) Publish(ctx context.Context, rel *Release, s Spec) (*Release, error) {
	latest := "false"
	if s.Latest {
		latest = "true"
	}
	r, _, err := c.api.Repositories.UpdateRelease(ctx, c.repo.Owner(), c.repo.Name(), rel.ID, github.UpdateReleaseRequest{
		TagName: &s.Tag, Draft: github.Ptr(false), Prerelease: &s.Prerelease, MakeLatest: &latest,
	})
	if err != nil {
		return nil, c.err(err)
	}
	return c.release(r), nil
}

func (c *githubClient) Delete(ctx context.Context, rel *Release) error {
	_, err := c.api.Repositories.DeleteRelease(ctx, c.repo.Owner(), c.repo.Name(), rel.ID)
	return c.err(err)
}

var _ Client = (*githubClient)(nil)
