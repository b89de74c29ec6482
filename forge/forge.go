// Package forge publishes a release on the forge that hosts the
// repository: GitHub (and GitHub Enterprise), GitLab, and Gitea or
// Forgejo. A release there is a page for the git tag with the notes and
// every file of the release as a download, each verified by size and
// SHA-256 after upload.
//
// Nobody may see half a release, so it is made in two steps. Draft creates
// an unpublished release for the tag, or finds the one an interrupted run
// left, and converges its assets: an asset already there with the same
// digest is kept, a different one is replaced, one the release no longer
// has is removed. Publish makes it public, once the git tag is on the
// forge. Discard removes a draft after a failure; it never touches a
// published release. All three are safe to run again.
//
// GitLab has no draft releases: there, Draft uploads the files to the
// project's generic package registry (a package named like the
// repository, its version the tag),
// and Publish creates the release with links to them.
//
// The package reads no environment variables: the caller passes the token.
// Tokens never appear in errors, output or artifacts.
package forge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
)

// Kind names a forge's API.
type Kind string

// The forges hoist publishes to.
const (
	GitHub Kind = "github"
	GitLab Kind = "gitlab"
	Gitea  Kind = "gitea" // Forgejo speaks the same API
)

// Kinds are the valid values of a configured forge kind.
var Kinds = []Kind{GitHub, GitLab, Gitea}

// ParseKind reads a kind as configured; "forgejo" is Gitea's API.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.ToLower(strings.TrimSpace(s))); k {
	case GitHub, GitLab, Gitea:
		return k, nil
	case "forgejo":
		return Gitea, nil
	}
	return "", fmt.Errorf("unknown forge %q: use github, gitlab, gitea or forgejo", s)
}

// TokenVar is the environment variable that holds the token of kind.
func (k Kind) TokenVar() string {
	switch k {
	case GitLab:
		return "GITLAB_TOKEN"
	case Gitea:
		return "GITEA_TOKEN"
	}
	return "GITHUB_TOKEN"
}

// Repo is a repository on a forge.
type Repo struct {
	// Kind is the forge's API.
	Kind Kind
	// URL is the forge's web address, such as https://github.com or
	// https://git.example.com/gitea (a sub-path is kept).
	URL string
	// Path is OWNER/NAME; on GitLab GROUP/SUBGROUP/NAME.
	Path string
}

// Owner is the part of Path before the last slash.
func (r Repo) Owner() string { o, _ := splitPath(r.Path); return o }

// Name is the last element of Path.
func (r Repo) Name() string { _, n := splitPath(r.Path); return n }

func splitPath(p string) (string, string) {
	i := strings.LastIndex(p, "/")
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// String names the repository as host/path, for messages and plans.
func (r Repo) String() string {
	u, err := url.Parse(r.URL)
	if err != nil || u.Host == "" {
		return r.URL + "/" + r.Path
	}
	return strings.TrimSuffix(u.Host+u.Path, "/") + "/" + r.Path
}

// knownHosts are the public forges recognised from a remote's host alone.
var knownHosts = map[string]Kind{
	"github.com":   GitHub,
	"gitlab.com":   GitLab,
	"gitea.com":    Gitea,
	"codeberg.org": Gitea,
}

var scpLike = regexp.MustCompile(`^(?:[^@/]+@)?([^:/]+):(.+)$`)

// Remote is a git remote URL read for its forge: the host's web address
// (https, or http when the remote itself is plain http) and the
// repository's path, with any credentials dropped.
type Remote struct {
	// URL is the web address of the host, such as https://github.com.
	URL string
	// Host is the host name without port.
	Host string
	// Path is the repository's path without .git.
	Path string
}

// ParseRemote reads the URL of a git remote: https://host/owner/name.git,
// ssh://git@host:22/owner/name.git or git@host:owner/name.git.
func ParseRemote(remote string) (Remote, error) {
	remote = strings.TrimSpace(remote)
	var r Remote
	if u, err := url.Parse(remote); err == nil && u.Scheme != "" && u.Host != "" {
		scheme := "https"
		if u.Scheme == "http" {
			scheme = "http"
		}
		host := u.Host
		if u.Scheme != "http" && u.Scheme != "https" {
			host = u.Hostname() // an ssh port says nothing about the web's
		}
		r = Remote{URL: scheme + "://" + host, Host: u.Hostname(), Path: u.Path}
	} else if m := scpLike.FindStringSubmatch(remote); m != nil && !strings.Contains(m[1], "\\") {
		r = Remote{URL: "https://" + m[1], Host: m[1], Path: m[2]}
	} else {
		return Remote{}, fmt.Errorf("cannot read the remote URL %q as a forge repository: set Forge.URL and Forge.Repository", redact(remote))
	}
	r.Path = strings.TrimSuffix(strings.Trim(r.Path, "/"), ".git")
	if !strings.Contains(r.Path, "/") {
		return Remote{}, fmt.Errorf("the remote URL %q names no OWNER/NAME repository: set Forge.Repository", redact(remote))
	}
	return r, nil
}

// KindOfHost is the forge a public host runs, if hoist knows it.
func KindOfHost(host string) (Kind, bool) {
	k, ok := knownHosts[strings.ToLower(host)]
	return k, ok
}

var userinfo = regexp.MustCompile(`(://)[^/@\s]+@`)

// redact removes credentials from URLs in s.
func redact(s string) string { return userinfo.ReplaceAllString(s, "$1") }

// Redact removes credentials from every URL in s and every occurrence of
// the secrets given, for text that goes to output.
func Redact(s string, secrets ...string) string {
	s = redact(s)
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

// Spec is the release to publish.
type Spec struct {
	// Tag is the git tag, such as v1.2.3.
	Tag string
	// Commit is the commit the tag names.
	Commit string
	// Name is the release's title.
	Name string
	// Notes is its description, in Markdown.
	Notes string
	// Prerelease marks it a prerelease.
	Prerelease bool
	// Latest marks it the repository's latest release (GitHub; the other
	// forges decide by date).
	Latest bool
}

// Asset is a file of the release.
type Asset struct {
	// Name is the file name on the release page.
	Name string
	// Path is the local file.
	Path string
	// Size is its length in bytes.
	Size int64
	// SHA256 is its digest, in hex.
	SHA256 string
}

// FileAsset describes the local file at p, named as its base name.
func FileAsset(p string) (Asset, error) {
	f, err := os.Open(p)
	if err != nil {
		return Asset{}, fmt.Errorf("release asset: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Asset{}, fmt.Errorf("release asset %s: %w", p, err)
	}
	return Asset{Name: path.Base(strings.ReplaceAll(p, "\\", "/")), Path: p, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Remote release and asset, as a forge reports them.
type (
	// Release is a release on the forge.
	Release struct {
		// ID is the forge's identifier; 0 for GitLab's unpublished files.
		ID int64
		// Tag is the git tag it is for.
		Tag string
		// Draft is true while it is unpublished.
		Draft bool
		// URL is its web page, when known.
		URL string
		// Assets are its files.
		Assets []RemoteAsset
	}
	// RemoteAsset is a file on a release.
	RemoteAsset struct {
		// ID is the forge's identifier.
		ID int64
		// Name is the file name.
		Name string
		// Size is the length the forge reports.
		Size int64
		// SHA256 is the digest the forge reports, in hex, or "" when it
		// reports none (the file is then downloaded to check it).
		SHA256 string
		// URL downloads it.
		URL string
	}
)

// Client is one forge's API, as Draft, Publish and Discard use it. Each
// method does one thing; the rules about what to keep or replace live in
// this package, the same for every forge.
type Client interface {
	// Repo is the repository the client works on.
	Repo() Repo
	// Check proves the token can read the repository and write its
	// releases, and says who it is.
	Check(ctx context.Context) (string, error)
	// Find returns the release of tag, draft or not, or nil.
	Find(ctx context.Context, tag string) (*Release, error)
	// Create makes a draft release.
	Create(ctx context.Context, s Spec) (*Release, error)
	// Update sets a draft's name, notes and flags.
	Update(ctx context.Context, r *Release, s Spec) error
	// Upload adds a file to a draft.
	Upload(ctx context.Context, r *Release, a Asset) (RemoteAsset, error)
	// DeleteAsset removes a file from a draft.
	DeleteAsset(ctx context.Context, r *Release, a RemoteAsset) error
	// Download opens an uploaded file, to check its digest.
	Download(ctx context.Context, r *Release, a RemoteAsset) (io.ReadCloser, error)
	// Publish makes the draft public; the tag is on the forge by then.
	Publish(ctx context.Context, r *Release, s Spec) (*Release, error)
	// Delete removes a draft and its files.
	Delete(ctx context.Context, r *Release) error
}

// Report says what Draft did to the assets.
type Report struct {
	// Release is the draft.
	Release *Release
	// Created is true when Draft made the release rather than finding it.
	Created bool
	// Kept, Uploaded and Removed name assets by file name.
	Kept, Uploaded, Removed []string
}

// ErrPublished is returned by Draft when the tag's release is already
// public: a release once published is never changed by hoist.
var ErrPublished = errors.New("the release is already published")

// Draft creates or updates the unpublished release of s.Tag and converges
// its files to assets, verifying each upload.
func Draft(ctx context.Context, c Client, s Spec, assets []Asset) (*Report, error) {
	where := c.Repo().String()
	rel, err := c.Find(ctx, s.Tag)
	if err != nil {
		return nil, fmt.Errorf("find the release of %s on %s: %w", s.Tag, where, err)
	}
	rep := &Report{}
	switch {
	case rel != nil && !rel.Draft:
		return nil, fmt.Errorf("%s on %s: %w; releasing it again would change what users downloaded", s.Tag, where, ErrPublished)
	case rel == nil:
		if rel, err = c.Create(ctx, s); err != nil {
			return nil, fmt.Errorf("create the draft release %s on %s: %w", s.Tag, where, err)
		}
		rep.Created = true
	default:
		if err := c.Update(ctx, rel, s); err != nil {
			return nil, fmt.Errorf("update the draft release %s on %s: %w", s.Tag, where, err)
		}
	}
	rep.Release = rel
	want := map[string]Asset{}
	for _, a := range assets {
		want[a.Name] = a
	}
	have := map[string]RemoteAsset{}
	for _, ra := range rel.Assets {
		a, ok := want[ra.Name]
		if ok {
			if _, dup := have[ra.Name]; !dup && ra.Size == a.Size {
				if sum, err := digest(ctx, c, rel, ra); err == nil && sum == a.SHA256 {
					have[ra.Name] = ra
					rep.Kept = append(rep.Kept, ra.Name)
					continue
				}
			}
		}
		// Not ours, a duplicate, or different: it goes.
		if err := c.DeleteAsset(ctx, rel, ra); err != nil {
			return rep, fmt.Errorf("remove %s from the draft release %s on %s: %w", ra.Name, s.Tag, where, err)
		}
		rep.Removed = append(rep.Removed, ra.Name)
	}
	var kept []RemoteAsset
	for _, ra := range rel.Assets {
		if h, ok := have[ra.Name]; ok && h.ID == ra.ID {
			kept = append(kept, ra)
		}
	}
	rel.Assets = kept
	for _, a := range assets {
		if _, ok := have[a.Name]; ok {
			continue
		}
		ra, err := c.Upload(ctx, rel, a)
		if err != nil {
			return rep, fmt.Errorf("upload %s to the draft release %s on %s: %w", a.Name, s.Tag, where, err)
		}
		if err := verify(ctx, c, rel, a, ra); err != nil {
			return rep, fmt.Errorf("upload %s to the draft release %s on %s: %w", a.Name, s.Tag, where, err)
		}
		rel.Assets = append(rel.Assets, ra)
		rep.Uploaded = append(rep.Uploaded, a.Name)
	}
	return rep, nil
}

// verify checks an uploaded asset's size and digest against the local
// file's.
func verify(ctx context.Context, c Client, rel *Release, a Asset, ra RemoteAsset) error {
	if ra.Size != a.Size {
		return fmt.Errorf("the forge holds %d bytes, the file has %d", ra.Size, a.Size)
	}
	sum, err := digest(ctx, c, rel, ra)
	if err != nil {
		return fmt.Errorf("check the uploaded file: %w", err)
	}
	if sum != a.SHA256 {
		return fmt.Errorf("the uploaded file's sha256 is %s, the local file's %s", sum, a.SHA256)
	}
	return nil
}

// digest is the SHA-256 of an asset: the forge's own when it reports one,
// else that of the downloaded bytes.
func digest(ctx context.Context, c Client, rel *Release, ra RemoteAsset) (string, error) {
	if ra.SHA256 != "" {
		return ra.SHA256, nil
	}
	rc, err := c.Download(ctx, rel, ra)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", fmt.Errorf("download %s: %w", ra.Name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Publish makes the draft of s.Tag public. A release already public is
// left as it is, so a rerun after a failure converges.
func Publish(ctx context.Context, c Client, s Spec) (*Release, error) {
	where := c.Repo().String()
	rel, err := c.Find(ctx, s.Tag)
	if err != nil {
		return nil, fmt.Errorf("find the release of %s on %s: %w", s.Tag, where, err)
	}
	if rel == nil {
		return nil, fmt.Errorf("no draft release of %s on %s to publish: was it deleted by hand? Run release again to make it", s.Tag, where)
	}
	if !rel.Draft {
		return rel, nil
	}
	pub, err := c.Publish(ctx, rel, s)
	if err != nil {
		return nil, fmt.Errorf("publish the release %s on %s: %w", s.Tag, where, err)
	}
	return pub, nil
}

// Discard deletes the draft of tag, if there is one. A published release
// is never deleted.
func Discard(ctx context.Context, c Client, tag string) error {
	where := c.Repo().String()
	rel, err := c.Find(ctx, tag)
	if err != nil {
		return fmt.Errorf("find the release of %s on %s: %w", tag, where, err)
	}
	if rel == nil || !rel.Draft {
		return nil
	}
	if err := c.Delete(ctx, rel); err != nil {
		return fmt.Errorf("delete the draft release %s on %s: %w", tag, where, err)
	}
	return nil
}

// HTTPError is a forge's refusal, with the status and what the forge said.
type HTTPError struct {
	// Status is the HTTP status code.
	Status int
	// Msg is what the forge said, with credentials removed.
	Msg string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Msg)
}
