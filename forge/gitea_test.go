package forge

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/giteatest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	giteatest.StopShared()
	os.Exit(code)
}

// gitRun runs git in dir and returns its trimmed output.
func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// giteaRepo makes a repository on the shared server with one commit
// pushed to main, and returns a client on it and the commit.
func giteaRepo(t *testing.T, name string) (*giteatest.Server, Client, string, string) {
	t.Helper()
	srv := giteatest.Shared(t)
	path := srv.CreateRepo(t, name)
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# "+name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, dir, "add", ".")
	gitRun(t, dir, "commit", "-qm", "first")
	gitRun(t, dir, "push", "-q", srv.GitURL(path), "main")
	srv.WaitNotEmpty(t, path)
	c, err := NewGitea(Repo{Kind: Gitea, URL: srv.URL, Path: path}, srv.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, dir, gitRun(t, dir, "rev-parse", "HEAD")
}

func writeAsset(t *testing.T, dir, name, content string) Asset {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := FileAsset(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestGiteaRelease runs a release's whole life against a real Gitea: a
// draft with its files, a rerun that keeps what is there, a changed file
// replaced and a stray one removed, publication once the tag is pushed,
// and a published release that Draft refuses to touch.
func TestGiteaRelease(t *testing.T) {
	ctx := context.Background()
	srv, c, dir, commit := giteaRepo(t, "life")
	assets := t.TempDir()
	a1 := writeAsset(t, assets, "svc_1.0.0_linux_amd64.tar.gz", "binary one")
	a2 := writeAsset(t, assets, "checksums.txt", "sums")
	spec := Spec{Tag: "v1.0.0", Commit: commit, Name: "svc 1.0.0", Notes: "## Changes\n- first"}

	if who, err := c.Check(ctx); err != nil || who != srv.Admin {
		t.Fatalf("Check = %q, %v", who, err)
	}
	rep, err := Draft(ctx, c, spec, []Asset{a1, a2})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Created || len(rep.Uploaded) != 2 || len(rep.Kept) != 0 {
		t.Fatalf("first draft: %+v", rep)
	}
	// A draft is not visible as a release to anyone but writers, and the
	// tag does not exist yet.
	if code := srv.API(t, srv.Token, http.MethodGet, "/repos/"+c.Repo().Path+"/tags/v1.0.0", nil, nil); code != http.StatusNotFound {
		t.Fatalf("the draft created the tag: %d", code)
	}

	rep, err = Draft(ctx, c, spec, []Asset{a1, a2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created || len(rep.Kept) != 2 || len(rep.Uploaded) != 0 {
		t.Fatalf("rerun did not keep the assets: %+v", rep)
	}

	// A stray file on the draft, and one asset that changed.
	stray := writeAsset(t, assets, "stray.txt", "not ours")
	if _, err := c.Upload(ctx, rep.Release, stray); err != nil {
		t.Fatal(err)
	}
	a1 = writeAsset(t, assets, "svc_1.0.0_linux_amd64.tar.gz", "binary one, rebuilt")
	rep, err = Draft(ctx, c, spec, []Asset{a1, a2})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(rep.Removed)
	if !slices.Equal(rep.Removed, []string{"stray.txt", "svc_1.0.0_linux_amd64.tar.gz"}) || !slices.Equal(rep.Uploaded, []string{a1.Name}) || !slices.Equal(rep.Kept, []string{a2.Name}) {
		t.Fatalf("converge: %+v", rep)
	}

	gitRun(t, dir, "tag", "-a", "v1.0.0", "-m", "v1.0.0")
	gitRun(t, dir, "push", "-q", srv.GitURL(c.Repo().Path), "v1.0.0")
	rel, err := Publish(ctx, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Draft || len(rel.Assets) != 2 {
		t.Fatalf("published: %+v", rel)
	}
	// Anyone can now download the files by the tag's path, and they are
	// the bytes uploaded.
	for _, ra := range rel.Assets {
		want := map[string]Asset{a1.Name: a1, a2.Name: a2}[ra.Name]
		sum, err := digest(ctx, c, rel, RemoteAsset{Name: ra.Name, URL: srv.URL + "/" + c.Repo().Path + "/releases/download/v1.0.0/" + ra.Name})
		if err != nil || sum != want.SHA256 {
			t.Fatalf("%s: sha256 %s, %v; want %s", ra.Name, sum, err, want.SHA256)
		}
	}
	// Publishing again converges; drafting again is refused.
	if _, err := Publish(ctx, c, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := Draft(ctx, c, spec, []Asset{a1}); !errors.Is(err, ErrPublished) {
		t.Fatalf("Draft over a published release: %v", err)
	}
	if err := Discard(ctx, c, spec.Tag); err != nil {
		t.Fatal(err)
	}
	if rel, err := c.Find(ctx, spec.Tag); err != nil || rel == nil || rel.Draft {
		t.Fatalf("Discard touched a published release: %+v, %v", rel, err)
	}
}

// TestGiteaDiscard removes a draft and everything on it.
func TestGiteaDiscard(t *testing.T) {
	ctx := context.Background()
	_, c, _, commit := giteaRepo(t, "discard")
	a := writeAsset(t, t.TempDir(), "a.tar.gz", "a")
	if _, err := Draft(ctx, c, Spec{Tag: "v0.1.0", Commit: commit, Name: "v0.1.0"}, []Asset{a}); err != nil {
		t.Fatal(err)
	}
	if err := Discard(ctx, c, "v0.1.0"); err != nil {
		t.Fatal(err)
	}
	if rel, err := c.Find(ctx, "v0.1.0"); err != nil || rel != nil {
		t.Fatalf("after Discard: %+v, %v", rel, err)
	}
	if err := Discard(ctx, c, "v0.1.0"); err != nil {
		t.Fatalf("a second Discard: %v", err)
	}
}

// TestGiteaCheck refuses a wrong token and a token that cannot write,
// naming the variable and the fix, and never printing the token.
func TestGiteaCheck(t *testing.T) {
	ctx := context.Background()
	srv, c, _, _ := giteaRepo(t, "check")
	bad, err := NewGitea(c.Repo(), "0123456789abcdef0123456789abcdef01234567", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "GITEA_TOKEN") || !strings.Contains(err.Error(), "wrong or expired") || strings.Contains(err.Error(), "0123456789abcdef") {
		t.Fatalf("bad token: %v", err)
	}
	reader := srv.CreateUser(t, "reader", "all")
	rc, err := NewGitea(c.Repo(), reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	who, err := rc.Check(ctx)
	if err == nil || who != "reader" || !strings.Contains(err.Error(), "not write") || strings.Contains(err.Error(), reader) {
		t.Fatalf("read-only user: %q, %v", who, err)
	}
	missing, err := NewGitea(Repo{Kind: Gitea, URL: srv.URL, Path: "owner/nope"}, srv.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.Check(ctx); err == nil || !strings.Contains(err.Error(), "Forge.Repository") {
		t.Fatalf("missing repository: %v", err)
	}
}
