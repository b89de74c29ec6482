// Package sign signs what a release publishes, in the formats the sigstore
// ecosystem verifies, without running cosign.
//
// Two kinds of signature come out of it, both as sigstore bundles
// (application/vnd.dev.sigstore.bundle.v0.3+json, the format `cosign
// verify`, `cosign verify-attestation` and `cosign verify-blob` read):
//
//   - a message signature over a blob, such as checksums.txt, also
//     available as the bare base64 signature that `cosign verify-blob
//     --signature` takes;
//   - a DSSE envelope over an in-toto statement: the image signature
//     (predicate https://sigstore.dev/cosign/sign/v1), an SBOM or a SLSA
//     provenance statement.
//
// A Signer produces the signature bytes and the verification material a
// bundle carries. KeySigner, the one implementation today, holds a private
// key read from a cosign-format key file; its signatures are deterministic
// (RFC 6979 ECDSA, PKCS #1 v1.5 RSA, Ed25519), so signing the same
// release twice gives byte-identical bundles and a rerun converges instead
// of piling up signatures. Keyless signing (a Fulcio certificate and a
// Rekor entry) fits the same interface: its Material returns the
// certificate and the log entry instead of a key hint.
//
// Signing and verification make the choices `cosign verify --key` makes
// for a public key (a SHA-256 digest, PKCS #1 v1.5 for RSA, plain Ed25519),
// through github.com/sigstore/sigstore's verifiers, so what this package
// accepts, cosign accepts too; the tests check it with the real cosign CLI.
package sign
