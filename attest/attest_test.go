package attest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

const digestA = "sha256:4f2a0000000000000000000000000000000000000000000000000000000000aa"

// validate parses a statement with the in-toto project's own Go types and
// runs their validation: an implementation independent of ours.
func validate(t *testing.T, data []byte) *intoto.Statement {
	t.Helper()
	var s intoto.Statement
	if err := protojson.Unmarshal(data, &s); err != nil {
		t.Fatalf("in-toto cannot read the statement: %v\n%s", err, data)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("in-toto validation: %v\n%s", err, data)
	}
	return &s
}

func TestImageSignature(t *testing.T) {
	data, err := ImageSignature(digestA)
	if err != nil {
		t.Fatal(err)
	}
	s := validate(t, data)
	if s.GetPredicateType() != PredicateCosignSign || s.GetSubject()[0].GetDigest()["sha256"] != strings.TrimPrefix(digestA, "sha256:") {
		t.Errorf("ImageSignature(%s) = %s", digestA, data)
	}
	again, _ := ImageSignature(digestA)
	if !bytes.Equal(data, again) {
		t.Errorf("ImageSignature is not deterministic:\n%s\n%s", data, again)
	}
	if _, err := ImageSignature("sha256:zz"); err == nil {
		t.Error("ImageSignature(bad digest) = nil error")
	}
}

func TestParseAndCovers(t *testing.T) {
	data, _ := New(PredicateSPDX, map[string]string{"spdxVersion": "SPDX-2.3"}, []Subject{{Name: "a", Digest: map[string]string{"sha256": "aa"}}})
	s, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Covers("sha256:aa") || s.Covers("sha256:bb") {
		t.Errorf("Covers: aa=%v bb=%v, want true false", s.Covers("sha256:aa"), s.Covers("sha256:bb"))
	}
	for _, bad := range []string{`{}`, `{"_type":"https://in-toto.io/Statement/v1","subject":[]}`, `nope`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) = nil error", bad)
		}
	}
	if _, err := New(PredicateSPDX, 1, nil); err == nil {
		t.Error("New with no subject = nil error")
	}
}

func TestProvenance(t *testing.T) {
	// A real binary with a module dependency, built as a release builds.
	exe := filepath.Join(t.TempDir(), "web")
	flags := []string{"-trimpath", "-ldflags", "-s -w -X main.version=1.2.3"}
	build := exec.CommandContext(t.Context(), "go", append(append([]string{"build"}, flags...), "-o", exe, "./testdata/withdeps")...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sub, _ := SubjectOf("web_1.2.3_linux_amd64.tar.gz", digestA)
	b := Build{
		Source: "git+https://github.com/acme/web", Commit: strings.Repeat("ab", 20), Ref: "refs/tags/v1.2.3", Version: "1.2.3",
		Platforms: []string{"linux/amd64"}, Mains: []string{"./cmd/web"}, HoistVersion: "v0.9.0",
		Binaries: []Binary{{Name: "web", Platform: "linux/amd64", Path: exe, SHA256: "cc", Flags: flags, Env: []string{"CGO_ENABLED=0"}}},
		Bases:    []Resource{{URI: "cgr.dev/chainguard/static", Digest: map[string]string{"sha256": strings.Repeat("d", 64)}}},
		Subjects: []Subject{sub},
	}
	data, err := ProvenanceStatement(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	s := validate(t, data)
	if s.GetPredicateType() != PredicateProvenance {
		t.Errorf("predicate type %q, want %q", s.GetPredicateType(), PredicateProvenance)
	}
	pj, _ := protojson.Marshal(s.GetPredicate())
	var p slsa.Provenance
	if err := protojson.Unmarshal(pj, &p); err != nil {
		t.Fatalf("SLSA cannot read the predicate: %v", err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("SLSA validation: %v\n%s", err, data)
	}
	deps := p.GetBuildDefinition().GetResolvedDependencies()
	if deps[0].GetUri() != "git+https://github.com/acme/web@refs/tags/v1.2.3" || deps[0].GetDigest()["gitCommit"] != b.Commit {
		t.Errorf("first dependency = %v, want the source at its commit", deps[0])
	}
	var sawStd, sawModule, sawBase bool
	for _, d := range deps {
		sawStd = sawStd || strings.HasPrefix(d.GetUri(), "pkg:golang/stdlib@go1.")
		sawModule = sawModule || (strings.HasPrefix(d.GetUri(), "pkg:golang/google.golang.org/protobuf@v") && len(d.GetDigest()["dirHash"]) == 64)
		sawBase = sawBase || d.GetUri() == "cgr.dev/chainguard/static"
	}
	if !sawStd || !sawModule || !sawBase {
		t.Errorf("dependencies: stdlib %v, protobuf module with dirHash %v, base %v; want all\n%s", sawStd, sawModule, sawBase, data)
	}
	if got := p.GetRunDetails().GetBuilder().GetVersion()["hoist"]; got != "v0.9.0" {
		t.Errorf("builder version = %q, want v0.9.0", got)
	}
	var raw struct {
		Predicate Provenance `json:"predicate"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	bins := raw.Predicate.BuildDefinition.InternalParameters.Binaries
	if len(bins) != 1 || !strings.HasPrefix(bins[0].GoVersion, "go1.") || bins[0].Settings["GOOS"] == "" || bins[0].SHA256 != "cc" ||
		!slices.Equal(bins[0].Flags, flags) || bins[0].Settings["-trimpath"] != "true" || bins[0].Settings["CGO_ENABLED"] != "0" {
		t.Errorf("binary parameters = %+v, want the Go version, GOOS, the flags and the digest", bins)
	}
	for k := range bins[0].Settings {
		if !strings.HasPrefix(k, "-") && !strings.HasPrefix(k, "GO") && k != "CGO_ENABLED" && k != "DefaultGODEBUG" {
			t.Errorf("setting %q is not on the allow-list", k)
		}
	}
	again, _ := ProvenanceStatement(t.Context(), b)
	if !bytes.Equal(data, again) {
		t.Error("ProvenanceStatement is not deterministic")
	}
	b.Binaries[0].Path = t.TempDir()
	if _, err := ProvenanceStatement(t.Context(), b); err == nil || !strings.Contains(err.Error(), "build information") {
		t.Errorf("ProvenanceStatement(no binary) = %v, want an error about build information", err)
	}
}

func TestSourceURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"git@github.com:acme/web.git", "git+https://github.com/acme/web"},
		{"https://github.com/acme/web.git", "git+https://github.com/acme/web"},
		{"https://x-access-token:ghp_SECRET@github.com/acme/web", "git+https://github.com/acme/web"},
		{"https://user@gitlab.example.com/group/sub/web.git", "git+https://gitlab.example.com/group/sub/web"},
		{"ssh://git@gitea.local:2222/acme/web.git", "git+https://gitea.local/acme/web"},
		{"http://gitea.local:3000/acme/web", "git+http://gitea.local:3000/acme/web"},
		{"/srv/git/web.git", "file:///srv/git/web.git"},
		{"file:///srv/git/web", "file:///srv/git/web"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := SourceURI(tt.in); got != tt.want {
			t.Errorf("SourceURI(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
