package publish

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/crypto/bcrypt"
)

const distributionBinary = "/usr/bin/docker-registry"

// distribution is a real CNCF distribution registry (Debian's
// docker-registry, 2.8) running as a child process with TLS and htpasswd.
type distribution struct {
	host    string // 127.0.0.1:port
	certDir string // holds ca.crt, as skopeo --cert-dir expects
	roots   *x509.CertPool
}

// transport trusts the test CA and nothing else.
func (d *distribution) transport() *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: d.roots}}
}

func requireTool(t *testing.T, path, env string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv(env) == "1" {
			t.Fatalf("%s is required (%s=1) but missing: %v", path, env, err)
		}
		t.Skipf("%s not installed; set %s=1 to make this a failure", path, env)
	}
}

// startDistribution runs docker-registry on a free loopback port with
// filesystem storage in a temp dir, bcrypt htpasswd auth for testUser, and
// TLS from a CA generated for this test. The process ends with the test.
func startDistribution(t *testing.T) *distribution {
	t.Helper()
	requireTool(t, distributionBinary, "HOIST_REQUIRE_REGISTRY")
	dir := t.TempDir()
	roots := writeTestPKI(t, dir)

	hash, err := bcrypt.GenerateFromPassword([]byte(testPass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(testUser+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()

	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: hoist-test-secret
  tls:
    certificate: %s
    key: %s
auth:
  htpasswd:
    realm: hoist-test
    path: %s
`, filepath.Join(dir, "storage"), host, filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), htpasswd)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	var stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), distributionBinary, "serve", cfgPath)
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", distributionBinary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	d := &distribution{host: host, certDir: filepath.Join(dir, "certs"), roots: roots}
	client := &http.Client{Transport: d.transport(), Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Get("https://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return d
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("docker-registry exited early: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", host, err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeTestPKI creates a CA and a server certificate for 127.0.0.1 in dir
// (server.crt, server.key, certs/ca.crt) and returns a pool with the CA.
func writeTestPKI(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hoist test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for path, block := range map[string]*pem.Block{
		filepath.Join(dir, "server.crt"):      {Type: "CERTIFICATE", Bytes: srvDER},
		filepath.Join(dir, "server.key"):      {Type: "EC PRIVATE KEY", Bytes: keyDER},
		filepath.Join(dir, "certs", "ca.crt"): {Type: "CERTIFICATE", Bytes: caDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

// skopeo runs the skopeo CLI and returns its stdout, failing with stderr.
func skopeo(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), "skopeo", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("skopeo %s: %w: %s", args[0], err, stderr.String())
	}
	return stdout.Bytes(), nil
}

func TestDistributionRegistry(t *testing.T) {
	d := startDistribution(t)
	requireTool(t, "/usr/bin/skopeo", "HOIST_REQUIRE_REGISTRY")
	repo := d.host + "/web"
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	right := []Option{WithAuth(rightCreds), WithTransport(d.transport()), WithLogger(logger)}
	wrong := []Option{WithAuth(&authn.Basic{Username: testUser, Password: "wrong"}), WithTransport(d.transport()), WithLogger(logger)}

	t.Run("untrusted certificate", func(t *testing.T) {
		err := Check(t.Context(), repo, WithAuth(rightCreds))
		if !errors.Is(err, ErrUntrustedCert) {
			t.Errorf("Check(%s) with system roots only = %v, want ErrUntrustedCert", repo, err)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		if err := Check(t.Context(), repo, wrong...); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("Check(%s) with wrong password = %v, want ErrUnauthorized", repo, err)
		}
		_, err := Push(t.Context(), testIndex(t, 800, 4<<10), []Destination{{Repository: repo, Tags: []string{"bad"}}}, wrong...)
		want := fmt.Sprintf("authentication failed (401): check `docker login %s` or the credentials helper", d.host)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Push() with wrong password = %v, want it to contain %q", err, want)
		}
		// The tag must not exist, as seen by an independent client.
		if _, err := skopeo(t, "inspect", "--raw", "--cert-dir", d.certDir, "--creds", testUser+":"+testPass, "docker://"+repo+":bad"); err == nil {
			t.Error("skopeo inspect of tag \"bad\" succeeded after a failed push, want manifest unknown")
		}
	})

	t.Run("right credentials", func(t *testing.T) {
		if err := Check(t.Context(), repo, right...); err != nil {
			t.Fatalf("Check(%s) = %v", repo, err)
		}
		idx := testIndex(t, 801, 64<<10)
		res, err := Push(t.Context(), idx, []Destination{{Repository: repo, Tags: []string{"v1.0.0"}}}, right...)
		if err != nil {
			t.Fatalf("Push() = %v", err)
		}
		want := digestOf(t, idx)
		if res[0].Digest != want || res[0].BlobsUploaded != testIndexBlobs {
			t.Errorf("Push() = digest %s uploaded %d, want %s %d", res[0].Digest, res[0].BlobsUploaded, want, testIndexBlobs)
		}
		if err := Verify(t.Context(), res[0].Refs[0], append(right, WithFullVerify())...); err != nil {
			t.Errorf("Verify(%s) = %v", res[0].Refs[0], err)
		}

		raw, err := skopeo(t, "inspect", "--raw", "--cert-dir", d.certDir, "--creds", testUser+":"+testPass, "docker://"+repo+":v1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != want.String() {
			t.Errorf("skopeo inspect --raw digest = %s, want %s", got, want)
		}
		out := filepath.Join(t.TempDir(), "oci")
		if _, err := skopeo(t, "copy", "--all", "--src-cert-dir", d.certDir, "--src-creds", testUser+":"+testPass,
			"docker://"+repo+":v1.0.0", "oci:"+out+":v1.0.0"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(out, "index.json")); err != nil {
			t.Errorf("skopeo copy wrote no OCI layout: %v", err)
		}

		again, err := Push(t.Context(), idx, []Destination{{Repository: repo, Tags: []string{"v1.0.0", "latest"}}}, right...)
		if err != nil || again[0].BlobsUploaded != 0 || again[0].BlobsSkipped != testIndexBlobs {
			t.Errorf("re-Push() = %v uploaded %d skipped %d, want nil 0 %d", err, again[0].BlobsUploaded, again[0].BlobsSkipped, testIndexBlobs)
		}
	})

	if !strings.Contains(logs.String(), "status=201") {
		t.Errorf("debug log lacks the uploads, so the leak check proves nothing")
	}
	assertNoSecrets(t, "debug log", logs.String())
}
