package docker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/hoistdev/hoist/config"
)

// writeCerts writes a self-signed ca.pem/cert.pem/key.pem set, the layout
// DOCKER_CERT_PATH points at.
func writeCerts(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hoist test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	writeTree(t, dir, map[string]string{
		"ca.pem":   string(certPEM),
		"cert.pem": string(certPEM),
		"key.pem":  string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})),
	})
	return dir
}

func TestClientOpts(t *testing.T) {
	certs := writeCerts(t)
	tests := []struct {
		name    string
		env     map[string]string
		wantN   int
		wantErr string
	}{
		{name: "nothing set", env: nil, wantN: 0},
		{name: "host", env: map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2375"}, wantN: 1},
		{name: "all", env: map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_CERT_PATH": certs, "DOCKER_TLS_VERIFY": "1", "DOCKER_API_VERSION": "1.41"}, wantN: 3},
		{name: "bad host", env: map[string]string{"DOCKER_HOST": "tcp://a b:1"}, wantErr: "DOCKER_HOST="},
		{name: "missing certs", env: map[string]string{"DOCKER_CERT_PATH": t.TempDir()}, wantErr: "must hold ca.pem, cert.pem and key.pem"},
		{name: "bad API version", env: map[string]string{"DOCKER_API_VERSION": "latest"}, wantErr: "DOCKER_API_VERSION=\"latest\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := config.ReadEnv(func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			opts, err := clientOpts(env.Docker)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("clientOpts(%v) = %v, want an error containing %q", tc.env, err, tc.wantErr)
				}
				return
			}
			if err != nil || len(opts) != tc.wantN {
				t.Fatalf("clientOpts(%v) = %d options, %v; want %d, nil", tc.env, len(opts), err, tc.wantN)
			}
		})
	}
}

// TestUnreachableEngine points the targets at a port nothing listens on:
// each one must fail up front with the daemon address and DOCKER_HOST.
func TestUnreachableEngine(t *testing.T) {
	p := newProject(t, "0.1.0", nil)
	tests := []struct {
		name string
		env  map[string]string
		run  func(context.Context) error
		want []string
	}{
		{
			name: "build, refused port",
			env:  map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:1"},
			run:  Docker{}.Build,
			want: []string{"cannot reach the Docker Engine at tcp://127.0.0.1:1", "DOCKER_HOST"},
		},
		{
			name: "down, missing socket",
			env:  map[string]string{"DOCKER_HOST": "unix://" + filepath.Join(t.TempDir(), "docker.sock")},
			run:  Docker{}.Down,
			want: []string{"cannot reach the Docker Engine at unix://", "DOCKER_HOST"},
		},
		{
			name: "malformed host",
			env:  map[string]string{"DOCKER_HOST": "tcp://a b:1"},
			run:  Docker{}.Down,
			want: []string{"DOCKER_HOST=", "use unix:///var/run/docker.sock or tcp://host:port"},
		},
		{
			name: "TLS over a refused port",
			env:  map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:1", "DOCKER_CERT_PATH": writeCerts(t), "DOCKER_TLS_VERIFY": "1"},
			run:  Docker{}.Build,
			want: []string{"cannot reach the Docker Engine at tcp://127.0.0.1:1", "DOCKER_HOST"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p.use(t, tc.env, nil)
			err := tc.run(t.Context())
			for _, want := range tc.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s = %v, want an error containing %q", tc.name, err, want)
				}
			}
		})
	}
}

// indexOf builds an index with one random image per platform.
func indexOf(t *testing.T, platforms ...v1.Platform) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.AppendManifests(empty.Index, adds...)
}

func TestPickImage(t *testing.T) {
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := v1.Platform{OS: "linux", Architecture: "arm64"}
	armv6 := v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}
	armv7 := v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	idx := indexOf(t, amd64, armv6, armv7, arm64)
	tests := []struct {
		name    string
		want    v1.Platform
		got     v1.Platform
		wantErr []string
	}{
		{name: "exact", want: amd64, got: amd64},
		{name: "other arch", want: arm64, got: arm64},
		{name: "daemon without variant takes the newest", want: v1.Platform{OS: "linux", Architecture: "arm"}, got: armv7},
		{name: "variant asked for", want: armv6, got: armv6},
		{name: "missing", want: v1.Platform{OS: "linux", Architecture: "s390x"}, wantErr: []string{"no linux/s390x variant", "linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64", "PLATFORMS"}},
		{name: "windows daemon", want: v1.Platform{OS: "windows", Architecture: "amd64"}, wantErr: []string{"no windows/amd64"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, got, err := pickImage(idx, tc.want)
			if tc.wantErr != nil {
				for _, w := range tc.wantErr {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("pickImage(%s) = %v, want an error containing %q", platformString(tc.want), err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("pickImage(%s) = %v, want nil", platformString(tc.want), err)
			}
			if diff := cmp.Diff(tc.got, got); diff != "" {
				t.Errorf("pickImage(%s) platform mismatch (-want +got):\n%s", platformString(tc.want), diff)
			}
			if _, err := img.Digest(); err != nil {
				t.Errorf("pickImage(%s) image digest = %v, want a readable image", platformString(tc.want), err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	p := newProject(t, "0.1.0", nil)
	tests := []struct {
		name       string
		image      string
		version    string
		env        map[string]string
		wantDev    string
		wantTags   []string
		dockerfile string
	}{
		{name: "plain", image: "web", version: "0.1.0", wantDev: "web-dev", wantTags: []string{"web:0.1.0"}, dockerfile: "web:0.1.0-dockerfile"},
		{name: "latest", image: "web", version: "1.2.3-rc.1", env: map[string]string{"DOCKER_LATEST": "1"}, wantDev: "web-dev", wantTags: []string{"web:1.2.3-rc.1", "web:latest"}, dockerfile: "web:1.2.3-rc.1-dockerfile"},
		{name: "build metadata", image: "acme/web", version: "1.0.0+git.abc", wantDev: "acme-web-dev", wantTags: []string{"acme/web:1.0.0_git.abc"}, dockerfile: "acme/web:1.0.0_git.abc-dockerfile"},
		{name: "registry host", image: "localhost:5000/team/web", version: "2.0.0", wantDev: "localhost-5000-team-web-dev", wantTags: []string{"localhost:5000/team/web:2.0.0"}, dockerfile: "localhost:5000/team/web:2.0.0-dockerfile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			if env == nil {
				env = map[string]string{}
			}
			s, _ := p.use(t, env, func(c *config.Config) { c.Image.Name = tc.image })
			v := semver.MustParse(tc.version)
			if got := devName(s); got != tc.wantDev {
				t.Errorf("devName(%s) = %q, want %q", tc.image, got, tc.wantDev)
			}
			if diff := cmp.Diff(tc.wantTags, loadTags(s, v)); diff != "" {
				t.Errorf("loadTags(%s, %s) mismatch (-want +got):\n%s", tc.image, tc.version, diff)
			}
			if got := dockerfileRef(s, v); got != tc.dockerfile {
				t.Errorf("dockerfileRef(%s, %s) = %q, want %q", tc.image, tc.version, got, tc.dockerfile)
			}
		})
	}
}

// TestDockerPlatform covers the override; the daemon's own platform is
// exercised by the tests that load into a real daemon.
func TestDockerPlatform(t *testing.T) {
	p := newProject(t, "0.1.0", nil)
	tests := []struct {
		name, env string
		want      v1.Platform
		wantErr   string
	}{
		{name: "arm64", env: "linux/arm64", want: v1.Platform{OS: "linux", Architecture: "arm64"}},
		{name: "arm v7", env: "linux/arm/v7", want: v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		{name: "arm64 level collapses", env: "linux/arm64/v8.2", want: v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
		{name: "malformed", env: "linux", wantErr: "DOCKER_PLATFORM: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A malformed value is refused when the environment is read;
			// daemonPlatform checks its input again for Go callers.
			s, _ := p.use(t, map[string]string{}, nil)
			s.Env.Docker.Platform = tc.env
			// No daemon is asked when the platform is given.
			got, err := daemonPlatform(t.Context(), s, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("daemonPlatform(DOCKER_PLATFORM=%s) = %v, want an error containing %q", tc.env, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("daemonPlatform(DOCKER_PLATFORM=%s) = %v, want nil", tc.env, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("daemonPlatform(DOCKER_PLATFORM=%s) mismatch (-want +got):\n%s", tc.env, diff)
			}
		})
	}
}

func TestContainerPort(t *testing.T) {
	p := newProject(t, "0.1.0", nil)
	tests := []struct {
		name  string
		ports []string
		want  string
	}{
		{name: "default", want: "8080/tcp"},
		{name: "first configured", ports: []string{"9090/tcp", "9091/udp"}, want: "9090/tcp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := p.use(t, map[string]string{}, func(c *config.Config) { c.Image.Ports = tc.ports })
			if got := containerPort(s); got != tc.want {
				t.Errorf("containerPort(%v) = %q, want %q", tc.ports, got, tc.want)
			}
		})
	}
}

func TestHostPort(t *testing.T) {
	tests := []struct {
		name, env, want, wantErr string
	}{
		{name: "default", env: "", want: "8080"},
		{name: "set", env: "18080", want: "18080"},
		{name: "daemon picks", env: "0", want: ""},
		{name: "not a number", env: "http", wantErr: "DOCKER_UP_PORT=\"http\""},
		{name: "out of range", env: "70000", wantErr: "0 to let Docker pick"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hostPort(tc.env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("hostPort(%q) = %q, %v; want an error containing %q", tc.env, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("hostPort(%q) = %q, %v; want %q, nil", tc.env, got, err, tc.want)
			}
		})
	}
}

// TestBuildArgs checks the values docker:build hands the Dockerfile: the
// same version, commit and date go:build stamps, plus the base overrides.
func TestBuildArgs(t *testing.T) {
	p := newProject(t, "0.7.0", nil)
	tests := []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{
			name: "from git",
			env:  map[string]string{},
			want: map[string]string{"VERSION": "0.7.0", "COMMIT": p.commit, "DATE": commitDate(t, p)},
		},
		{
			name: "bases and epoch",
			env:  map[string]string{"GO_IMAGE": "local/go:1", "RUNTIME_IMAGE": "local/static:1", "SOURCE_DATE_EPOCH": "1700000000"},
			want: map[string]string{"VERSION": "0.7.0", "COMMIT": p.commit, "DATE": "2023-11-14T22:13:20Z", "GO_IMAGE": "local/go:1", "RUNTIME_IMAGE": "local/static:1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := p.use(t, tc.env, nil)
			got, err := buildArgs(t.Context(), s)
			if err != nil {
				t.Fatalf("buildArgs() = %v, want nil", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("buildArgs() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("no VERSION", func(t *testing.T) {
		s, _ := p.use(t, map[string]string{}, nil)
		if err := os.Remove(filepath.Join(p.dir, "VERSION")); err != nil {
			t.Fatal(err)
		}
		if _, err := buildArgs(t.Context(), s); err == nil {
			t.Errorf("buildArgs() without VERSION = nil, want an error")
		}
	})
}

func commitDate(t *testing.T, p *project) string {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, git(t, p.dir, "log", "-1", "--format=%cI"))
	if err != nil {
		t.Fatal(err)
	}
	return ts.UTC().Format(time.RFC3339)
}
