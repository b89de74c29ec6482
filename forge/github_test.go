package forge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGitHub is a GitHub Enterprise API for one repository, o/r, that
// implements exactly the documented endpoints hoist uses and answers
// anything else with 404 and a test failure. No GitHub server can run
// here, so this stands in for one; it is kept small and strict: it checks
// the token, the request bodies hoist relies on, and it reports assets'
// digests the way GitHub does ("sha256:HEX").
type fakeGitHub struct {
	t      *testing.T
	token  string
	scopes string // the X-OAuth-Scopes header; "-" for none
	push   bool   // the repository permission the token has

	mu       sync.Mutex
	next     int64
	releases []*ghRelease
	blobs    map[int64][]byte
}

type ghRelease struct {
	ID         int64      `json:"id"`
	TagName    string     `json:"tag_name"`
	Target     string     `json:"target_commitish"`
	Name       string     `json:"name"`
	Body       string     `json:"body"`
	Draft      bool       `json:"draft"`
	Prerelease bool       `json:"prerelease"`
	MakeLatest string     `json:"-"`
	Assets     []*ghAsset `json:"assets"`
}

type ghAsset struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Size   int    `json:"size"`
	Digest string `json:"digest"`
}

var (
	ghRepo     = regexp.MustCompile(`^/api/v3/repos/o/r$`)
	ghReleases = regexp.MustCompile(`^/api/v3/repos/o/r/releases$`)
	ghOne      = regexp.MustCompile(`^/api/v3/repos/o/r/releases/(\d+)$`)
	ghAssetAPI = regexp.MustCompile(`^/api/v3/repos/o/r/releases/assets/(\d+)$`)
	ghUpload   = regexp.MustCompile(`^/api/uploads/repos/o/r/releases/(\d+)/assets$`)
)

func newFakeGitHub(t *testing.T) (*fakeGitHub, *httptest.Server) {
	f := &fakeGitHub{t: t, token: "ghp_faketoken0123456789", scopes: "repo", push: true, blobs: map[int64][]byte{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGitHub) id() int64 { f.next++; return f.next }

func (f *fakeGitHub) find(id string) *ghRelease {
	n, _ := strconv.ParseInt(id, 10, 64)
	for _, r := range f.releases {
		if r.ID == n {
			return r
		}
	}
	return nil
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"Bad credentials"}`)
		return
	}
	p := r.URL.Path
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	var m []string
	switch {
	case r.Method == http.MethodGet && ghRepo.MatchString(p):
		if f.scopes != "-" {
			w.Header().Set("X-OAuth-Scopes", f.scopes)
		}
		reply(200, map[string]any{"full_name": "o/r", "private": true, "permissions": map[string]bool{"pull": true, "push": f.push}})
	case r.Method == http.MethodGet && ghReleases.MatchString(p):
		reply(200, f.releases)
	case r.Method == http.MethodPost && ghReleases.MatchString(p):
		var rel ghRelease
		// GitHub refuses a target_commitish it does not know, and the
		// release commit is not pushed when the draft is made.
		if err := json.NewDecoder(r.Body).Decode(&rel); err != nil || rel.TagName == "" || !rel.Draft || rel.Target != "" {
			f.t.Errorf("create release: hoist must create drafts with a tag and no target: %+v, %v", rel, err)
			reply(422, map[string]string{"message": "Validation Failed"})
			return
		}
		rel.ID, rel.Assets = f.id(), []*ghAsset{}
		f.releases = append(f.releases, &rel)
		reply(201, rel)
	case ghOne.MatchString(p) && (r.Method == http.MethodPatch || r.Method == http.MethodDelete):
		m = ghOne.FindStringSubmatch(p)
		rel := f.find(m[1])
		if rel == nil {
			reply(404, map[string]string{"message": "Not Found"})
			return
		}
		if r.Method == http.MethodDelete {
			f.releases = slices.DeleteFunc(f.releases, func(x *ghRelease) bool { return x == rel })
			w.WriteHeader(204)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			reply(400, map[string]string{"message": "Problems parsing JSON"})
			return
		}
		for k, v := range body {
			switch k {
			case "name":
				rel.Name = v.(string)
			case "body":
				rel.Body = v.(string)
			case "draft":
				rel.Draft = v.(bool)
			case "prerelease":
				rel.Prerelease = v.(bool)
			case "target_commitish":
				f.t.Errorf("update release: target_commitish %v names a commit GitHub may not have", v)
			case "tag_name":
				rel.TagName = v.(string)
			case "make_latest":
				rel.MakeLatest = v.(string)
			default:
				f.t.Errorf("update release: unexpected field %q", k)
			}
		}
		reply(200, rel)
	case r.Method == http.MethodPost && ghUpload.MatchString(p):
		m = ghUpload.FindStringSubmatch(p)
		rel := f.find(m[1])
		name := r.URL.Query().Get("name")
		if rel == nil || name == "" || r.ContentLength < 0 {
			reply(422, map[string]string{"message": "Validation Failed"})
			return
		}
		for _, a := range rel.Assets {
			if a.Name == name {
				reply(422, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}}})
				return
			}
		}
		data, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(data)
		a := &ghAsset{ID: f.id(), Name: name, Size: len(data), Digest: "sha256:" + hex.EncodeToString(sum[:])}
		f.blobs[a.ID] = data
		rel.Assets = append(rel.Assets, a)
		reply(201, a)
	case ghAssetAPI.MatchString(p) && (r.Method == http.MethodDelete || r.Method == http.MethodGet):
		m = ghAssetAPI.FindStringSubmatch(p)
		id, _ := strconv.ParseInt(m[1], 10, 64)
		for _, rel := range f.releases {
			for i, a := range rel.Assets {
				if a.ID != id {
					continue
				}
				if r.Method == http.MethodDelete {
					rel.Assets = slices.Delete(rel.Assets, i, i+1)
					w.WriteHeader(204)
					return
				}
				w.Header().Set("Content-Type", "application/octet-stream")
				_, _ = w.Write(f.blobs[id])
				return
			}
		}
		reply(404, map[string]string{"message": "Not Found"})
	default:
		f.t.Errorf("fake GitHub: %s %s is not an endpoint hoist should call", r.Method, p)
		reply(404, map[string]string{"message": "Not Found"})
	}
}

// TestGitHubRelease drafts, converges and publishes against the fake
// GitHub Enterprise API, through go-github, with the digest GitHub
// reports standing in for a download.
func TestGitHubRelease(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeGitHub(t)
	c, err := NewGitHub(Repo{Kind: GitHub, URL: srv.URL, Path: "o/r"}, f.token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a1 := writeAsset(t, dir, "r_1.2.0_linux_amd64.tar.gz", "one")
	a2 := writeAsset(t, dir, "checksums.txt", "sums")
	spec := Spec{Tag: "v1.2.0-rc.1", Commit: "abc123", Name: "r 1.2.0-rc.1", Notes: "notes", Prerelease: true}
	if _, err := Draft(ctx, c, spec, []Asset{a1, a2}); err != nil {
		t.Fatal(err)
	}
	a1 = writeAsset(t, dir, "r_1.2.0_linux_amd64.tar.gz", "one, rebuilt")
	rep, err := Draft(ctx, c, spec, []Asset{a1, a2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created || !slices.Equal(rep.Kept, []string{a2.Name}) || !slices.Equal(rep.Uploaded, []string{a1.Name}) || !slices.Equal(rep.Removed, []string{a1.Name}) {
		t.Fatalf("converge: %+v", rep)
	}
	rel, err := Publish(ctx, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	got := f.releases[0]
	if rel.Draft || got.Draft || !got.Prerelease || got.MakeLatest != "false" || len(got.Assets) != 2 {
		t.Fatalf("published: %+v", got)
	}
	if string(f.blobs[got.Assets[1].ID]) != "one, rebuilt" {
		t.Fatalf("asset content: %q", f.blobs[got.Assets[1].ID])
	}
}

// TestGitHubCheck refuses a bad token, a classic token without the repo
// scope and a token without write access, naming the fix.
func TestGitHubCheck(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeGitHub(t)
	repo := Repo{Kind: GitHub, URL: srv.URL, Path: "o/r"}
	bad, _ := NewGitHub(repo, "ghp_wrong_token_value", nil)
	if _, err := bad.Check(ctx); err == nil || !strings.Contains(err.Error(), "GITHUB_TOKEN") || strings.Contains(err.Error(), "ghp_wrong") {
		t.Fatalf("bad token: %v", err)
	}
	c, _ := NewGitHub(repo, f.token, nil)
	f.scopes = "read:org, gist"
	if _, err := c.Check(ctx); err == nil || !strings.Contains(err.Error(), "repo scope") {
		t.Fatalf("classic token without repo: %v", err)
	}
	f.scopes, f.push = "-", false
	if _, err := c.Check(ctx); err == nil || !strings.Contains(err.Error(), "contents: write") {
		t.Fatalf("read-only token: %v", err)
	}
}

// TestGitHubDiscardKeepsPublished deletes a draft but never a published
// release.
func TestGitHubDiscardKeepsPublished(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeGitHub(t)
	c, _ := NewGitHub(Repo{Kind: GitHub, URL: srv.URL, Path: "o/r"}, f.token, nil)
	if _, err := Draft(ctx, c, Spec{Tag: "v1.0.0", Commit: "c"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Draft(ctx, c, Spec{Tag: "v2.0.0", Commit: "c"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, c, Spec{Tag: "v1.0.0", Latest: true}); err != nil {
		t.Fatal(err)
	}
	if err := Discard(ctx, c, "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	if err := Discard(ctx, c, "v2.0.0"); err != nil {
		t.Fatal(err)
	}
	if len(f.releases) != 1 || f.releases[0].TagName != "v1.0.0" || f.releases[0].MakeLatest != "true" {
		t.Fatalf("releases left: %+v", f.releases)
	}
}
