package e2e

import (
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/hoistdev/hoist/sign"
)

// planted is the password the credential test hides in the Docker config
// and looks for everywhere afterwards.
const planted = "pl4nted-s3cret-9f1c"

// basicAuth puts a user and password in front of h, the way a private
// registry asks for them.
func basicAuth(h http.Handler, user, pass string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="hoist-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"log in"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestCredentialsNeverEcho pushes to a registry that needs a password kept
// in the Docker config, and signs what it pushes with a key given as PEM
// text in COSIGN_KEY, at mage's normal and verbose levels, and fails if a
// password or the private key shows up in any output or in any file under
// dist/. A password in REGISTRY itself is refused before any work, shown
// redacted, and so is a wrong key password.
func TestCredentialsNeverEcho(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and pushes")
	}
	srv := httptest.NewServer(basicAuth(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))), "ci", planted))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	dockerCfg := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("ci:" + planted))
	writeTree(t, dockerCfg, map[string]string{"config.json": fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)})
	c := newConsumer(t, map[string]string{
		"go.mod":                "module example.com/acme/svc\n\ngo 1.26\n",
		"VERSION":               "0.1.0\n",
		".gitignore":            "/dist/\n",
		"cmd/svc/main.go":       stampMain,
		"magefiles/magefile.go": zeroConfig,
	})
	// A signing key, with its password, rides along: image:push signs
	// with HOIST_SIGN=1, and neither may show either.
	keyDir := t.TempDir()
	key, pub, err := sign.GenerateKeyPair([]byte(planted))
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, keyDir, map[string]string{"cosign.key": string(key), "cosign.pub": string(pub)})
	keyBody := strings.Split(string(key), "\n")[1]
	env := []string{"DOCKER_CONFIG=" + dockerCfg, "REGISTRY=" + host + "/acme", "PLATFORMS=linux/amd64",
		"HOIST_SIGN=1", "COSIGN_KEY=" + string(key), "COSIGN_PASSWORD=" + planted}
	var outputs []string
	for _, args := range [][]string{{"image:push"}, {"-v", "image:push"}} {
		out := c.mustMage(env, args...)
		if !strings.Contains(out, host+"/acme/svc:0.1.0") || !strings.Contains(out, "signed with ecdsa-p256 key") {
			t.Errorf("mage %v did not push and sign:\n%s", args, out)
		}
		outputs = append(outputs, out)
	}
	// A wrong password is refused without showing the right one or the key.
	const wrongPassword = "wr0ng-pw-5d1e"
	bad := append(slices.Clone(env[:3]), "HOIST_SIGN=1", "COSIGN_KEY="+string(key), "COSIGN_PASSWORD="+wrongPassword)
	out, err := c.mage(bad, "-v", "image:push")
	if err == nil || !strings.Contains(out, "set COSIGN_PASSWORD") {
		t.Errorf("image:push with a wrong key password = %v, want a refusal naming COSIGN_PASSWORD:\n%s", err, out)
	}
	if strings.Contains(out, wrongPassword) {
		t.Errorf("the refusal shows the password it was given:\n%s", out)
	}
	outputs = append(outputs, out)
	wrong := []string{"DOCKER_CONFIG=" + dockerCfg, "REGISTRY=ci:" + planted + "@" + host + "/acme", "PLATFORMS=linux/amd64"}
	out, err = c.mage(wrong, "image:push")
	if err == nil || !strings.Contains(out, "holds credentials") || !strings.Contains(out, "docker login") {
		t.Errorf("REGISTRY with a password = %v, want a refusal naming docker login:\n%s", err, out)
	}
	outputs = append(outputs, out)
	for i, o := range outputs {
		if strings.Contains(o, planted) || strings.Contains(o, keyBody) {
			t.Errorf("output %d shows a password or the signing key:\n%s", i, o)
		}
	}
	err = filepath.WalkDir(c.path("dist"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), planted) || strings.Contains(string(data), auth) || strings.Contains(string(data), keyBody) {
			t.Errorf("%s holds a password or the signing key", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestInsecureRegistryByName releases to a plain-HTTP registry addressed
// by a name that is not loopback, allowed by HOIST_INSECURE_REGISTRIES.
// The name resolves through an HTTP proxy (HTTP_PROXY) that the test runs
// on loopback and that forwards every request to the registry, since a
// test may not touch the machine's name resolution. Every step, the tags
// included, must speak plain HTTP to it, and the warning names the
// variable.
func TestInsecureRegistryByName(t *testing.T) {
	if testing.Short() {
		t.Skip("a release")
	}
	reg := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	backend, _ := url.Parse(reg.URL)
	var proxied atomic.Int64
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		proxied.Add(1)
		r.SetURL(backend)
	}})
	t.Cleanup(proxy.Close)
	const name = "registry.internal:5000"
	c := newConsumer(t, map[string]string{
		"go.mod":                "module example.com/acme/svc\n\ngo 1.26\n",
		"VERSION":               "0.1.0\n",
		".gitignore":            "/dist/\n",
		"cmd/svc/main.go":       stampMain,
		"magefiles/magefile.go": zeroConfig,
	})
	env := []string{"HTTP_PROXY=" + proxy.URL, "REGISTRY=" + name + "/acme", "HOIST_INSECURE_REGISTRIES=" + name, "PLATFORMS=linux/amd64", "COVERAGE_MIN=-1"}
	out := c.mustMage(env, "release")
	if !strings.Contains(out, "plain HTTP allowed for "+name+" by HOIST_INSECURE_REGISTRIES") {
		t.Errorf("release output lacks the warning naming HOIST_INSECURE_REGISTRIES:\n%s", out)
	}
	if m := readManifest(t, c.path("dist/release.json")); m.Tag != "v0.1.0" || len(m.Images) != 1 || m.Images[0].Ref != name+"/acme/svc:0.1.0" {
		t.Errorf("release.json = %+v, want v0.1.0 pushed to %s", m, name)
	}
	pullIndex(t, strings.TrimPrefix(reg.URL, "http://")+"/acme/svc:0.1.0")
	if proxied.Load() == 0 {
		t.Error("nothing went through the proxy: the test did not reach the registry by name")
	}
}
