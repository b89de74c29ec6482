package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// keys of every supported kind, generated once: RSA generation is slow.
var (
	keysOnce sync.Once
	keys     map[string]crypto.PrivateKey
)

func testKeys(t *testing.T) map[string]crypto.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		keys = map[string]crypto.PrivateKey{}
		for name, c := range map[string]elliptic.Curve{"ecdsa-p256": elliptic.P256(), "ecdsa-p384": elliptic.P384(), "ecdsa-p521": elliptic.P521()} {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				panic(err)
			}
			keys[name] = k
		}
		r, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys["rsa-2048"] = r
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		keys["ed25519"] = ed
	})
	return keys
}

// encryptedPEM writes key the way cosign generate-key-pair does.
func encryptedPEM(t *testing.T, key crypto.PrivateKey, password string) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := encrypted.Encrypt(der, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: sigstoreKeyType, Bytes: sealed})
}

// rawVerify checks sig over message with the standard library alone, the
// way cosign's verifier treats each kind of key: an implementation
// independent of the one under test.
func rawVerify(t *testing.T, pub crypto.PublicKey, message, sig []byte) bool {
	t.Helper()
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		d := sha256.Sum256(message)
		return ecdsa.VerifyASN1(k, d[:], sig)
	case *rsa.PublicKey:
		d := sha256.Sum256(message)
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) == nil
	case ed25519.PublicKey:
		return ed25519.Verify(k, message, sig)
	}
	t.Fatalf("no raw verifier for %T", pub)
	return false
}

// bundleParts decodes the fields of a bundle the tests look at, with
// encoding/json rather than the protobuf code under test.
type bundleParts struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
	} `json:"verificationMaterial"`
	MessageSignature *struct {
		MessageDigest struct {
			Algorithm string `json:"algorithm"`
			Digest    []byte `json:"digest"`
		} `json:"messageDigest"`
		Signature []byte `json:"signature"`
	} `json:"messageSignature"`
	DsseEnvelope *struct {
		Payload     []byte `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []struct {
			Sig []byte `json:"sig"`
		} `json:"signatures"`
	} `json:"dsseEnvelope"`
}

func parts(t *testing.T, bundle []byte) bundleParts {
	t.Helper()
	var p bundleParts
	if err := json.Unmarshal(bundle, &p); err != nil {
		t.Fatalf("bundle is not JSON: %v\n%s", err, bundle)
	}
	if p.MediaType != BundleMediaType || p.VerificationMaterial.PublicKey.Hint == "" {
		t.Errorf("bundle media type %q, key hint %q: want %q and a hint", p.MediaType, p.VerificationMaterial.PublicKey.Hint, BundleMediaType)
	}
	return p
}

func TestSignBlobEveryKeyKind(t *testing.T) {
	data := []byte("0123abcd  web_1.2.3_linux_amd64.tar.gz\n")
	for name, key := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			s, err := LoadKey(encryptedPEM(t, key, "pw"), []byte("pw"))
			if err != nil {
				t.Fatalf("LoadKey: %v", err)
			}
			if !strings.HasPrefix(s.String(), name+" key sha256:") {
				t.Errorf("String() = %q, want it to start with %q", s.String(), name+" key sha256:")
			}
			sig, bundle, err := SignBlob(t.Context(), s, data)
			if err != nil {
				t.Fatalf("SignBlob: %v", err)
			}
			if err := VerifySignature(s.PublicKey(), data, sig); err != nil {
				t.Errorf("VerifySignature(bare signature) = %v, want nil", err)
			}
			if err := VerifyBlob(s.PublicKey(), data, bundle); err != nil {
				t.Errorf("VerifyBlob = %v, want nil", err)
			}
			p := parts(t, bundle)
			if p.MessageSignature == nil || p.MessageSignature.MessageDigest.Algorithm != "SHA2_256" || !rawVerify(t, s.PublicKey(), data, p.MessageSignature.Signature) {
				t.Errorf("the bundle's message signature does not verify independently:\n%s", bundle)
			}
			if d := sha256.Sum256(data); p.MessageSignature != nil && !bytes.Equal(p.MessageSignature.MessageDigest.Digest, d[:]) {
				t.Errorf("bundle message digest = %x, want %x", p.MessageSignature.MessageDigest.Digest, d)
			}
			tampered := append([]byte("x"), data...)
			if err := VerifyBlob(s.PublicKey(), tampered, bundle); !errors.Is(err, ErrBadSignature) {
				t.Errorf("VerifyBlob(other data) = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestSignStatementEveryKeyKind(t *testing.T) {
	stmt := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"web","digest":{"sha256":"` + strings.Repeat("ab", 32) + `"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`)
	for name, key := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			s, err := NewKeySigner(key)
			if err != nil {
				t.Fatalf("NewKeySigner: %v", err)
			}
			bundle, err := SignStatement(t.Context(), s, stmt)
			if err != nil {
				t.Fatalf("SignStatement: %v", err)
			}
			got, err := VerifyStatement(s.PublicKey(), bundle)
			if err != nil {
				t.Fatalf("VerifyStatement = %v, want nil", err)
			}
			if !bytes.Equal(got, stmt) {
				t.Errorf("VerifyStatement returned %s, want %s", got, stmt)
			}
			p := parts(t, bundle)
			if p.DsseEnvelope == nil || p.DsseEnvelope.PayloadType != InTotoPayloadType || len(p.DsseEnvelope.Signatures) != 1 ||
				!rawVerify(t, s.PublicKey(), []byte("DSSEv1 28 application/vnd.in-toto+json "+strconv.Itoa(len(stmt))+" "+string(stmt)), p.DsseEnvelope.Signatures[0].Sig) {
				t.Errorf("the envelope does not verify independently:\n%s", bundle)
			}
			other, _ := NewKeySigner(testKeys(t)["ecdsa-p256"])
			if name != "ecdsa-p256" {
				if _, err := VerifyStatement(other.PublicKey(), bundle); !errors.Is(err, ErrBadSignature) {
					t.Errorf("VerifyStatement(another key) = %v, want ErrBadSignature", err)
				}
			}
			// A payload changed after signing must not verify.
			var raw map[string]any
			if err := json.Unmarshal(bundle, &raw); err != nil {
				t.Fatal(err)
			}
			env := raw["dsseEnvelope"].(map[string]any)
			env["payload"] = "e30=" // {}
			forged, _ := json.Marshal(raw)
			if _, err := VerifyStatement(s.PublicKey(), forged); !errors.Is(err, ErrBadSignature) {
				t.Errorf("VerifyStatement(changed payload) = %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestDeterministic: the same input signed twice gives the same bundle, so
// a rerun of a release pushes the same referrer manifests.
func TestDeterministic(t *testing.T) {
	for name, key := range testKeys(t) {
		s, _ := NewKeySigner(key)
		a, err := SignStatement(t.Context(), s, []byte(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := SignStatement(t.Context(), s, []byte(`{"a":1}`))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two signatures of one statement differ:\n%s\n%s", name, a, b)
		}
		if bytes.ContainsAny(a, " \n") {
			t.Errorf("%s: bundle is not compact JSON: %s", name, a)
		}
	}
}

func TestLoadKeyErrors(t *testing.T) {
	p256 := testKeys(t)["ecdsa-p256"]
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	plain := func(k crypto.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	pub, _ := PublicKeyPEM(&p256.(*ecdsa.PrivateKey).PublicKey)
	tests := []struct {
		name     string
		data     []byte
		password string
		want     error
		mention  string
	}{
		{"wrong password", encryptedPEM(t, p256, "right"), "hunter2-typo", ErrWrongPassword, "does not decrypt"},
		{"no password for an encrypted key", encryptedPEM(t, p256, "right"), "", ErrWrongPassword, "no password"},
		{"not PEM", []byte("hello"), "", ErrNotKey, "no PEM block"},
		{"public key given", pub, "", ErrNotKey, `"PUBLIC KEY"`},
		{"P-224", plain(p224), "", ErrUnsupportedKey, "P-224"},
		{"RSA 1024", plain(rsa1024), "", ErrUnsupportedKey, "1024-bit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadKey(tt.data, []byte(tt.password))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("LoadKey = %v, want %v mentioning %q", err, tt.want, tt.mention)
			}
			if tt.password != "" && strings.Contains(err.Error(), tt.password) {
				t.Errorf("the error quotes the password: %v", err)
			}
		})
	}
}

func TestLoadKeyFormats(t *testing.T) {
	k := testKeys(t)["ecdsa-p256"].(*ecdsa.PrivateKey)
	sec1, _ := x509.MarshalECPrivateKey(k)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k)
	r := testKeys(t)["rsa-2048"].(*rsa.PrivateKey)
	old := encryptedPEM(t, k, "")
	old = bytes.Replace(old, []byte(sigstoreKeyType), []byte(cosignKeyType), 2)
	for name, data := range map[string][]byte{
		"encrypted, empty password": encryptedPEM(t, k, ""),
		"cosign 1.x type":           old,
		"SEC 1":                     pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"PKCS #8":                   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		"PKCS #1":                   pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(r)}),
	} {
		if _, err := LoadKey(data, nil); err != nil {
			t.Errorf("LoadKey(%s) = %v, want a key", name, err)
		}
	}
}

func TestGenerateKeyPair(t *testing.T) {
	priv, pub, err := GenerateKeyPair([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(priv, []byte("-----BEGIN "+sigstoreKeyType)) {
		t.Errorf("private key starts %q, want the cosign PEM type", priv[:40])
	}
	if _, err := LoadKey(priv, []byte("other")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("LoadKey(wrong password) = %v, want ErrWrongPassword", err)
	}
	s, err := LoadKey(priv, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(p) != Fingerprint(s.PublicKey()) {
		t.Errorf("public key %s does not match private key %s", Fingerprint(p), Fingerprint(s.PublicKey()))
	}
	if _, err := ParsePublicKey([]byte("nope")); err == nil {
		t.Error("ParsePublicKey(garbage) = nil error")
	}
}

func TestPAE(t *testing.T) {
	// The example from the DSSE specification's protocol document.
	got := string(PAE("http://example.com/HelloWorld", []byte("hello world")))
	want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
	if got != want {
		t.Errorf("PAE = %q, want %q", got, want)
	}
}

func TestSignCancelled(t *testing.T) {
	s, _ := NewKeySigner(testKeys(t)["ecdsa-p256"])
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := SignBlob(ctx, s, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("SignBlob(cancelled) = %v, want context.Canceled", err)
	}
}
