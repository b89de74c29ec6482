package config

// Sign configures the signatures and attestations a release publishes.
// With a key, `release` signs checksums.txt and the provenance, and
// attaches to every pushed image a signature, an SPDX SBOM and a SLSA
// provenance statement as OCI 1.1 referrers, all verifiable with cosign.
type Sign struct {
	// Key is the private key file in cosign's format (cosign
	// generate-key-pair or release:keygen), relative to Dir. Env: COSIGN_KEY,
	// a path or the PEM text itself, as CI secrets hold it; the password
	// comes only from COSIGN_PASSWORD. Default: none, and nothing is
	// signed.
	Key string
	// PublicKey is the key release:check verifies a published release
	// with, relative to Dir. Env: COSIGN_PUBLIC_KEY. Default: cosign.pub at
	// the module root when present, else the public half of Key.
	PublicKey string
	// Off publishes without signatures or attestations although a key is
	// set. Env: HOIST_SIGN=off.
	Off bool
	// Snapshots signs what image:push and release:snapshot push too, not
	// only releases. Env: HOIST_SIGN=1.
	Snapshots bool
}

// Secret is a value that must never be shown: it prints, formats and
// encodes as "[redacted]". Reveal gives the value to the code that uses it.
type Secret struct{ v string }

// NewSecret wraps v.
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the value.
func (s Secret) Reveal() string { return s.v }

// IsSet reports whether the value is not empty.
func (s Secret) IsSet() bool { return s.v != "" }

// String implements fmt.Stringer without the value.
func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps the value out of %#v too.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// MarshalText keeps the value out of JSON and other encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
