package sign

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/hoistdev/hoist/internal/cosigntest"
)

// TestCosignVerifiesOurBlobSignatures: the real cosign CLI accepts both
// forms of a blob signature this package writes, for every key kind, and
// refuses them for a changed file.
func TestCosignVerifiesOurBlobSignatures(t *testing.T) {
	bin := cosigntest.Binary(t)
	data := []byte("4f2a...  web_1.2.3_linux_amd64.tar.gz\n")
	for name, key := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := NewKeySigner(key)
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := PublicKeyPEM(s.PublicKey())
			sig, bundle, err := SignBlob(t.Context(), s, data)
			if err != nil {
				t.Fatal(err)
			}
			write(t, dir, "cosign.pub", pub)
			write(t, dir, "checksums.txt", data)
			write(t, dir, "checksums.txt.sig", []byte(base64.StdEncoding.EncodeToString(sig)))
			write(t, dir, "checksums.txt.sigstore.json", bundle)
			write(t, dir, "other.txt", append(data, 'x'))
			for _, how := range [][]string{{"--bundle", "checksums.txt.sigstore.json"}, {"--signature", "checksums.txt.sig"}} {
				args := append([]string{"verify-blob", "--key", "cosign.pub", "--insecure-ignore-tlog=true"}, how...)
				if out, err := cosigntest.Run(t, bin, dir, nil, append(args, "checksums.txt")...); err != nil {
					t.Errorf("cosign %v checksums.txt: %v\n%s", args, err, out)
				}
				if out, err := cosigntest.Run(t, bin, dir, nil, append(args, "other.txt")...); err == nil {
					t.Errorf("cosign %v accepted a changed file:\n%s", args, out)
				}
			}
		})
	}
}

// TestCosignUsesOurKeys: a key pair from GenerateKeyPair is one cosign
// signs with, and what cosign signs this package verifies.
func TestCosignUsesOurKeys(t *testing.T) {
	bin := cosigntest.Binary(t)
	dir := t.TempDir()
	priv, pub, err := GenerateKeyPair([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "cosign.key", priv)
	write(t, dir, "cosign.pub", pub)
	write(t, dir, "blob", []byte("hello\n"))
	// A signing config without a transparency log: nothing leaves the machine.
	if out, err := cosigntest.Run(t, bin, dir, nil, "signing-config", "create", "--out", "offline.json"); err != nil {
		t.Fatalf("cosign signing-config create: %v\n%s", err, out)
	}
	if out, err := cosigntest.Run(t, bin, dir, []string{"COSIGN_PASSWORD=s3cret"}, "sign-blob", "--key", "cosign.key",
		"--signing-config", "offline.json", "--bundle", "blob.sigstore.json", "--yes", "blob"); err != nil {
		t.Fatalf("cosign sign-blob with our key: %v\n%s", err, out)
	}
	bundle, err := os.ReadFile(filepath.Join(dir, "blob.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyBlob(key, []byte("hello\n"), bundle); err != nil {
		t.Errorf("VerifyBlob(cosign's bundle) = %v, want nil\n%s", err, bundle)
	}
	if err := VerifyBlob(key, []byte("hello!\n"), bundle); err == nil {
		t.Error("VerifyBlob(cosign's bundle, other data) = nil, want an error")
	}
	if !bytes.Contains(bundle, []byte(BundleMediaType)) {
		t.Errorf("cosign wrote a bundle of another version: %s", bundle)
	}
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}
