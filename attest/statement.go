package attest

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Statement and predicate types, as verifiers match them: `cosign
// verify-attestation --type slsaprovenance1` looks for PredicateProvenance,
// `--type spdxjson` for PredicateSPDX, and `cosign verify` accepts
// PredicateCosignSign.
const (
	// StatementType is the in-toto statement version written.
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateProvenance is SLSA provenance, version 1.
	PredicateProvenance = "https://slsa.dev/provenance/v1"
	// PredicateSPDX is an SPDX document.
	PredicateSPDX = "https://spdx.dev/Document"
	// PredicateCosignSign is the statement cosign 3 signs to sign an image:
	// it says nothing but "this digest", with an empty predicate.
	PredicateCosignSign = "https://sigstore.dev/cosign/sign/v1"
)

// Subject is one artifact a statement is about, named and identified by
// its digest.
type Subject struct {
	// Name is the artifact's file name, or an image's repository.
	Name string `json:"name,omitempty"`
	// Digest maps algorithm to lowercase hex, e.g. {"sha256": "4f2a…"}.
	Digest map[string]string `json:"digest"`
}

// SubjectOf names an artifact by a digest written "sha256:<hex>", as the
// artifact list and registries write them.
func SubjectOf(name, digest string) (Subject, error) {
	alg, sum, ok := strings.Cut(digest, ":")
	if !ok || alg != "sha256" || len(sum) != 64 {
		return Subject{}, fmt.Errorf("subject %s: digest %q is not sha256:<64 hex digits>", name, digest)
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return Subject{}, fmt.Errorf("subject %s: digest %q is not sha256:<64 hex digits>", name, digest)
	}
	return Subject{Name: name, Digest: map[string]string{"sha256": sum}}, nil
}

// Statement is an in-toto statement: what the predicate says, about which
// subjects.
type Statement struct {
	// Type is StatementType.
	Type string `json:"_type"`
	// Subject lists the artifacts the predicate is about.
	Subject []Subject `json:"subject"`
	// PredicateType says how to read Predicate.
	PredicateType string `json:"predicateType"`
	// Predicate is the claim itself, as JSON.
	Predicate json.RawMessage `json:"predicate"`
}

// New encodes a statement of predicate about subjects. The encoding is
// deterministic (encoding/json sorts map keys), so equal inputs give equal
// bytes and therefore equal signatures.
func New(predicateType string, predicate any, subjects []Subject) ([]byte, error) {
	if len(subjects) == 0 {
		return nil, fmt.Errorf("statement %s: no subject", predicateType)
	}
	p, err := json.Marshal(predicate)
	if err != nil {
		return nil, fmt.Errorf("statement %s: encode the predicate: %w", predicateType, err)
	}
	out, err := json.Marshal(Statement{Type: StatementType, Subject: subjects, PredicateType: predicateType, Predicate: p})
	if err != nil {
		return nil, fmt.Errorf("statement %s: %w", predicateType, err)
	}
	return out, nil
}

// ImageSignature is the statement that signs an image digest, as `cosign
// sign` writes it in its sigstore bundle format.
func ImageSignature(digest string) ([]byte, error) {
	s, err := SubjectOf("", digest)
	if err != nil {
		return nil, err
	}
	return New(PredicateCosignSign, struct{}{}, []Subject{s})
}

// Parse reads a statement and checks its type.
func Parse(data []byte) (*Statement, error) {
	var s Statement
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("not an in-toto statement: %w", err)
	}
	if s.Type != StatementType {
		return nil, fmt.Errorf("statement type %q, want %q", s.Type, StatementType)
	}
	if len(s.Subject) == 0 {
		return nil, errors.New("the statement names no subject")
	}
	return &s, nil
}

// Covers reports whether one of the statement's subjects has digest,
// written "sha256:<hex>".
func (s *Statement) Covers(digest string) bool {
	alg, sum, _ := strings.Cut(digest, ":")
	if sum == "" {
		return false
	}
	for _, sub := range s.Subject {
		if sub.Digest[alg] == sum {
			return true
		}
	}
	return false
}
