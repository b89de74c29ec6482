package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Signer makes signatures and says how a verifier finds the key that
// checks them. KeySigner is the implementation for a key the user holds;
// a keyless signer (a short-lived Fulcio certificate, its signature logged
// in Rekor) implements the same two calls: Sign with its ephemeral key,
// Material with the certificate and the transparency log entry of sig.
type Signer interface {
	// Sign returns the signature of message: a blob's bytes for a message
	// signature, or a DSSE envelope's pre-authentication encoding.
	Sign(ctx context.Context, message []byte) ([]byte, error)
	// Material is the verification material of a bundle that holds sig
	// over message.
	Material(ctx context.Context, message, sig []byte) (*protobundle.VerificationMaterial, error)
	// PublicKey is the key sig verifies with.
	PublicKey() crypto.PublicKey
	// String names the signer for logs, plans and release.json: the kind
	// of key and its fingerprint, never anything secret.
	String() string
}

// Errors LoadKey returns, for callers that point at the setting to fix.
var (
	// ErrNotKey means the data holds no private key hoist can read.
	ErrNotKey = errors.New("not a private key")
	// ErrWrongPassword means the key is encrypted and the password given
	// does not open it.
	ErrWrongPassword = errors.New("wrong password")
	// ErrUnsupportedKey means the key is of a kind cosign cannot verify
	// signatures of.
	ErrUnsupportedKey = errors.New("unsupported key")
)

// PEM block types of private keys LoadKey reads. cosign generate-key-pair
// writes the first; cosign before 2.0 wrote the second. Both are PKCS #8
// encrypted with scrypt and NaCl secretbox.
const (
	sigstoreKeyType = "ENCRYPTED SIGSTORE PRIVATE KEY"
	cosignKeyType   = "ENCRYPTED COSIGN PRIVATE KEY"
)

// KeySigner signs with a private key, the way cosign does with --key: the
// SHA-256 of the message for ECDSA (whatever the curve) and RSA PKCS #1
// v1.5, the message itself for Ed25519. Its signatures are deterministic:
// ECDSA uses RFC 6979 nonces, the other two never had one. So the same
// release signed twice gives the same bytes.
type KeySigner struct {
	priv crypto.Signer
	pub  crypto.PublicKey
	ed   bool // Ed25519 signs the message itself, not a digest
	kind string
	hint string // base64 SHA-256 of the DER public key, the bundle's key hint
}

// LoadKey reads a private key in the format `cosign generate-key-pair`
// writes (PEM "ENCRYPTED SIGSTORE PRIVATE KEY" or the older "ENCRYPTED
// COSIGN PRIVATE KEY") and decrypts it with password, which may be empty as
// in cosign. An unencrypted PKCS #8, SEC 1 or PKCS #1 PEM key is read too,
// and password is then not used. The key must be ECDSA P-256, P-384 or
// P-521, RSA of 2048, 3072 or 4096 bits, or Ed25519: the kinds cosign
// verifies. The errors wrap ErrNotKey, ErrWrongPassword or
// ErrUnsupportedKey and never quote the key or the password.
func LoadKey(data, password []byte) (*KeySigner, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found; give the private key file written by cosign generate-key-pair", ErrNotKey)
	}
	var der []byte
	switch block.Type {
	case sigstoreKeyType, cosignKeyType:
		plain, err := encrypted.Decrypt(block.Bytes, password)
		if err != nil {
			if len(password) == 0 {
				return nil, fmt.Errorf("%w: the key is encrypted and no password opens it: give the password it was generated with", ErrWrongPassword)
			}
			return nil, fmt.Errorf("%w: the password does not decrypt the key", ErrWrongPassword)
		}
		der = plain
	case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
		der = block.Bytes
	default:
		return nil, fmt.Errorf("%w: a PEM block of type %q; want %q (cosign generate-key-pair) or an unencrypted PKCS #8 private key", ErrNotKey, block.Type, sigstoreKeyType)
	}
	key, err := parsePrivate(block.Type, der)
	if err != nil {
		return nil, err
	}
	return NewKeySigner(key)
}

// parsePrivate reads the DER of a private key in the encoding its PEM type
// names (an encrypted cosign key holds PKCS #8).
func parsePrivate(pemType string, der []byte) (crypto.PrivateKey, error) {
	var key crypto.PrivateKey
	var err error
	switch pemType {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(der)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(der)
	default:
		key, err = x509.ParsePKCS8PrivateKey(der)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the key does not parse: %v", ErrNotKey, err)
	}
	return key, nil
}

// NewKeySigner signs with key, which must be an *ecdsa.PrivateKey on
// P-256, P-384 or P-521, an *rsa.PrivateKey of 2048, 3072 or 4096 bits, or
// an ed25519.PrivateKey.
func NewKeySigner(key crypto.PrivateKey) (*KeySigner, error) {
	s := &KeySigner{}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		s.priv, s.pub = k, &k.PublicKey
		switch k.Curve {
		case elliptic.P256():
			s.kind = "ecdsa-p256"
		case elliptic.P384():
			s.kind = "ecdsa-p384"
		case elliptic.P521():
			s.kind = "ecdsa-p521"
		default:
			return nil, fmt.Errorf("%w: an ECDSA key on %s; use P-256 (cosign generate-key-pair), P-384 or P-521", ErrUnsupportedKey, k.Curve.Params().Name)
		}
	case *rsa.PrivateKey:
		s.priv, s.pub = k, &k.PublicKey
		bits := k.N.BitLen()
		if bits != 2048 && bits != 3072 && bits != 4096 {
			return nil, fmt.Errorf("%w: a %d-bit RSA key; cosign verifies RSA keys of 2048, 3072 or 4096 bits", ErrUnsupportedKey, bits)
		}
		s.kind = fmt.Sprintf("rsa-%d", bits)
	case ed25519.PrivateKey:
		s.priv, s.pub, s.ed, s.kind = k, k.Public(), true, "ed25519"
	default:
		return nil, fmt.Errorf("%w: a %T; use ECDSA P-256 (cosign generate-key-pair), P-384, P-521, RSA or Ed25519", ErrUnsupportedKey, key)
	}
	if s.hint = KeyHint(s.pub); s.hint == "" {
		return nil, fmt.Errorf("%w: the public key does not encode", ErrUnsupportedKey)
	}
	return s, nil
}

// Sign implements Signer.
func (s *KeySigner) Sign(ctx context.Context, message []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if s.ed {
		return ed25519.Sign(s.priv.(ed25519.PrivateKey), message), nil
	}
	digest := sha256.Sum256(message)
	// A nil random source asks crypto/ecdsa for an RFC 6979 deterministic
	// signature; crypto/rsa's PKCS #1 v1.5 needs none.
	sig, err := s.priv.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign with the %s key: %w", s.kind, err)
	}
	return sig, nil
}

// Material implements Signer: a key is found by its hint, the base64
// SHA-256 of its DER encoding, as cosign writes it.
func (s *KeySigner) Material(context.Context, []byte, []byte) (*protobundle.VerificationMaterial, error) {
	return &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: s.hint}},
	}, nil
}

// PublicKey implements Signer.
func (s *KeySigner) PublicKey() crypto.PublicKey { return s.pub }

// String implements Signer: "ecdsa-p256 key sha256:1a2b3c4d5e6f".
func (s *KeySigner) String() string {
	return s.kind + " key " + Fingerprint(s.pub)
}

// Fingerprint names a public key by the SHA-256 of its DER encoding,
// shortened to 12 hex digits: enough to tell keys apart in a log line.
func Fingerprint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "sha256:unknown"
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:6])
}

// PublicKeyPEM encodes pub the way cosign writes cosign.pub.
func PublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	out, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, fmt.Errorf("encode the public key: %w", err)
	}
	return out, nil
}

// ParsePublicKey reads a PEM public key such as cosign.pub.
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("read the public key: %w; give a PEM file such as the cosign.pub cosign generate-key-pair writes", err)
	}
	return pub, nil
}

// verifierFor checks signatures the way cosign does for a key given with
// --key: a SHA-256 digest whatever the curve or key size, RSA PKCS #1 v1.5,
// and plain Ed25519 over the whole message.
func verifierFor(pub crypto.PublicKey) (signature.Verifier, error) {
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return v, nil
}

// GenerateKeyPair makes a new ECDSA P-256 key pair in cosign's format: the
// private key encrypted with password (scrypt and secretbox, PEM
// "ENCRYPTED SIGSTORE PRIVATE KEY") and the public key as PEM, the same
// two files `cosign generate-key-pair` writes and reads.
func GenerateKeyPair(password []byte) (private, public []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate a P-256 key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the private key: %w", err)
	}
	sealed, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypt the private key: %w", err)
	}
	public, err = PublicKeyPEM(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: sigstoreKeyType, Bytes: sealed}), public, nil
}
