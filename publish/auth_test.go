package publish

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	testUser  = "hoist-ci"
	testPass  = "s3cret-Pa55word-do-not-print"
	testToken = "tok-4f9b2e7d1c-bearer-never-log"
)

// authRegistry puts an in-process registry behind HTTP auth the way real
// registries do it: either Basic on every request, or Bearer tokens handed
// out by a /token endpoint for Basic credentials. With readOnly, valid
// credentials may pull but every write is denied with 403.
type authRegistry struct {
	mode     string // "basic" or "bearer"
	readOnly bool
	realm    string
	next     http.Handler
	denied   atomic.Int64
}

func (a *authRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
			a.denied.Add(1)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`, http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"token": testToken})
		return
	}
	authorized := false
	switch a.mode {
	case "basic":
		u, p, ok := r.BasicAuth()
		authorized = ok && u == testUser && p == testPass
		if !authorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="hoist-test"`)
		}
	case "bearer":
		authorized = r.Header.Get("Authorization") == "Bearer "+testToken
		if !authorized {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="hoist-test"`, a.realm))
		}
	}
	if !authorized {
		a.denied.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		return
	}
	if a.readOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
		return
	}
	a.next.ServeHTTP(w, r)
}

// startAuthRegistry returns the host of a registry requiring auth in mode.
func startAuthRegistry(t *testing.T, mode string, readOnly bool) (string, *authRegistry, *requestLog) {
	t.Helper()
	l := &requestLog{}
	a := &authRegistry{mode: mode, readOnly: readOnly, next: counting(quietRegistry(), l)}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	a.realm = srv.URL + "/token"
	return hostOf(t, srv.URL), a, l
}

var rightCreds = &authn.Basic{Username: testUser, Password: testPass}

// secretForms lists every spelling of the credentials that could leak.
func secretForms() []string {
	return []string{
		testPass,
		testToken,
		base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass)),
		base64.StdEncoding.EncodeToString([]byte(testPass)),
		base64.URLEncoding.EncodeToString([]byte(testUser + ":" + testPass)),
		base64.RawStdEncoding.EncodeToString([]byte(testPass)),
	}
}

func assertNoSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range secretForms() {
		if strings.Contains(text, s) {
			t.Errorf("%s contains credential form %q", where, s)
		}
	}
}

func TestPushCredentialsNeverLogged(t *testing.T) {
	for _, mode := range []string{"basic", "bearer"} {
		t.Run(mode, func(t *testing.T) {
			host, _, _ := startAuthRegistry(t, mode, false)
			var logs, prog bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			opts := []Option{WithAuth(rightCreds), WithLogger(logger), WithProgress(&prog, false)}
			idx := testIndex(t, 21, 1<<10)
			dest := []Destination{{Repository: host + "/private", Tags: []string{"v1"}}}
			res, err := Push(t.Context(), idx, dest, opts...)
			if err != nil {
				t.Fatalf("Push() with right credentials = %v", err)
			}
			if err := Check(t.Context(), host+"/private", opts...); err != nil {
				t.Errorf("Check() with right credentials = %v", err)
			}
			if err := Verify(t.Context(), res[0].Refs[0], opts...); err != nil {
				t.Errorf("Verify() with right credentials = %v", err)
			}
			// A failing run must not leak either, including its error text.
			wrong := &authn.Basic{Username: testUser, Password: testPass + "x"}
			_, werr := Push(t.Context(), idx, dest, WithAuth(wrong), WithLogger(logger), WithProgress(&prog, false))
			if werr == nil {
				t.Fatal("Push() with wrong credentials = nil error")
			}

			// Verbose logging was really on: it recorded the uploads.
			if !strings.Contains(logs.String(), "method=PUT") || !strings.Contains(logs.String(), "status=201") {
				t.Fatalf("debug log lacks the HTTP exchanges, so the leak check proves nothing:\n%s", logs.String())
			}
			if mode == "bearer" && !strings.Contains(logs.String(), "/token") {
				t.Errorf("debug log lacks the token exchange:\n%s", logs.String())
			}
			assertNoSecrets(t, "debug log", logs.String())
			assertNoSecrets(t, "progress output", prog.String())
			assertNoSecrets(t, "error", werr.Error())
		})
	}
}

func TestPushWrongCredentialsFailFast(t *testing.T) {
	for _, mode := range []string{"basic", "bearer"} {
		t.Run(mode, func(t *testing.T) {
			host, a, l := startAuthRegistry(t, mode, false)
			wrong := &authn.Basic{Username: testUser, Password: "nope"}
			dest := []Destination{{Repository: host + "/private", Tags: []string{"v1"}}}
			// Default (slow) retry schedule: a 401 must not be retried at all,
			// so the test stays fast only if that holds.
			_, err := Push(t.Context(), testIndex(t, 22, 512), dest, WithAuth(wrong))
			if err == nil {
				t.Fatal("Push() with wrong credentials = nil error")
			}
			want := fmt.Sprintf("push to %s/private: authentication failed (401): check `docker login %s` or the credentials helper", host, host)
			if !strings.HasPrefix(err.Error(), "push failed for 1 of 1 destinations: "+want) {
				t.Errorf("Push() error = %q, want it to start with %q", err, want)
			}
			if !errors.Is(err, ErrUnauthorized) {
				t.Errorf("errors.Is(err, ErrUnauthorized) = false for %v", err)
			}
			if n := a.denied.Load(); n > testIndexBlobs+1 {
				t.Errorf("registry denied %d requests, want at most %d (no retries of a 401)", n, testIndexBlobs+1)
			}
			if n := l.get("blob-upload") + l.get("manifest-put-tag"); n != 0 {
				t.Errorf("registry saw %d writes, want 0", n)
			}
			ref, err := name.ParseReference(host + "/private:v1")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := remote.Head(ref, remote.WithAuth(rightCreds), remote.WithContext(t.Context())); err == nil {
				t.Error("tag v1 exists after a failed push, want none")
			}
		})
	}
}

func TestPushDefaultKeychain(t *testing.T) {
	host, _, _ := startAuthRegistry(t, "basic", false)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPass)))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// go-containerregistry's keychain finds the Docker config through this
	// variable; hoist itself reads none.
	t.Setenv("DOCKER_CONFIG", dir)
	if _, err := Push(t.Context(), testIndex(t, 23, 512), []Destination{{Repository: host + "/kc"}}); err != nil {
		t.Errorf("Push() with credentials from the default keychain = %v", err)
	}
	kc := authn.NewMultiKeychain(authn.DefaultKeychain)
	if err := Check(t.Context(), host+"/kc", WithKeychain(kc)); err != nil {
		t.Errorf("Check(WithKeychain) = %v", err)
	}
}

type failingKeychain struct{}

func (failingKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return nil, errors.New("helper crashed")
}

func TestCheck(t *testing.T) {
	anon, _ := testRegistry(t)
	basic, _, _ := startAuthRegistry(t, "basic", false)
	bearer, _, _ := startAuthRegistry(t, "bearer", false)
	readOnly, _, _ := startAuthRegistry(t, "basic", true)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	wrong := &authn.Basic{Username: testUser, Password: "nope"}

	tests := []struct {
		name string
		repo string
		opts []Option
		is   error
		want string
	}{
		{name: "anonymous", repo: anon + "/web", opts: []Option{WithAuth(authn.Anonymous)}},
		{name: "basic", repo: basic + "/web", opts: []Option{WithAuth(rightCreds)}},
		{name: "bearer", repo: bearer + "/web", opts: []Option{WithAuth(rightCreds)}},
		{name: "basic wrong", repo: basic + "/web", opts: []Option{WithAuth(wrong)}, is: ErrUnauthorized, want: "docker login " + basic},
		{name: "bearer wrong", repo: bearer + "/web", opts: []Option{WithAuth(wrong)}, is: ErrUnauthorized, want: "docker login " + bearer},
		{name: "read only", repo: readOnly + "/web", opts: []Option{WithAuth(rightCreds)}, is: ErrForbidden, want: "push rights"},
		{name: "unreachable", repo: dead + "/web", opts: []Option{WithAuth(authn.Anonymous), fastRetry}, is: ErrUnreachable, want: "start it"},
		{name: "keychain error", repo: anon + "/web", opts: []Option{WithKeychain(failingKeychain{})}, want: "look up credentials"},
		{name: "bad repository", repo: "web", want: "not a full name"},
		{name: "bad options", repo: anon + "/web", opts: []Option{WithJobs(0)}, want: "WithJobs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(t.Context(), tc.repo, tc.opts...)
			if tc.want == "" {
				if err != nil {
					t.Errorf("Check(%s) = %v, want nil", tc.repo, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check(%s) = %v, want error containing %q", tc.repo, err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(Check(%s), %v) = false, want true", tc.repo, tc.is)
			}
		})
	}
}
