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
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGitLab is GitLab's REST API for one project, g/r, limited to the
// documented endpoints hoist calls: the project, its releases, and its
// generic packages. Anything else is a 404 and a test failure. No GitLab
// can run here, so this stands in for one; it checks the token, and it
// reports package files' sha256 as GitLab does.
type fakeGitLab struct {
	t     *testing.T
	token string
	level int // the token's access level on the project

	mu       sync.Mutex
	next     int64
	pkgID    int64 // 0 while no package exists
	files    []glFile
	releases map[string]map[string]any
}

type glFile struct {
	ID   int64
	Name string
	Data []byte
}

var (
	glProject  = regexp.MustCompile(`^/api/v4/projects/g%2Fr$`)
	glReleases = regexp.MustCompile(`^/api/v4/projects/g%2Fr/releases$`)
	glRelease  = regexp.MustCompile(`^/api/v4/projects/g%2Fr/releases/([^/]+)$`)
	glPackages = regexp.MustCompile(`^/api/v4/projects/g%2Fr/packages$`)
	glPackage  = regexp.MustCompile(`^/api/v4/projects/g%2Fr/packages/(\d+)$`)
	glFiles    = regexp.MustCompile(`^/api/v4/projects/g%2Fr/packages/(\d+)/package_files$`)
	glFileOne  = regexp.MustCompile(`^/api/v4/projects/g%2Fr/packages/(\d+)/package_files/(\d+)$`)
	glGeneric  = regexp.MustCompile(`^/api/v4/projects/g%2Fr/packages/generic/r/([^/]+)/([^/]+)$`)
)

func newFakeGitLab(t *testing.T) (*fakeGitLab, *httptest.Server) {
	f := &fakeGitLab{t: t, token: "glpat-fake0123456789", level: 40, releases: map[string]map[string]any{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGitLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("PRIVATE-TOKEN") != f.token {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"401 Unauthorized"}`)
		return
	}
	p := r.URL.EscapedPath()
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	notFound := func() { reply(404, map[string]string{"message": "404 Not found"}) }
	fileJSON := func(fl glFile) map[string]any {
		sum := sha256.Sum256(fl.Data)
		return map[string]any{"id": fl.ID, "package_id": f.pkgID, "file_name": fl.Name, "size": len(fl.Data), "file_sha256": hex.EncodeToString(sum[:])}
	}
	switch {
	case r.Method == http.MethodGet && glProject.MatchString(p):
		reply(200, map[string]any{"id": 7, "path_with_namespace": "g/r", "permissions": map[string]any{"project_access": map[string]int{"access_level": f.level}}})
	case r.Method == http.MethodGet && glRelease.MatchString(p):
		tag, _ := url.PathUnescape(glRelease.FindStringSubmatch(p)[1])
		if rel, ok := f.releases[tag]; ok {
			reply(200, rel)
			return
		}
		notFound()
	case r.Method == http.MethodPost && glReleases.MatchString(p):
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		tag, _ := body["tag_name"].(string)
		if tag == "" || f.releases[tag] != nil {
			reply(409, map[string]string{"message": "Release already exists"})
			return
		}
		f.releases[tag] = body
		reply(201, body)
	case r.Method == http.MethodGet && glPackages.MatchString(p):
		q := r.URL.Query()
		if q.Get("package_type") != "generic" || q.Get("package_name") != "r" {
			f.t.Errorf("package search %s", r.URL.RawQuery)
		}
		if f.pkgID == 0 || q.Get("package_version") != "v1.0.0" {
			reply(200, []any{})
			return
		}
		reply(200, []map[string]any{{"id": f.pkgID, "name": "r", "version": "v1.0.0", "package_type": "generic"}})
	case r.Method == http.MethodGet && glFiles.MatchString(p):
		var out []map[string]any
		for _, fl := range f.files {
			out = append(out, fileJSON(fl))
		}
		reply(200, out)
	case r.Method == http.MethodDelete && glFileOne.MatchString(p):
		id, _ := strconv.ParseInt(glFileOne.FindStringSubmatch(p)[2], 10, 64)
		n := len(f.files)
		f.files = slices.DeleteFunc(f.files, func(fl glFile) bool { return fl.ID == id })
		if len(f.files) == n {
			notFound()
			return
		}
		w.WriteHeader(204)
	case r.Method == http.MethodDelete && glPackage.MatchString(p):
		f.pkgID, f.files = 0, nil
		w.WriteHeader(204)
	case glGeneric.MatchString(p) && (r.Method == http.MethodPut || r.Method == http.MethodGet):
		m := glGeneric.FindStringSubmatch(p)
		m[2], _ = url.PathUnescape(m[2]) // the client escapes dots too
		if r.Method == http.MethodGet {
			for _, fl := range f.files {
				if fl.Name == m[2] {
					_, _ = w.Write(fl.Data)
					return
				}
			}
			notFound()
			return
		}
		if r.URL.Query().Get("select") != "package_file" {
			f.t.Errorf("upload without select=package_file: %s", r.URL.RawQuery)
		}
		if f.pkgID == 0 {
			f.next++
			f.pkgID = 1000 + f.next
		}
		data, _ := io.ReadAll(r.Body)
		f.next++
		fl := glFile{ID: f.next, Name: m[2], Data: data}
		f.files = append(f.files, fl)
		reply(201, fileJSON(fl))
	default:
		f.t.Errorf("fake GitLab: %s %s is not an endpoint hoist should call", r.Method, p)
		notFound()
	}
}

// TestGitLabRelease keeps the files in a generic package while the
// release is a draft, converges them, and creates the release with links
// to them when it is published.
func TestGitLabRelease(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeGitLab(t)
	c, err := NewGitLab(Repo{Kind: GitLab, URL: srv.URL, Path: "g/r"}, f.token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a1 := writeAsset(t, dir, "r_1.0.0_linux_amd64.tar.gz", "one")
	a2 := writeAsset(t, dir, "checksums.txt", "sums")
	spec := Spec{Tag: "v1.0.0", Name: "r 1.0.0", Notes: "notes"}
	rep, err := Draft(ctx, c, spec, []Asset{a1, a2})
	if err != nil || !rep.Created || len(rep.Uploaded) != 2 {
		t.Fatalf("first draft: %+v, %v", rep, err)
	}
	a2 = writeAsset(t, dir, "checksums.txt", "sums, again")
	rep, err = Draft(ctx, c, spec, []Asset{a1, a2})
	if err != nil || rep.Created || !slices.Equal(rep.Kept, []string{a1.Name}) || !slices.Equal(rep.Uploaded, []string{a2.Name}) {
		t.Fatalf("converge: %+v, %v", rep, err)
	}
	if len(f.releases) != 0 {
		t.Fatal("a draft created a GitLab release")
	}
	if _, err := Publish(ctx, c, spec); err != nil {
		t.Fatal(err)
	}
	rel := f.releases["v1.0.0"]
	links := rel["assets"].(map[string]any)["links"].([]any)
	if rel["description"] != "notes" || len(links) != 2 {
		t.Fatalf("release: %+v", rel)
	}
	for _, l := range links {
		u := l.(map[string]any)["url"].(string)
		if !strings.HasPrefix(u, srv.URL+"/api/v4/projects/g%2Fr/packages/generic/r/v1.0.0/") {
			t.Errorf("link %s does not point at the package", u)
		}
	}
	if _, err := Draft(ctx, c, spec, nil); err == nil {
		t.Fatal("Draft over a published GitLab release")
	}
}

// TestGitLabCheckAndDiscard refuses a token below Developer and removes
// the package of a draft.
func TestGitLabCheckAndDiscard(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeGitLab(t)
	c, _ := NewGitLab(Repo{Kind: GitLab, URL: srv.URL, Path: "g/r"}, f.token, nil)
	f.level = 20
	if _, err := c.Check(ctx); err == nil || !strings.Contains(err.Error(), "Developer") {
		t.Fatalf("reporter token: %v", err)
	}
	bad, _ := NewGitLab(Repo{Kind: GitLab, URL: srv.URL, Path: "g/r"}, "glpat-wrong", nil)
	if _, err := bad.Check(ctx); err == nil || !strings.Contains(err.Error(), "GITLAB_TOKEN") {
		t.Fatalf("bad token: %v", err)
	}
	if _, err := Draft(ctx, c, Spec{Tag: "v1.0.0"}, []Asset{writeAsset(t, t.TempDir(), "a", "a")}); err != nil {
		t.Fatal(err)
	}
	if err := Discard(ctx, c, "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	if f.pkgID != 0 {
		t.Fatal("Discard left the package")
	}
}
