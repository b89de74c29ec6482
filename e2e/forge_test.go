package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/hoistdev/hoist/internal/giteatest"
)

// forgeRelease is a release on Gitea as its API lists it.
type forgeRelease struct {
	TagName string `json:"tag_name"`
	Draft   bool   `json:"draft"`
	Assets  []struct {
		Name string `json:"name"`
		URL  string `json:"browser_download_url"`
	} `json:"assets"`
}

// onGitea gives the copied consumer c a new Gitea repository as its
// origin, holding what c holds (main and the 0.1.0 tag), and returns the
// environment that makes release publish there.
func onGitea(t *testing.T, srv *giteatest.Server, c *consumer, name string) (string, []string) {
	t.Helper()
	path := srv.CreateRepo(t, name)
	c.run(".", "git", "remote", "add", "origin", srv.GitURL(path))
	c.run(".", "git", "push", "-q", "origin", "main", "--tags")
	srv.WaitNotEmpty(t, path)
	return path, append(slices.Clone(interruptEnv), "HOIST_FORGE=gitea", "GITEA_TOKEN="+srv.Token)
}

func (c *consumer) forgeReleases(srv *giteatest.Server, path string) []forgeRelease {
	var rs []forgeRelease
	srv.API(c.t, srv.Token, http.MethodGet, "/repos/"+path+"/releases", nil, &rs)
	return rs
}

// wantPublished checks that Gitea has v0.2.0 published with exactly the
// release's files, byte for byte, and that the remote has the tag on the
// release commit.
func (c *consumer) wantPublished(srv *giteatest.Server, path, out string) {
	c.t.Helper()
	rs := c.forgeReleases(srv, path)
	if len(rs) != 1 || rs[0].TagName != "v0.2.0" || rs[0].Draft {
		c.t.Fatalf("releases on Gitea: %+v\n%s", rs, out)
	}
	var got []string
	for _, a := range rs[0].Assets {
		got = append(got, a.Name)
		resp, err := http.Get(a.URL)
		if err != nil {
			c.t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, resp.Body)
		resp.Body.Close()
		local, err := os.ReadFile(c.path("dist/" + a.Name))
		sum := sha256.Sum256(local)
		if err != nil || resp.StatusCode != 200 || hex.EncodeToString(h.Sum(nil)) != hex.EncodeToString(sum[:]) {
			c.t.Errorf("asset %s: %d, %v: not the bytes of dist/%s", a.Name, resp.StatusCode, err, a.Name)
		}
	}
	var want []string
	for _, pat := range []string{"*.tar.gz", "*.spdx.json", "checksums.txt", "provenance.intoto.json"} {
		m, _ := filepath.Glob(c.path("dist/" + pat))
		for _, f := range m {
			want = append(want, filepath.Base(f))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		c.t.Errorf("assets %v, want %v", got, want)
	}
	remote := c.run(".", "git", "ls-remote", "origin", "refs/tags/v0.2.0^{}", "refs/heads/main")
	tagged := strings.TrimSpace(c.run(".", "git", "rev-parse", "v0.2.0^{commit}"))
	if strings.Count(remote, tagged) != 2 {
		c.t.Errorf("the remote's main and v0.2.0 are not the release commit %s:\n%s", tagged, remote)
	}
}

// TestKilledForgeReleaseResumes kills `go tool mage release` with SIGKILL
// around every forge step, on a real Gitea, and reruns it: the rerun
// publishes the one release with every file, whatever the kill left (a
// draft with some files, a pushed tag, a published page).
func TestKilledForgeReleaseResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a dozen releases")
	}
	srv := giteatest.Shared(t)
	p := prepare(t)
	for i, point := range []string{"after sign", "after forge draft", "after tag", "git push: before", "after git push", "forge publish: before", "after forge publish"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			c := p.copy(t)
			path, env := onGitea(t, srv, c, fmt.Sprintf("killed-%d", i))
			if out, err := c.mage(append(slices.Clone(env), "HOIST_TEST_KILL="+point), "release"); err == nil {
				t.Fatalf("release with a kill at %q succeeded:\n%s", point, out)
			}
			out, err := c.mage(env, "release")
			if err != nil {
				t.Fatalf("rerun after a kill at %q: %v\n%s", point, err, out)
			}
			c.wantPublished(srv, path, out)
			if st := c.state(); st.Journal || st.Version != "0.2.0\n" {
				t.Errorf("after the rerun: %+v", st)
			}
			if strings.Contains(out, srv.Token) {
				t.Error("the output shows the token")
			}
		})
	}
}

// TestSignalledForgeReleaseRollsBack sends SIGTERM while the draft exists
// but before the push: the draft is deleted, the remote has no new tag,
// and the repository is as it was. SIGTERM after the push leaves the
// public tag alone and the rerun finishes.
func TestSignalledForgeReleaseRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("runs releases")
	}
	srv := giteatest.Shared(t)
	p := prepare(t)
	t.Run("before the push", func(t *testing.T) {
		c := p.copy(t)
		path, env := onGitea(t, srv, c, "term-before")
		before := c.state()
		c.env = append(c.env, env...)
		code, out := signalAt(t, c, "after forge draft", syscall.SIGTERM)
		if code != 143 {
			t.Errorf("exit status %d, want 143\n%s", code, out)
		}
		if rs := c.forgeReleases(srv, path); len(rs) != 0 {
			t.Errorf("Gitea keeps %+v after the rollback\n%s", rs, out)
		}
		if remote := c.run(".", "git", "ls-remote", "--tags", "origin"); strings.Contains(remote, "v0.2.0") {
			t.Errorf("the remote has the tag after the rollback:\n%s", remote)
		}
		if after := c.state(); after.Head != before.Head || after.Tags != before.Tags || after.Version != before.Version {
			t.Errorf("the repository changed: %+v -> %+v", before, after)
		}
	})
	t.Run("after the push", func(t *testing.T) {
		c := p.copy(t)
		path, env := onGitea(t, srv, c, "term-after")
		c.env = append(c.env, env...)
		code, out := signalAt(t, c, "after git push", syscall.SIGTERM)
		if code != 143 || !strings.Contains(out, "nothing is rolled back") {
			t.Errorf("exit status %d, want 143 and no rollback\n%s", code, out)
		}
		out = c.mustMage(nil, "release")
		c.wantPublished(srv, path, out)
	})
}
