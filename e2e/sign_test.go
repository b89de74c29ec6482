package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/cosigntest"
	"github.com/hoistdev/hoist/publish"
	"github.com/hoistdev/hoist/registry"
)

// signedFiles is a service whose release is signed with a key cosign
// generated; cosign.key stays out of git, as the guide says.
var signedFiles = map[string]string{
	"go.mod":                "module example.com/acme/svc\n\ngo 1.26\n",
	"VERSION":               "0.1.0\n",
	".gitignore":            "/dist/\n/cosign.key\n",
	"cmd/svc/main.go":       stampMain,
	"magefiles/magefile.go": zeroConfig,
}

const keyPassword = "c0sign-pw-71b2"

// TestSignedReleaseVerifiesWithCosign releases a service signed with a key
// pair the real cosign generated, to the embedded registry and to Debian's
// docker-registry 2.8 (neither serves the referrers API, so the
// attestations go through the referrers tag schema), and checks the
// published release with the real cosign CLI and nothing else: cosign
// verify on the index and on a platform manifest, cosign
// verify-attestation for the SLSA provenance and the SPDX SBOM, cosign
// verify-blob for checksums.txt (bundle and bare signature) and
// verify-blob-attestation for an archive. Another key, a changed
// checksums.txt and a changed archive are refused, by cosign and by
// release:check.
func TestSignedReleaseVerifiesWithCosign(t *testing.T) {
	if testing.Short() {
		t.Skip("a signed release")
	}
	bin := cosigntest.Binary(t)
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, c *consumer) (host, repo string, env []string)
	}{
		{"embedded registry", startEmbedded},
		{"docker-registry 2.8", startPlainDistribution},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConsumer(t, signedFiles)
			cosign := func(env []string, args ...string) (string, error) {
				return cosigntest.Run(t, bin, c.dir, env, args...)
			}
			if out, err := cosign([]string{"COSIGN_PASSWORD=" + keyPassword}, "generate-key-pair"); err != nil {
				t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
			}
			c.run(".", "git", "add", "cosign.pub")
			c.run(".", "git", "commit", "-qm", "chore: the release signing key")

			host, repo, repoEnv := tc.start(t, c)
			env := append([]string{"COSIGN_KEY=cosign.key", "COSIGN_PASSWORD=" + keyPassword, "PLATFORMS=linux/amd64,linux/arm64", "COVERAGE_MIN=-1"}, repoEnv...)
			out := c.mustMage(env, "release")
			if !strings.Contains(out, "signed with ecdsa-p256 key sha256:") {
				t.Errorf("release does not say it signed:\n%s", out)
			}
			if strings.Contains(out, keyPassword) {
				t.Errorf("the release output shows the key's password:\n%s", out)
			}
			m := readManifest(t, c.path("dist/release.json"))
			if len(m.Images) == 0 {
				t.Fatalf("release.json names no image:\n%s", out)
			}
			digest := m.Images[0].Digest
			if len(m.Referrers) != 9 {
				t.Errorf("release.json lists %d referrers, want 3 on the index and 3 on each of 2 platform manifests: %+v", len(m.Referrers), m.Referrers)
			}
			if host == "" {
				host = serveEmbedded(t, c) // the registry the release started is gone
			}
			ref := host + "/" + repo + "@" + digest
			verify := []string{"--key", "cosign.pub", "--insecure-ignore-tlog=true"}

			if out, err := cosign(nil, append(append([]string{"verify"}, verify...), ref)...); err != nil {
				t.Errorf("cosign verify %s: %v\n%s", ref, err, out)
			}
			for _, typ := range []string{"slsaprovenance1", "spdxjson"} {
				out, err := cosign(nil, append(append([]string{"verify-attestation", "--type", typ}, verify...), ref)...)
				if err != nil {
					t.Errorf("cosign verify-attestation --type %s %s: %v\n%s", typ, ref, err, out)
					continue
				}
				if typ == "slsaprovenance1" && !strings.Contains(provenancePayloads(t, out), m.Commit) {
					t.Errorf("the verified provenance does not name commit %s:\n%s", m.Commit, out)
				}
			}
			// A platform manifest carries its own signature and SBOM.
			for _, r := range m.Referrers {
				if r.Platform == "linux/arm64" && r.Kind == "sbom" {
					pref := host + "/" + repo + "@" + r.Subject
					if out, err := cosign(nil, append(append([]string{"verify"}, verify...), pref)...); err != nil {
						t.Errorf("cosign verify %s (linux/arm64): %v\n%s", pref, err, out)
					}
					if out, err := cosign(nil, append(append([]string{"verify-attestation", "--type", "spdxjson"}, verify...), pref)...); err != nil {
						t.Errorf("cosign verify-attestation --type spdxjson %s (linux/arm64): %v\n%s", pref, err, out)
					}
					break
				}
			}
			for _, how := range [][]string{{"--bundle", "dist/checksums.txt.sigstore.json"}, {"--signature", "dist/checksums.txt.sig"}} {
				args := append(append(append([]string{"verify-blob"}, verify...), how...), "dist/checksums.txt")
				if out, err := cosign(nil, args...); err != nil {
					t.Errorf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			archive := "dist/svc_0.1.0_linux_amd64.tar.gz"
			blobAtt := append(append([]string{"verify-blob-attestation", "--type", "slsaprovenance1", "--bundle", "dist/provenance.sigstore.json"}, verify...), archive)
			if out, err := cosign(nil, blobAtt...); err != nil {
				t.Errorf("cosign %s: %v\n%s", strings.Join(blobAtt, " "), err, out)
			}

			// The attachments are listed where any OCI client looks.
			descs, err := publish.Referrers(t.Context(), host+"/"+repo, digest)
			if err != nil || len(descs) != 3 {
				t.Errorf("referrers of the index = %d, %v; want 3", len(descs), err)
			}

			// hoist's own check, trusting only cosign.pub.
			checkEnv := repoEnv
			if out, err := c.mage(checkEnv, "release:check"); err != nil || !strings.Contains(out, "v0.1.0 verified") {
				t.Errorf("release:check of the release = %v, want it verified:\n%s", err, out)
			}

			// Another key verifies nothing.
			other := t.TempDir()
			if out, err := cosigntest.Run(t, bin, other, []string{"COSIGN_PASSWORD=x"}, "generate-key-pair"); err != nil {
				t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
			}
			wrong := []string{"--key", filepath.Join(other, "cosign.pub"), "--insecure-ignore-tlog=true"}
			if out, err := cosign(nil, append(append([]string{"verify"}, wrong...), ref)...); err == nil {
				t.Errorf("cosign verify with another key passed:\n%s", out)
			}
			if out, err := c.mage(append([]string{"COSIGN_PUBLIC_KEY=" + filepath.Join(other, "cosign.pub")}, checkEnv...), "release:check"); err == nil || !strings.Contains(out, "has no signature, no sbom, no provenance signed by key") {
				t.Errorf("release:check with another key = %v, want the missing signatures named:\n%s", err, out)
			}

			// Changed files are caught.
			sums, _ := os.ReadFile(c.path("dist/checksums.txt"))
			writeTree(t, c.dir, map[string]string{"dist/checksums.txt": string(sums) + "0000  extra.tar.gz\n"})
			if out, err := cosign(nil, append(append([]string{"verify-blob"}, verify...), "--bundle", "dist/checksums.txt.sigstore.json", "dist/checksums.txt")...); err == nil {
				t.Errorf("cosign verify-blob passed a changed checksums.txt:\n%s", out)
			}
			if out, err := c.mage(checkEnv, "release:check"); err == nil || !strings.Contains(out, "checksums.txt.sigstore.json: signature does not verify") {
				t.Errorf("release:check of a changed checksums.txt = %v, want the signature named:\n%s", err, out)
			}
			writeTree(t, c.dir, map[string]string{"dist/checksums.txt": string(sums)})
			f, err := os.OpenFile(c.path(archive), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("tampered"))
			f.Close()
			if out, err := c.mage(checkEnv, "release:check"); err == nil || !strings.Contains(out, "svc_0.1.0_linux_amd64.tar.gz: sha256") {
				t.Errorf("release:check of a changed archive = %v, want the archive named:\n%s", err, out)
			}
			if out, err := cosign(nil, blobAtt...); err == nil {
				t.Errorf("cosign verify-blob-attestation passed a changed archive:\n%s", out)
			}
		})
	}
}

// provenancePayloads decodes the DSSE payloads cosign verify-attestation
// prints, one JSON envelope per line.
func provenancePayloads(t *testing.T, out string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		var env struct {
			Payload []byte `json:"payload"`
		}
		if json.Unmarshal([]byte(line), &env) == nil && len(env.Payload) > 0 {
			b.Write(env.Payload)
		}
	}
	return b.String()
}

// startEmbedded leaves the release to the embedded registry: no host yet,
// since the registry the release starts stops with it.
func startEmbedded(t *testing.T, c *consumer) (string, string, []string) {
	return "", "svc", nil
}

// serveEmbedded serves the consumer's embedded registry storage with the
// real hoist-registry, as registry:serve does, and returns its host.
func serveEmbedded(t *testing.T, c *consumer) string {
	t.Helper()
	proc, err := registry.Start(t.Context(), registry.WithDataDir(c.data), registry.WithDir(c.path("magefiles")), registry.WithAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatalf("serve the embedded registry's storage: %v", err)
	}
	t.Cleanup(func() { _ = proc.Stop(t.Context()) })
	return proc.Host()
}

// startPlainDistribution runs Debian's docker-registry 2.8 on a loopback
// port over plain HTTP (hoist and cosign both speak plain HTTP to
// loopback registries) and sends the release there.
func startPlainDistribution(t *testing.T, c *consumer) (string, string, []string) {
	t.Helper()
	const bin = "/usr/bin/docker-registry"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("HOIST_REQUIRE_REGISTRY") == "1" {
			t.Fatalf("%s is required (HOIST_REQUIRE_REGISTRY=1): %v", bin, err)
		}
		t.Skipf("%s not installed; set HOIST_REQUIRE_REGISTRY=1 to make this a failure", bin)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "storage"), host)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", host, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return host, "acme/svc", []string{"REGISTRY=" + host + "/acme"}
}
