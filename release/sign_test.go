package release

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/hoistdev/hoist/attest"
	"github.com/hoistdev/hoist/internal/cosigntest"
	"github.com/hoistdev/hoist/publish"
	"github.com/hoistdev/hoist/sign"
)

const testKeyPassword = "k3y-pa55-8e41"

// keyPair writes a cosign-format key pair outside the repository and
// returns the private and public key files.
func keyPair(t testing.TB) (priv, pub string) {
	t.Helper()
	k, p, err := sign.GenerateKeyPair([]byte(testKeyPassword))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(priv, k, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, p, 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// referrersRegistry is go-containerregistry's in-process registry with the
// OCI 1.1 referrers API switched on: the embedded registry and
// distribution 2.8 lack it (the e2e tests use those), so this covers the
// API path.
func referrersRegistry(t testing.TB) string {
	t.Helper()
	reg := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true)))
	t.Cleanup(reg.Close)
	return strings.TrimPrefix(reg.URL, "http://")
}

// TestSignedRelease releases with a key to a registry with the referrers
// API: the plan names the signer and every attachment, the run attaches
// exactly those and records them, the files next to checksums.txt verify,
// release:check passes, pushing the same image again attaches nothing new,
// and neither the password nor the private key is in any output or file.
func TestSignedRelease(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a signed release")
	}
	r := svcRepo(t)
	priv, pubFile := keyPair(t)
	host := referrersRegistry(t)
	rl := &releaser{t: t, r: r, env: map[string]string{
		"REGISTRY": host + "/acme", "PLATFORMS": "linux/amd64,linux/arm64", "COSIGN_KEY": priv, "COSIGN_PASSWORD": testKeyPassword,
	}}
	p := rl.plan(ModeRelease, nil)
	if !strings.HasPrefix(p.Signer, "ecdsa-p256 key sha256:") || len(p.Referrers) != 9 {
		t.Errorf("plan signer %q with %d referrers, want an ecdsa-p256 key and 9 (3 on the index, 3 on each of 2 platforms)", p.Signer, len(p.Referrers))
	}
	out, err := rl.run(ModeRelease, nil, okGates)
	if err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	m := rl.manifest()
	samePlanAndRun(t, p, m)

	pubPEM, _ := os.ReadFile(pubFile)
	pub, err := sign.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(r.dir, "dist")
	sums, _ := os.ReadFile(filepath.Join(dist, ChecksumsFile))
	bundle, _ := os.ReadFile(filepath.Join(dist, ChecksumsFile+".sigstore.json"))
	if err := sign.VerifyBlob(pub, sums, bundle); err != nil {
		t.Errorf("checksums.txt.sigstore.json does not verify: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dist, PublicKeyFile)); !bytes.Equal(got, pubPEM) {
		t.Errorf("dist/cosign.pub = %s, want the key's public half %s", got, pubPEM)
	}
	provBundle, _ := os.ReadFile(filepath.Join(dist, ProvenanceBundle))
	payload, err := sign.VerifyStatement(pub, provBundle)
	if err != nil {
		t.Fatalf("provenance bundle: %v", err)
	}
	plain, _ := os.ReadFile(filepath.Join(dist, ProvenanceFile))
	if !bytes.Equal(bytes.TrimSpace(plain), payload) {
		t.Errorf("dist/%s is not the statement %s signs", ProvenanceFile, ProvenanceBundle)
	}
	st, err := attest.Parse(payload)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range m.Artifacts {
		if (a.Type == "archive" || a.Type == "sbom" || a.Type == "checksums") && !st.Covers("sha256:"+a.SHA256) {
			t.Errorf("the provenance does not cover %s", a.Name)
		}
	}
	if !st.Covers(m.Images[0].Digest) {
		t.Errorf("the provenance does not cover the image index %s", m.Images[0].Digest)
	}
	var prov attest.Provenance
	if err := json.Unmarshal(st.Predicate, &prov); err != nil {
		t.Fatal(err)
	}
	if prov.BuildDefinition.ExternalParameters.Source.Commit != m.Commit || prov.BuildDefinition.ExternalParameters.Source.Ref != "refs/tags/"+m.Tag {
		t.Errorf("provenance source = %+v, want commit %s and ref refs/tags/%s", prov.BuildDefinition.ExternalParameters.Source, m.Commit, m.Tag)
	}
	if bins := prov.BuildDefinition.InternalParameters.Binaries; len(bins) != 2 || !strings.Contains(strings.Join(bins[0].Flags, " "), "-X main.version="+m.Version) {
		t.Errorf("provenance binaries = %+v, want 2 with the stamped version in their flags", bins)
	}

	// Every attachment is on the registry and verifies.
	repo := host + "/acme/svc"
	for _, ref := range m.Referrers {
		descs, err := publish.Referrers(t.Context(), repo, ref.Subject)
		if err != nil || len(descs) != 3 {
			t.Errorf("referrers of %s = %d, %v; want 3", ref.Subject, len(descs), err)
		}
	}

	// release:check, trusting only the public key.
	w, wout := open(t, r.dir, rl.with(map[string]string{"COSIGN_KEY": "", "COSIGN_PASSWORD": "", "COSIGN_PUBLIC_KEY": pubFile}), nil)
	if err := w.Check(t.Context()); err != nil {
		t.Errorf("Check = %v\n%s", err, wout)
	}

	// Pushing the released commit again (image:push with HOIST_SIGN=1)
	// signs the same bytes: nothing new is attached.
	w2, wout2 := open(t, r.dir, rl.with(map[string]string{"HOIST_SIGN": "1"}), nil)
	stamp, err := w2.CurrentStamp(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.PushImage(t.Context(), "image:push", stamp, false); err != nil {
		t.Fatalf("image:push with HOIST_SIGN=1: %v\n%s", err, wout2)
	}
	out2 := wout2.String()
	if !strings.Contains(out2, "(0 new, 9 already there)") {
		t.Errorf("signing the released image again attached something new:\n%s", out2)
	}

	// No secret anywhere.
	keyPEM, _ := os.ReadFile(priv)
	body := strings.Split(string(keyPEM), "\n")[1]
	for name, text := range map[string]string{"release output": out, "image:push output": out2, "check output": wout.String()} {
		if strings.Contains(text, testKeyPassword) || strings.Contains(text, body) {
			t.Errorf("%s shows the password or the private key", name)
		}
	}
	_ = filepath.WalkDir(dist, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		if bytes.Contains(data, []byte(testKeyPassword)) || bytes.Contains(data, []byte(body)) || bytes.Contains(data, []byte("PRIVATE KEY")) {
			t.Errorf("%s holds the password or the private key", p)
		}
		return nil
	})
}

// TestCosignVerifiesReferrersAPI: the real cosign finds and verifies what
// a release attached through the referrers API.
func TestCosignVerifiesReferrersAPI(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a signed release")
	}
	bin := cosigntest.Binary(t)
	r := svcRepo(t)
	priv, pubFile := keyPair(t)
	host := referrersRegistry(t)
	rl := &releaser{t: t, r: r, env: map[string]string{
		"REGISTRY": host + "/acme", "PLATFORMS": "linux/amd64", "COSIGN_KEY": priv, "COSIGN_PASSWORD": testKeyPassword,
	}}
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	ref := host + "/acme/svc@" + rl.manifest().Images[0].Digest
	dir := t.TempDir()
	for _, args := range [][]string{
		{"verify"},
		{"verify-attestation", "--type", "slsaprovenance1"},
		{"verify-attestation", "--type", "spdxjson"},
	} {
		full := append(append(args, "--key", pubFile, "--insecure-ignore-tlog=true", "--allow-http-registry"), ref)
		if out, err := cosigntest.Run(t, bin, dir, nil, full...); err != nil {
			t.Errorf("cosign %s: %v\n%s", strings.Join(full, " "), err, out)
		}
	}
}

// TestSignPreflight: a signing key that cannot sign stops the release
// before anything is built, naming the setting to fix; the plan refuses
// the same way.
func TestSignPreflight(t *testing.T) {
	t.Parallel()
	priv, pub := keyPair(t)
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(p224)
	weak := filepath.Join(t.TempDir(), "p224.key")
	if err := os.WriteFile(weak, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"missing file", map[string]string{"COSIGN_KEY": "nope/cosign.key"}, []string{"COSIGN_KEY=nope/cosign.key", "neither a readable file", "point COSIGN_KEY at the private key file"}},
		{"garbage secret", map[string]string{"COSIGN_KEY": "c2VjcmV0LWJ1dC1ub3QtYS1rZXk="}, []string{"COSIGN_KEY: no signing key there", "or give the key itself"}},
		{"wrong password", map[string]string{"COSIGN_KEY": priv, "COSIGN_PASSWORD": "typo-8c1"}, []string{"COSIGN_KEY=" + priv, "wrong password", "set COSIGN_PASSWORD"}},
		{"no password", map[string]string{"COSIGN_KEY": priv}, []string{"no password opens it", "set COSIGN_PASSWORD"}},
		{"public key given", map[string]string{"COSIGN_KEY": pub}, []string{"not a private key", "not the public one"}},
		{"unsupported key", map[string]string{"COSIGN_KEY": weak}, []string{"unsupported key", "P-224", "release:keygen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := svcRepo(t)
			rl := &releaser{t: t, r: r, env: map[string]string{"REGISTRY": memRegistry(t) + "/acme", "PLATFORMS": "linux/amd64"}}
			before := r.state()
			p := rl.plan(ModeRelease, tt.env)
			out, err := rl.run(ModeRelease, tt.env, okGates)
			var pe *PreflightError
			if !errors.As(err, &pe) {
				t.Fatalf("release = %v, want a preflight refusal\n%s", err, out)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) || !strings.Contains(p.Refused, want) {
					t.Errorf("release error %q / plan refusal %q: want both to say %q", err, p.Refused, want)
				}
			}
			if strings.Contains(err.Error(), "typo-8c1") || strings.Contains(err.Error(), "c2VjcmV0") {
				t.Errorf("the error shows the password or the key setting's value: %v", err)
			}
			if after := r.state(); after != before {
				t.Errorf("a refused release changed the repository: %+v -> %+v", before, after)
			}
			if _, err := os.Stat(filepath.Join(r.dir, "dist", "svc_linux_amd64")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused release built binaries: %v", err)
			}
		})
	}
}

// refusingRegistry is a registry that takes images but refuses the
// referrer manifest named by refuse (1-based), as a registry predating
// OCI 1.1 refuses them all: a fault the real registries cannot produce on
// demand part-way through.
func refusingRegistry(t *testing.T, refuse int64) string {
	t.Helper()
	backend := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(backend.Close)
	u, _ := url.Parse(backend.URL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256:") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte(`"subject"`)) && n.Add(1) == refuse {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid: unknown field subject"}]}`))
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestSignRefusedRollsBack: a registry that refuses a referrer part-way
// fails the release at the sign stage with the way out named; no git tag,
// no registry tag and no attachment stays behind.
func TestSignRefusedRollsBack(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a release")
	}
	r := svcRepo(t)
	priv, _ := keyPair(t)
	host := refusingRegistry(t, 5)
	rl := &releaser{t: t, r: r, env: map[string]string{
		"REGISTRY": host + "/acme", "PLATFORMS": "linux/amd64", "COSIGN_KEY": priv, "COSIGN_PASSWORD": testKeyPassword,
	}}
	before := r.state()
	out, err := rl.run(ModeRelease, nil, okGates)
	if !errors.Is(err, publish.ErrReferrersRefused) || !strings.Contains(err.Error(), "HOIST_SIGN=off") {
		t.Fatalf("release = %v, want ErrReferrersRefused naming HOIST_SIGN=off\n%s", err, out)
	}
	if after := r.state(); after != before {
		t.Errorf("the failed release changed the repository: %+v -> %+v", before, after)
	}
	repo := host + "/acme/svc"
	if d, err := publish.TagDigest(t.Context(), repo, "1.4.0"); err != nil || d != "" {
		t.Errorf("tag 1.4.0 after the failed release = %q, %v; want none", d, err)
	}
	var a struct {
		Artifacts []struct {
			Type, Name, Digest string
		}
	}
	data, err := os.ReadFile(filepath.Join(r.dir, "dist", "artifacts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, art := range a.Artifacts {
		if art.Type == "image-index" || art.Type == "image" {
			subjects = append(subjects, art.Digest)
		}
	}
	if len(subjects) != 2 {
		t.Fatalf("artifacts.json names %d image manifests, want the index and one platform: %s", len(subjects), data)
	}
	// Referrers were attached to both before the fifth was refused.
	for _, d := range subjects {
		descs, err := publish.Referrers(t.Context(), repo, d)
		if err != nil || len(descs) != 0 {
			t.Errorf("referrers of %s after the rollback = %d, %v; want none", d, len(descs), err)
		}
	}
	if !strings.Contains(out, "everything is back as it was") {
		t.Errorf("the output does not say the release was rolled back:\n%s", out)
	}
}

// TestCheckFindsProblems: release:check names each way a published
// release can fail to match: another key, a missing or changed file, an
// attestation moved to another image, a version that was never tagged.
func TestCheckFindsProblems(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a signed release")
	}
	r := svcRepo(t)
	priv, pubFile := keyPair(t)
	host := referrersRegistry(t)
	env := map[string]string{"REGISTRY": host + "/acme", "PLATFORMS": "linux/amd64", "COSIGN_KEY": priv, "COSIGN_PASSWORD": testKeyPassword}
	rl := &releaser{t: t, r: r, env: env}
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	m := rl.manifest()
	check := func(extra map[string]string) (string, error) {
		w, out := open(t, r.dir, rl.with(extra), nil)
		err := w.Check(t.Context())
		return out.String(), err
	}
	if out, err := check(map[string]string{"COSIGN_PUBLIC_KEY": pubFile}); err != nil {
		t.Fatalf("Check of an intact release = %v\n%s", err, out)
	}
	_, otherPub := keyPair(t)
	if _, err := check(map[string]string{"COSIGN_PUBLIC_KEY": otherPub}); err == nil || !strings.Contains(err.Error(), "has no signature, no sbom, no provenance signed by key") {
		t.Errorf("Check with another key = %v, want every missing kind named", err)
	}

	// An attestation of the index, attached to the platform manifest too.
	repo := host + "/acme/svc"
	var platform, sigRef string
	for _, ref := range m.Referrers {
		switch {
		case ref.Platform == "" && ref.Kind == KindSignature:
			sigRef = ref.Ref
		case ref.Platform != "":
			platform = ref.Subject
		}
	}
	_, digest, _ := strings.Cut(sigRef, "@")
	art, err := publish.ReadArtifact(t.Context(), repo, digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Attach(t.Context(), repo, platform, []publish.Artifact{{ArtifactType: art.ArtifactType, Data: art.Data}}); err != nil {
		t.Fatal(err)
	}
	if _, err := check(map[string]string{"COSIGN_PUBLIC_KEY": pubFile}); err == nil || !strings.Contains(err.Error(), "about other digests than "+platform) {
		t.Errorf("Check with the index's signature on %s = %v, want the misplaced attestation named", platform, err)
	}

	// Files in dist/.
	dist := filepath.Join(r.dir, "dist")
	if err := os.Remove(filepath.Join(dist, ProvenanceBundle)); err != nil {
		t.Fatal(err)
	}
	if _, err := check(map[string]string{"COSIGN_PUBLIC_KEY": pubFile}); err == nil || !strings.Contains(err.Error(), "has no signed provenance") {
		t.Errorf("Check without the provenance bundle = %v, want it named", err)
	}

	// A VERSION nobody tagged.
	r.write("VERSION", "9.9.9\n")
	if _, err := check(map[string]string{"COSIGN_PUBLIC_KEY": pubFile}); err == nil || !strings.Contains(err.Error(), "there is no tag v9.9.9") {
		t.Errorf("Check of an untagged VERSION = %v, want the missing tag named", err)
	}
	// No key at all.
	w, _ := open(t, r.dir, map[string]string{"REGISTRY": host + "/acme"}, nil)
	if err := w.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "COSIGN_PUBLIC_KEY") {
		t.Errorf("Check without any key = %v, want COSIGN_PUBLIC_KEY named", err)
	}
}

// TestKeygen: release:keygen writes a key pair cosign and hoist both read,
// keeps the private key out of git and never overwrites a key.
func TestKeygen(t *testing.T) {
	t.Parallel()
	r := svcRepo(t)
	w, out := open(t, r.dir, map[string]string{"COSIGN_PASSWORD": testKeyPassword}, nil)
	if err := w.Keygen(t.Context()); err != nil {
		t.Fatalf("Keygen = %v\n%s", err, out)
	}
	key, err := os.ReadFile(filepath.Join(r.dir, "cosign.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(r.dir, "cosign.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("cosign.key mode = %v, want 0600", fi.Mode().Perm())
	}
	s, err := sign.LoadKey(key, []byte(testKeyPassword))
	if err != nil {
		t.Fatalf("the generated key does not open with COSIGN_PASSWORD: %v", err)
	}
	pubPEM, _ := os.ReadFile(filepath.Join(r.dir, PublicKeyFile))
	pub, err := sign.ParsePublicKey(pubPEM)
	if err != nil || sign.Fingerprint(pub) != sign.Fingerprint(s.PublicKey()) {
		t.Errorf("cosign.pub is not the key's public half: %v", err)
	}
	if st := r.git("status", "--porcelain"); strings.Contains(st, "cosign.key") || !strings.Contains(st, ".gitignore") || !strings.Contains(st, "cosign.pub") {
		t.Errorf("git status after keygen:\n%s\nwant cosign.key ignored and .gitignore and cosign.pub to commit", st)
	}
	if strings.Contains(out.String(), testKeyPassword) {
		t.Errorf("keygen output shows the password:\n%s", out)
	}
	if err := w.Keygen(t.Context()); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second Keygen = %v, want a refusal to overwrite", err)
	}
	if got, _ := os.ReadFile(filepath.Join(r.dir, "cosign.key")); !bytes.Equal(got, key) {
		t.Error("the second Keygen changed cosign.key")
	}
}

// TestSignedSnapshot: HOIST_SIGN=1 signs a snapshot in the embedded
// registry (no referrers API there, so the tag schema), as planned.
func TestSignedSnapshot(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a signed snapshot")
	}
	r := svcRepo(t)
	priv, pubFile := keyPair(t)
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64", "COSIGN_KEY": priv, "COSIGN_PASSWORD": testKeyPassword}}
	rl.embedded(t.TempDir())
	unsigned := rl.plan(ModeSnapshot, nil)
	if unsigned.Signer != "" || len(unsigned.Referrers) != 0 {
		t.Errorf("a snapshot plan without HOIST_SIGN=1 signs: %q, %d referrers", unsigned.Signer, len(unsigned.Referrers))
	}
	p := rl.plan(ModeSnapshot, map[string]string{"HOIST_SIGN": "1"})
	out, err := rl.run(ModeSnapshot, map[string]string{"HOIST_SIGN": "1"}, okGates)
	if err != nil {
		t.Fatalf("signed snapshot: %v\n%s", err, out)
	}
	m := rl.manifest()
	samePlanAndRun(t, p, m)
	if len(m.Referrers) != 6 {
		t.Errorf("release.json lists %d referrers, want 6", len(m.Referrers))
	}
	pubPEM, _ := os.ReadFile(pubFile)
	pub, _ := sign.ParsePublicKey(pubPEM)
	sums, _ := os.ReadFile(filepath.Join(r.dir, "dist", ChecksumsFile))
	bundle, _ := os.ReadFile(filepath.Join(r.dir, "dist", ChecksumsFile+".sigstore.json"))
	if err := sign.VerifyBlob(pub, sums, bundle); err != nil {
		t.Errorf("the snapshot's checksums.txt signature: %v", err)
	}
}

// TestKeyForms: COSIGN_KEY takes a file, the PEM text or the PEM
// base64-encoded, as CI secret stores keep keys.
func TestKeyForms(t *testing.T) {
	t.Parallel()
	priv, _ := keyPair(t)
	pemText, err := os.ReadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	r := svcRepo(t)
	for name, value := range map[string]string{"file": priv, "PEM": string(pemText), "base64": base64.StdEncoding.EncodeToString(pemText)} {
		w, _ := open(t, r.dir, map[string]string{"COSIGN_KEY": value, "COSIGN_PASSWORD": testKeyPassword}, nil)
		s, err := w.Signer(t.Context())
		if err != nil {
			t.Errorf("COSIGN_KEY as %s: %v", name, err)
			continue
		}
		if !strings.HasPrefix(s.String(), "ecdsa-p256 key") {
			t.Errorf("COSIGN_KEY as %s gives %s", name, s)
		}
	}
}
