// Package giteatest runs a real Gitea server on loopback for tests, with a
// temporary SQLite database, an admin user and its API token.
//
// The binary comes from HOIST_GITEA, else from the tools cache where
// .ci/run builds it (~/.cache/hoist-tools/gitea-VERSION/gitea, with the
// templates and options it reads beside it). Without one, tests skip,
// unless HOIST_REQUIRE_GITEA=1 (set in CI) makes that a failure.
package giteatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the Gitea release .ci/run builds.
const Version = "v1.27.3"

// Binary finds the Gitea binary, or says why there is none.
func Binary() (string, error) {
	if p := os.Getenv("HOIST_GITEA"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("HOIST_GITEA=%s: %w", p, err)
		}
		return p, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache")
	}
	p := filepath.Join(cache, "hoist-tools", "gitea-"+Version, "gitea")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no Gitea at %s (.ci/run builds it; or set HOIST_GITEA)", p)
	}
	return p, nil
}

// Server is a running Gitea.
type Server struct {
	// URL is its web and API address, http://127.0.0.1:PORT.
	URL string
	// Admin is the admin user's name; Token its API token (all scopes).
	Admin, Token string
	// Password is the admin's password, for git over HTTP.
	Password string

	bin, dir, ini string
	cmd           *exec.Cmd
	log           bytes.Buffer
}

var (
	shared    *Server
	sharedErr error
	once      sync.Once
)

// Shared returns the package's one server, starting it on first use, or
// skips t when no Gitea binary exists (fails under HOIST_REQUIRE_GITEA=1).
// It runs until the test binary exits; each test makes its own repository.
func Shared(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("HOIST_REQUIRE_GITEA") == "1" {
			t.Fatalf("HOIST_REQUIRE_GITEA=1 but %v", err)
		}
		t.Skipf("no Gitea server: %v", err)
	}
	once.Do(func() {
		dir, err := os.MkdirTemp("", "hoist-gitea-")
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = start(bin, dir)
	})
	if sharedErr != nil {
		t.Fatalf("start Gitea: %v", sharedErr)
	}
	return shared
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}

func start(bin, dir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://127.0.0.1:" + port, Admin: "owner", Password: "hoist-Passw0rd", bin: bin, dir: dir, ini: filepath.Join(dir, "app.ini")}
	ini := fmt.Sprintf(`APP_NAME = hoist-test
RUN_MODE = prod
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true
WORK_PATH = %[1]s
[database]
DB_TYPE = sqlite3
PATH = %[1]s/gitea.db
[server]
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[2]s
ROOT_URL = http://127.0.0.1:%[2]s/
DISABLE_SSH = true
OFFLINE_MODE = true
STATIC_ROOT_PATH = %[3]s
APP_DATA_PATH = %[1]s/data
[repository]
ROOT = %[1]s/repos
[security]
INSTALL_LOCK = true
SECRET_KEY = hoist-test-secret-key-0123456789abcdef
[oauth2]
ENABLED = false
[service]
DISABLE_REGISTRATION = true
[log]
MODE = console
LEVEL = Warn
[indexer]
REPO_INDEXER_ENABLED = false
[cron]
ENABLED = false
[mailer]
ENABLED = false
`, dir, port, filepath.Dir(bin))
	if err := os.WriteFile(s.ini, []byte(ini), 0o600); err != nil {
		return nil, err
	}
	if _, err := s.admin("migrate"); err != nil {
		return nil, err
	}
	if _, err := s.admin("admin", "user", "create", "--admin", "--username", s.Admin, "--password", s.Password, "--email", "owner@example.invalid", "--must-change-password=false"); err != nil {
		return nil, err
	}
	tok, err := s.admin("admin", "user", "generate-access-token", "--username", s.Admin, "--token-name", "hoist", "--scopes", "all", "--raw")
	if err != nil {
		return nil, err
	}
	s.Token = lastLine(tok)
	s.cmd = exec.Command(bin, "--config", s.ini, "--work-path", dir, "web")
	s.cmd.Env = giteaEnv(dir)
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	dieWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/api/v1/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			_ = s.cmd.Process.Kill()
			return nil, fmt.Errorf("gitea did not answer on %s within 60 s: %s", s.URL, s.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// giteaEnv is the test's environment without git's variables: Gitea runs
// git config --global for its own home, and a GIT_CONFIG_GLOBAL that a
// test set to /dev/null would have git replace /dev/null with a file.
func giteaEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+filepath.Join(dir, "home"))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// admin runs a gitea command against the server's configuration.
func (s *Server) admin(args ...string) (string, error) {
	cmd := exec.Command(s.bin, append([]string{"--config", s.ini, "--work-path", s.dir}, args...)...)
	cmd.Env = giteaEnv(s.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("gitea %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// API calls the REST API as the user whose token is given, and decodes
// the JSON answer into out when out is not nil.
func (s *Server) API(t testing.TB, token, method, path string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+"/api/v1"+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	if resp.StatusCode >= 300 && out != nil {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode
}

// CreateRepo makes an empty repository owned by the admin and returns
// its OWNER/NAME.
func (s *Server) CreateRepo(t testing.TB, name string) string {
	t.Helper()
	var repo struct {
		FullName string `json:"full_name"`
	}
	s.API(t, s.Token, http.MethodPost, "/user/repos", map[string]any{"name": name, "private": false}, &repo)
	return repo.FullName
}

// WaitNotEmpty waits until the server has processed a first push to repo:
// Gitea marks a repository non-empty after the push returns.
func (s *Server) WaitNotEmpty(t testing.TB, repo string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var r struct {
			Empty bool `json:"empty"`
		}
		s.API(t, s.Token, http.MethodGet, "/repos/"+repo, nil, &r)
		if !r.Empty {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gitea still calls %s empty 20 s after a push", repo)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// CreateUser makes a user and returns a token of theirs with scopes, such
// as "all" or "read:repository".
func (s *Server) CreateUser(t testing.TB, name, scopes string) string {
	t.Helper()
	if _, err := s.admin("admin", "user", "create", "--username", name, "--password", s.Password, "--email", name+"@example.invalid", "--must-change-password=false"); err != nil {
		t.Fatal(err)
	}
	tok, err := s.admin("admin", "user", "generate-access-token", "--username", name, "--token-name", "hoist-"+scopes, "--scopes", scopes, "--raw")
	if err != nil {
		t.Fatal(err)
	}
	return lastLine(tok)
}

// StopShared stops the shared server and removes its files; TestMain
// calls it after the tests.
func StopShared() {
	if shared == nil {
		return
	}
	_ = shared.cmd.Process.Kill()
	_ = shared.cmd.Wait()
	_ = os.RemoveAll(shared.dir)
}

// GitURL is the repository's clone URL with the admin's credentials in
// it, as a CI job's remote often has.
func (s *Server) GitURL(repo string) string {
	return strings.Replace(s.URL, "http://", "http://"+s.Admin+":"+s.Token+"@", 1) + "/" + repo + ".git"
}
