package release

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/internal/giteatest"
)

// giteaRelease is a release on the Gitea server, as its API reports it.
type giteaRelease struct {
	TagName    string `json:"tag_name"`
	Name       string `json:"name"`
	Body       string `json:"body"`
	Draft      bool   `json:"draft"`
	Prerelease bool   `json:"prerelease"`
	Assets     []struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
		URL  string `json:"browser_download_url"`
	} `json:"assets"`
}

// forgeReleaser is a service repository whose origin is a new repository
// on the shared Gitea server, with a Gitea release configured.
func forgeReleaser(t *testing.T, name string) (*releaser, *giteatest.Server, string) {
	t.Helper()
	srv := giteatest.Shared(t)
	path := srv.CreateRepo(t, name)
	r := svcRepo(t)
	r.git("remote", "add", "origin", srv.GitURL(path))
	r.git("push", "-q", "origin", "main")
	srv.WaitNotEmpty(t, path)
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64,darwin/arm64", "GITEA_TOKEN": srv.Token},
		edit: func(c *config.Config) {
			c.Image.Skip = true
			c.Forge = config.Forge{Kind: "gitea", Footer: "Verify with checksums.txt."}
		}}
	return rl, srv, path
}

func giteaReleases(t *testing.T, srv *giteatest.Server, path string) []giteaRelease {
	t.Helper()
	var rs []giteaRelease
	srv.API(t, srv.Token, http.MethodGet, "/repos/"+path+"/releases?draft=", nil, &rs)
	return rs
}

func remoteTags(t *testing.T, r *testRepo) string {
	t.Helper()
	return r.git("ls-remote", "--tags", "origin")
}

// TestForgeRelease publishes a release on a real Gitea with every file of
// dist as an asset, byte for byte, after pushing the release commit and
// tag; a second release leaves the first alone.
func TestForgeRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and releases twice")
	}
	rl, srv, path := forgeReleaser(t, "svc-release")
	p := rl.plan(ModeRelease, nil)
	if p.Forge == nil || p.Forge.Tag != "v1.4.0" || p.Forge.Kind != "gitea" || !slices.Contains(p.Forge.Assets, ChecksumsFile) {
		t.Fatalf("plan's forge release: %+v", p.Forge)
	}
	out, err := rl.run(ModeRelease, nil, okGates)
	if err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	if strings.Contains(out, srv.Token) {
		t.Fatalf("the output shows the token:\n%s", out)
	}
	rs := giteaReleases(t, srv, path)
	if len(rs) != 1 || rs[0].TagName != "v1.4.0" || rs[0].Draft || rs[0].Prerelease || !strings.Contains(rs[0].Body, "Verify with checksums.txt.") {
		t.Fatalf("releases on Gitea: %+v", rs)
	}
	var names []string
	for _, a := range rs[0].Assets {
		names = append(names, a.Name)
		// Anyone can download it, and it is the file in dist.
		resp, err := http.Get(a.URL)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, resp.Body)
		resp.Body.Close()
		local, err := os.ReadFile(filepath.Join(rl.r.dir, "dist", a.Name))
		if err != nil {
			t.Fatalf("asset %s is not a dist file: %v", a.Name, err)
		}
		want := sha256.Sum256(local)
		if resp.StatusCode != 200 || hex.EncodeToString(h.Sum(nil)) != hex.EncodeToString(want[:]) {
			t.Errorf("asset %s: %d, not the bytes of dist/%s", a.Name, resp.StatusCode, a.Name)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, p.Forge.Assets) {
		t.Errorf("assets %v, the plan said %v", names, p.Forge.Assets)
	}
	if !strings.Contains(remoteTags(t, rl.r), "refs/tags/v1.4.0") {
		t.Error("the tag is not on the remote")
	}
	if rl.manifest().ForgeRelease == "" {
		t.Error("release.json does not name the forge release")
	}
	if j, _ := readJournal(t.Context(), rl.r.dir); j != nil {
		t.Errorf("a journal is left: %+v", j.Phase)
	}

	rl.r.change("feat: more")
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("second release: %v\n%s", err, out)
	}
	rs = giteaReleases(t, srv, path)
	if len(rs) != 2 {
		t.Fatalf("releases after the second: %+v", rs)
	}
}

// TestForgeRollsBack fails every stage before the push: the draft goes,
// the remote has no new tag, the repository is as it was. A failure after
// the push is not undone; the next release finishes it.
func TestForgeRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("runs several releases")
	}
	rl, srv, path := forgeReleaser(t, "svc-rollback")
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("first release: %v\n%s", err, out)
	}
	rl.r.change("feat: more")
	before, beforeRemote := rl.r.state(), remoteTags(t, rl.r)
	fail := func(stage string) (string, error) {
		injected := fmt.Errorf("injected failure in %s", stage)
		afterStage = func(s string) error {
			if s == stage {
				return injected
			}
			return nil
		}
		defer func() { afterStage = func(string) error { return nil } }()
		out, err := rl.run(ModeRelease, nil, okGates)
		if !errors.Is(err, injected) {
			t.Fatalf("release with %s failing = %v\n%s", stage, err, out)
		}
		return out, err
	}
	for _, stage := range []string{"forge draft", "tag"} {
		out, _ := fail(stage)
		if st := rl.r.state(); !slices.Equal([]string{st.Head, st.Tags}, []string{before.Head, before.Tags}) {
			t.Errorf("after %s failed the repository changed\n%s", stage, out)
		}
		if got := remoteTags(t, rl.r); got != beforeRemote {
			t.Errorf("after %s failed the remote's tags are %q", stage, got)
		}
		if rs := giteaReleases(t, srv, path); len(rs) != 1 {
			t.Errorf("after %s failed Gitea has %d releases: %+v\n%s", stage, len(rs), rs, out)
		}
	}

	// After the push, nothing is undone and a rerun finishes.
	out, _ := fail("git push")
	if !strings.Contains(remoteTags(t, rl.r), "refs/tags/v1.5.0") || !strings.Contains(out, "nothing is rolled back") {
		t.Fatalf("after a failure past the push the tag should stay public\n%s", out)
	}
	if rs := giteaReleases(t, srv, path); len(rs) != 2 || !rs[0].Draft {
		t.Fatalf("the draft should wait for the rerun: %+v", rs)
	}
	// A rerun that cannot reach the forge (no token this time) fails, and
	// still undoes nothing: the tag is public.
	if out, err := rl.run(ModeRelease, map[string]string{"GITEA_TOKEN": ""}, okGates); err == nil {
		t.Fatalf("rerun without a token succeeded:\n%s", out)
	}
	if !strings.Contains(rl.r.git("tag", "--list"), "v1.5.0") || !strings.Contains(remoteTags(t, rl.r), "refs/tags/v1.5.0") {
		t.Fatal("a failed rerun took back a public tag")
	}
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil || !strings.Contains(out, "finishing it") {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	rs := giteaReleases(t, srv, path)
	if len(rs) != 2 || rs[0].Draft || rs[0].TagName != "v1.5.0" {
		t.Fatalf("after the rerun: %+v", rs)
	}
	if j, _ := readJournal(t.Context(), rl.r.dir); j != nil {
		t.Errorf("a journal is left: %s", j.Phase)
	}
}

// TestForgeRefusals: a wrong token, a missing token and a tag already on
// the remote are refused before anything is built, naming the fix.
func TestForgeRefusals(t *testing.T) {
	rl, srv, path := forgeReleaser(t, "svc-refuse")
	before := rl.r.state()
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GITEA_TOKEN": "0000000000000000000000000000000000000000"}, "GITEA_TOKEN"},
		{map[string]string{"GITEA_TOKEN": ""}, "GITEA_TOKEN is not set"},
	} {
		out, err := rl.run(ModeRelease, c.env, okGates)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("release with %v = %v, want %q\n%s", c.env, err, c.want, out)
		}
		if strings.Contains(fmt.Sprint(err), srv.Token) || strings.Contains(out, srv.Token) {
			t.Error("a refusal shows the token")
		}
	}
	// Someone pushed v1.4.0 meanwhile.
	rl.r.git("tag", "v1.4.0")
	rl.r.git("push", "-q", "origin", "v1.4.0")
	rl.r.git("tag", "-d", "v1.4.0")
	out, err := rl.run(ModeRelease, nil, okGates)
	if err == nil || !strings.Contains(err.Error(), "already exists on the remote origin") {
		t.Errorf("tag on the remote: %v\n%s", err, out)
	}
	if after := rl.r.state(); after.Head != before.Head || after.Tags != before.Tags {
		t.Error("a refused release changed the repository")
	}
	if built, _ := filepath.Glob(filepath.Join(rl.r.dir, "dist", "*.tar.gz")); len(built) > 0 {
		t.Errorf("a refused release built %v", built)
	}
	if rs := giteaReleases(t, srv, path); len(rs) != 0 {
		t.Errorf("a refused release left %+v", rs)
	}
}
