package e2e

import (
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
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
// in the Docker config, at mage's normal and verbose levels, and fails if
// the password shows up in any output or in any file under dist/. A
// password in REGISTRY itself is refused before any work, shown redacted.
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
	env := []string{"DOCKER_CONFIG=" + dockerCfg, "REGISTRY=" + host + "/acme", "PLATFORMS=linux/amd64"}
	var outputs []string
	for _, args := range [][]string{{"image:push"}, {"-v", "image:push"}} {
		out := c.mustMage(env, args...)
		if !strings.Contains(out, host+"/acme/svc:0.1.0") {
			t.Errorf("mage %v did not push:\n%s", args, out)
		}
		outputs = append(outputs, out)
	}
	wrong := []string{"DOCKER_CONFIG=" + dockerCfg, "REGISTRY=ci:" + planted + "@" + host + "/acme", "PLATFORMS=linux/amd64"}
	out, err := c.mage(wrong, "image:push")
	if err == nil || !strings.Contains(out, "holds credentials") || !strings.Contains(out, "docker login") {
		t.Errorf("REGISTRY with a password = %v, want a refusal naming docker login:\n%s", err, out)
	}
	outputs = append(outputs, out)
	for i, o := range outputs {
		if strings.Contains(o, planted) {
			t.Errorf("output %d shows the password:\n%s", i, o)
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
		if strings.Contains(string(data), planted) || strings.Contains(string(data), auth) {
			t.Errorf("%s holds the password", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
