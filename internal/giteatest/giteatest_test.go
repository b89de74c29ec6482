package giteatest

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// TestServer starts the real Gitea and uses what the forge tests rely on:
// the admin's token, a repository, a second user's token, and a clone
// URL that carries credentials.
func TestServer(t *testing.T) {
	s := Shared(t)
	if Shared(t) != s {
		t.Fatal("Shared started a second server")
	}
	repo := s.CreateRepo(t, "probe")
	if repo != s.Admin+"/probe" {
		t.Fatalf("CreateRepo = %q", repo)
	}
	var r struct {
		Empty bool `json:"empty"`
	}
	if code := s.API(t, s.Token, http.MethodGet, "/repos/"+repo, nil, &r); code != http.StatusOK || !r.Empty {
		t.Fatalf("GET the new repository: %d, empty %v", code, r.Empty)
	}
	tok := s.CreateUser(t, "probe-user", "read:user")
	var me struct {
		Login string `json:"login"`
	}
	if code := s.API(t, tok, http.MethodGet, "/user", nil, &me); code != http.StatusOK || me.Login != "probe-user" {
		t.Fatalf("the new user's token: %d, %q", code, me.Login)
	}
	if code := s.API(t, "wrong-token", http.MethodGet, "/user", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", code)
	}
	if u := s.GitURL(repo); !strings.HasPrefix(u, "http://"+s.Admin+":"+s.Token+"@127.0.0.1:") || !strings.HasSuffix(u, "/"+repo+".git") {
		t.Errorf("GitURL = %q", u)
	}
}

func TestBinary(t *testing.T) {
	t.Setenv("HOIST_GITEA", "/nonexistent/gitea")
	if _, err := Binary(); err == nil || !strings.Contains(err.Error(), "HOIST_GITEA") {
		t.Errorf("Binary with a missing HOIST_GITEA = %v", err)
	}
}
