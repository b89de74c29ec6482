package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

// Media and payload types of what this package writes.
const (
	// BundleMediaType is the media type of a sigstore bundle, version 0.3,
	// the version cosign 3 writes and reads.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// InTotoPayloadType is the DSSE payload type of an in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"
)

// ErrBadSignature means a signature does not verify with the key given, or
// a bundle does not hold what it should.
var ErrBadSignature = errors.New("signature does not verify")

// SignBlob signs data with s and returns the bare signature (what `cosign
// sign-blob` prints, before base64) and a sigstore bundle holding it as a
// message signature over data's SHA-256 (what `cosign verify-blob --bundle`
// reads).
func SignBlob(ctx context.Context, s Signer, data []byte) (sig, bundle []byte, err error) {
	sig, err = s.Sign(ctx, data)
	if err != nil {
		return nil, nil, err
	}
	material, err := s.Material(ctx, data, sig)
	if err != nil {
		return nil, nil, fmt.Errorf("verification material: %w", err)
	}
	digest := sha256.Sum256(data)
	b := &protobundle.Bundle{
		MediaType:            BundleMediaType,
		VerificationMaterial: material,
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     sig,
		}},
	}
	out, err := encode(b)
	if err != nil {
		return nil, nil, err
	}
	return sig, out, nil
}

// SignStatement signs an in-toto statement with s as a DSSE envelope and
// returns the sigstore bundle holding it, the form `cosign verify` and
// `cosign verify-attestation` look for among an image's referrers.
func SignStatement(ctx context.Context, s Signer, statement []byte) ([]byte, error) {
	pae := PAE(InTotoPayloadType, statement)
	sig, err := s.Sign(ctx, pae)
	if err != nil {
		return nil, err
	}
	material, err := s.Material(ctx, pae, sig)
	if err != nil {
		return nil, fmt.Errorf("verification material: %w", err)
	}
	b := &protobundle.Bundle{
		MediaType:            BundleMediaType,
		VerificationMaterial: material,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     statement,
			PayloadType: InTotoPayloadType,
			Signatures:  []*protodsse.Signature{{Sig: sig}},
		}},
	}
	return encode(b)
}

// PAE is DSSE's pre-authentication encoding of a payload: what the
// signature of an envelope covers, so that the payload type is signed too.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// encode writes a bundle as compact JSON. protojson varies its whitespace
// from one build of a program to the next on purpose; compacting it gives
// the same bytes for the same bundle everywhere, so signatures and the
// referrer manifests holding them are reproducible.
func encode(b *protobundle.Bundle) ([]byte, error) {
	raw, err := protojson.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode the sigstore bundle: %w", err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return nil, fmt.Errorf("encode the sigstore bundle: %w", err)
	}
	return out.Bytes(), nil
}

// decode reads a sigstore bundle and checks its version, 0.3.
func decode(data []byte) (*protobundle.Bundle, error) {
	b := &protobundle.Bundle{}
	if err := protojson.Unmarshal(data, b); err != nil {
		return nil, fmt.Errorf("%w: not a sigstore bundle: %v", ErrBadSignature, err)
	}
	if b.GetMediaType() != BundleMediaType {
		return nil, fmt.Errorf("%w: a bundle of media type %q, want %q", ErrBadSignature, b.GetMediaType(), BundleMediaType)
	}
	return b, nil
}

// KeyHint is how a bundle names the key pub: the base64 SHA-256 of its DER
// encoding, as KeySigner writes it and cosign reads it.
func KeyHint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// BundleKeyHint is the key hint a bundle carries, "" when it names its
// key some other way (a certificate) or does not parse.
func BundleKeyHint(bundle []byte) string {
	b, err := decode(bundle)
	if err != nil {
		return ""
	}
	return b.GetVerificationMaterial().GetPublicKey().GetHint()
}

// VerifyBlob checks that bundle holds a message signature over data that
// pub verifies.
func VerifyBlob(pub crypto.PublicKey, data, bundle []byte) error {
	b, err := decode(bundle)
	if err != nil {
		return err
	}
	ms := b.GetMessageSignature()
	if ms == nil {
		return fmt.Errorf("%w: the bundle holds no message signature", ErrBadSignature)
	}
	digest := sha256.Sum256(data)
	if d := ms.GetMessageDigest(); d.GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256 || !bytes.Equal(d.GetDigest(), digest[:]) {
		return fmt.Errorf("%w: the bundle signs another file (its digest is not this file's SHA-256)", ErrBadSignature)
	}
	return VerifySignature(pub, data, ms.GetSignature())
}

// VerifySignature checks a bare signature over data, such as the one
// SignBlob returns.
func VerifySignature(pub crypto.PublicKey, data, sig []byte) error {
	v, err := verifierFor(pub)
	if err != nil {
		return err
	}
	if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("%w with key %s: %v", ErrBadSignature, Fingerprint(pub), err)
	}
	return nil
}

// VerifyStatement checks that bundle holds a DSSE envelope of an in-toto
// statement signed by pub, and returns the statement.
func VerifyStatement(pub crypto.PublicKey, bundle []byte) ([]byte, error) {
	b, err := decode(bundle)
	if err != nil {
		return nil, err
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, fmt.Errorf("%w: the bundle holds no DSSE envelope", ErrBadSignature)
	}
	if env.GetPayloadType() != InTotoPayloadType {
		return nil, fmt.Errorf("%w: the envelope's payload is %q, not an in-toto statement", ErrBadSignature, env.GetPayloadType())
	}
	if len(env.GetSignatures()) != 1 {
		return nil, fmt.Errorf("%w: the envelope holds %d signatures, want 1", ErrBadSignature, len(env.GetSignatures()))
	}
	if err := VerifySignature(pub, PAE(env.GetPayloadType(), env.GetPayload()), env.GetSignatures()[0].GetSig()); err != nil {
		return nil, err
	}
	return env.GetPayload(), nil
}
