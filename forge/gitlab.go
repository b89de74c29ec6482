package forge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// gitlabClient speaks GitLab's REST API through its Go client. GitLab has
// no draft releases: the files go to the project's generic package
// registry first (the package is named like the repository, its version
// is the tag), which is the draft, and Publish creates the release with links to them.
type gitlabClient struct {
	repo  Repo
	api   *gitlab.Client
	token string
}

// NewGitLab returns a client for repo on gitlab.com or a self-hosted
// GitLab at repo.URL.
func NewGitLab(repo Repo, token string, hc *http.Client) (Client, error) {
	if token == "" {
		return nil, fmt.Errorf("no token for %s: set %s", repo, GitLab.TokenVar())
	}
	opts := []gitlab.ClientOptionFunc{gitlab.WithBaseURL(strings.TrimSuffix(repo.URL, "/") + "/api/v4"), gitlab.WithoutRetries(), gitlab.WithUserAgent("hoist")}
	if hc != nil {
		opts = append(opts, gitlab.WithHTTPClient(hc))
	}
	api, err := gitlab.NewClient(token, opts...)
	if err != nil {
		return nil, fmt.Errorf("GitLab client for %s: %w", repo, errors.New(Redact(err.Error(), token)))
	}
	return &gitlabClient{repo: repo, api: api, token: token}, nil
}

func (c *gitlabClient) Repo() Repo { return c.repo }

func (c *gitlabClient) err(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gitlab.ErrNotFound) {
		return &HTTPError{Status: http.StatusNotFound, Msg: "not found"}
	}
	var er *gitlab.ErrorResponse
	if errors.As(err, &er) && er.StatusCode != 0 {
		return &HTTPError{Status: er.StatusCode, Msg: Redact(er.Message, c.token)}
	}
	return errors.New(Redact(err.Error(), c.token))
}

func notFound(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.Status == http.StatusNotFound
}

func (c *gitlabClient) Check(ctx context.Context) (string, error) {
	p, _, err := c.api.Projects.GetProject(c.repo.Path, nil, gitlab.WithContext(ctx))
	if err != nil {
		return "", accessError(c.repo, c.err(err))
	}
	level := gitlab.AccessLevelValue(0)
	if p.Permissions != nil {
		if a := p.Permissions.ProjectAccess; a != nil {
			level = max(level, a.AccessLevel)
		}
		if a := p.Permissions.GroupAccess; a != nil {
			level = max(level, a.AccessLevel)
		}
		if level < gitlab.DeveloperPermissions {
			return "", fmt.Errorf("the %s token has access level %d on %s; releases and packages need Developer (30) or higher, and a token with the api scope", GitLab.TokenVar(), level, c.repo)
		}
	}
	return "", nil
}

// pkg finds the generic package that holds tag's files.
func (c *gitlabClient) pkg(ctx context.Context, name, tag string) (*gitlab.Package, error) {
	ps, _, err := c.api.Packages.ListProjectPackages(c.repo.Path, &gitlab.ListProjectPackagesOptions{
		PackageType: new("generic"), PackageName: &name, PackageVersion: &tag,
	}, gitlab.WithContext(ctx))
	if err != nil {
		return nil, c.err(err)
	}
	for _, p := range ps {
		if p.Name == name && p.Version == tag {
			return p, nil
		}
	}
	return nil, nil
}

func (c *gitlabClient) files(ctx context.Context, id int64) ([]RemoteAsset, error) {
	var out []RemoteAsset
	opt := &gitlab.ListPackageFilesOptions{ListOptions: gitlab.ListOptions{PerPage: 100}}
	for {
		fs, resp, err := c.api.Packages.ListPackageFiles(c.repo.Path, id, opt, gitlab.WithContext(ctx))
		if err != nil {
			return nil, c.err(err)
		}
		for _, f := range fs {
			out = append(out, RemoteAsset{ID: f.ID, Name: f.FileName, Size: f.Size, SHA256: f.FileSHA256})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// Find looks for the release; without one, the package of its files is
// the draft.
func (c *gitlabClient) Find(ctx context.Context, tag string) (*Release, error) {
	return c.find(ctx, c.repo.Name(), tag)
}

func (c *gitlabClient) find(ctx context.Context, name, tag string) (*Release, error) {
	r, _, err := c.api.Releases.GetRelease(c.repo.Path, tag, gitlab.WithContext(ctx))
	if err = c.err(err); err != nil && !notFound(err) {
		return nil, err
	}
	p, perr := c.pkg(ctx, name, tag)
	if perr != nil {
		return nil, perr
	}
	rel := &Release{Tag: tag, Draft: err != nil}
	if err == nil {
		rel.URL = r.Links.Self
		if rel.URL == "" {
			rel.URL = strings.TrimSuffix(c.repo.URL, "/") + "/" + c.repo.Path + "/-/releases/" + tag
		}
	}
	if p == nil {
		if rel.Draft {
			return nil, nil
		}
		return rel, nil
	}
	rel.ID = p.ID
	if rel.Assets, err = c.files(ctx, p.ID); err != nil {
		return nil, err
	}
	return rel, nil
}

func (c *gitlabClient) Create(_ context.Context, s Spec) (*Release, error) {
	// The package comes into being with its first file.
	return &Release{Tag: s.Tag, Draft: true}, nil
}

func (c *gitlabClient) Update(context.Context, *Release, Spec) error { return nil }

func (c *gitlabClient) Upload(ctx context.Context, rel *Release, a Asset) (RemoteAsset, error) {
	f, err := os.Open(a.Path)
	if err != nil {
		return RemoteAsset{}, err
	}
	defer f.Close()
	sel := gitlab.SelectPackageFile
	pf, _, err := c.api.GenericPackages.PublishPackageFile(c.repo.Path, c.repo.Name(), rel.Tag, a.Name, f, &gitlab.PublishPackageFileOptions{Select: &sel}, gitlab.WithContext(ctx))
	if err != nil {
		return RemoteAsset{}, c.err(err)
	}
	rel.ID = pf.PackageID
	return RemoteAsset{ID: pf.ID, Name: pf.FileName, Size: pf.Size, SHA256: pf.FileSHA256}, nil
}

func (c *gitlabClient) DeleteAsset(ctx context.Context, rel *Release, a RemoteAsset) error {
	_, err := c.api.Packages.DeletePackageFile(c.repo.Path, rel.ID, a.ID, gitlab.WithContext(ctx))
	return c.err(err)
}

func (c *gitlabClient) Download(ctx context.Context, rel *Release, a RemoteAsset) (io.ReadCloser, error) {
	data, _, err := c.api.GenericPackages.DownloadPackageFile(c.repo.Path, c.repo.Name(), rel.Tag, a.Name, gitlab.WithContext(ctx))
	if err != nil {
		return nil, c.err(err)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (c *gitlabClient) Publish(ctx context.Context, rel *Release, s Spec) (*Release, error) {
	var links []*gitlab.ReleaseAssetLinkOptions
	for _, a := range rel.Assets {
		full := c.packageURL(rel.Tag, a.Name)
		links = append(links, &gitlab.ReleaseAssetLinkOptions{Name: new(a.Name), URL: &full, DirectAssetPath: new("/" + a.Name), LinkType: new(gitlab.PackageLinkType)})
	}
	_, _, err := c.api.Releases.CreateRelease(c.repo.Path, &gitlab.CreateReleaseOptions{
		Name: &s.Name, TagName: &s.Tag, Description: &s.Notes, Assets: &gitlab.ReleaseAssetsOptions{Links: links},
	}, gitlab.WithContext(ctx))
	if err != nil {
		return nil, c.err(err)
	}
	return c.find(ctx, c.repo.Name(), s.Tag)
}

// packageURL is where a package file downloads from, as a release link
// names it.
func (c *gitlabClient) packageURL(tag, file string) string {
	return strings.TrimSuffix(c.repo.URL, "/") + "/api/v4/projects/" + url.PathEscape(c.repo.Path) +
		"/packages/generic/" + url.PathEscape(c.repo.Name()) + "/" + url.PathEscape(tag) + "/" + url.PathEscape(file)
}

func (c *gitlabClient) Delete(ctx context.Context, rel *Release) error {
	if rel.ID == 0 {
		return nil
	}
	_, err := c.api.Packages.DeleteProjectPackage(c.repo.Path, rel.ID, gitlab.WithContext(ctx))
	return c.err(err)
}

var _ Client = (*gitlabClient)(nil)
