package attest

import (
	"cmp"
	"context"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// BuildType names how hoist builds, so a verifier knows how to read the
// parameters; docs/supply-chain.md describes them.
const BuildType = "https://github.com/hoistdev/hoist/blob/main/docs/supply-chain.md#build-type-v1"

// BuilderID identifies hoist as the builder. A build by hoist is SLSA
// Build Level 1: the provenance exists and is complete, but it is produced
// by the same process that builds, on whatever machine runs it.
const BuilderID = "https://github.com/hoistdev/hoist"

// Build is what a release knows about how it made its outputs.
type Build struct {
	// Source is the repository as a URI, e.g. git+https://github.com/acme/web.
	Source string
	// Commit is the full commit hash the binaries were built from.
	Commit string
	// Ref is the git ref released, such as refs/tags/v1.2.3; empty for a
	// snapshot.
	Ref string
	// Version is the version stamped into the binaries.
	Version string
	// Platforms is the build matrix.
	Platforms []string
	// Mains are the main packages built.
	Mains []string
	// HoistVersion is the version of hoist that built it.
	HoistVersion string
	// Binaries are the compiled executables; their Go build information
	// gives the build parameters and the module dependencies.
	Binaries []Binary
	// Bases are the base images the image was built on.
	Bases []Resource
	// Subjects are every output: archives, checksums, SBOMs, images.
	Subjects []Subject
}

// Binary is one compiled executable.
type Binary struct {
	// Name is the binary's name, Platform its os/arch[/variant].
	Name, Platform string
	// Path is where it is on disk, to read its build information.
	Path string
	// SHA256 is its digest in hex.
	SHA256 string
	// Flags are the go build flags it was built with, and Env the
	// environment hoist set. Go leaves -ldflags out of the build
	// information of a -trimpath binary, so they come from the builder.
	Flags, Env []string
}

// Resource is an input the build used, in SLSA's resource descriptor form.
type Resource struct {
	// Name names it where no URI does.
	Name string `json:"name,omitempty"`
	// URI locates it: a git URL, a package URL, an image reference.
	URI string `json:"uri,omitempty"`
	// Digest identifies its content, algorithm to hex.
	Digest map[string]string `json:"digest,omitempty"`
}

// Provenance is a SLSA v1 provenance predicate.
type Provenance struct {
	// BuildDefinition is what was built, how, and from what.
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	// RunDetails names the builder.
	RunDetails RunDetails `json:"runDetails"`
}

// BuildDefinition says what was built and from what.
type BuildDefinition struct {
	// BuildType is BuildType: how to read the parameters.
	BuildType string `json:"buildType"`
	// ExternalParameters are what the person releasing chose.
	ExternalParameters ExternalParameters `json:"externalParameters"`
	// InternalParameters are what hoist set.
	InternalParameters InternalParameters `json:"internalParameters"`
	// ResolvedDependencies are the inputs: the source at its commit, the
	// Go toolchain, every module linked and the base images.
	ResolvedDependencies []Resource `json:"resolvedDependencies"`
}

// ExternalParameters are the inputs the person releasing controls.
type ExternalParameters struct {
	// Source is the repository, the ref and the commit released.
	Source SourceParameter `json:"source"`
	// Version is the version stamped into the binaries.
	Version string `json:"version"`
	// Platforms is the build matrix.
	Platforms []string `json:"platforms"`
	// Mains are the main packages built.
	Mains []string `json:"mains"`
}

// SourceParameter is the repository and the ref released.
type SourceParameter struct {
	// URI is the repository, e.g. git+https://github.com/acme/web.
	URI string `json:"uri"`
	// Ref is the tag released, e.g. refs/tags/v1.2.3.
	Ref string `json:"ref,omitempty"`
	// Commit is the full commit hash built.
	Commit string `json:"commit"`
}

// InternalParameters are what hoist chose: per binary, the Go version and
// the build settings the compiler recorded.
type InternalParameters struct {
	// Binaries holds one entry per compiled binary.
	Binaries []BinaryParameters `json:"binaries"`
}

// BinaryParameters are the recorded build settings of one binary.
type BinaryParameters struct {
	// Name and Platform identify the binary.
	Name     string `json:"name"`
	Platform string `json:"platform"`
	// GoVersion is the toolchain that compiled it.
	GoVersion string `json:"goVersion"`
	// Flags are the go build flags: -trimpath, -ldflags with the stamped
	// variables (-X main.version=...), -tags.
	Flags []string `json:"flags"`
	// Env is the environment set for the build: CGO_ENABLED, GOOS, GOARCH
	// and the variant variables.
	Env []string `json:"env"`
	// Settings are the build settings the compiler recorded in the binary.
	Settings map[string]string `json:"settings"`
	// SHA256 is the binary's digest.
	SHA256 string `json:"sha256,omitempty"`
}

// RunDetails names the builder.
type RunDetails struct {
	// Builder is hoist at its version.
	Builder Builder `json:"builder"`
}

// Builder is the tool that built, with its version.
type Builder struct {
	// ID is BuilderID.
	ID string `json:"id"`
	// Version maps component to version: {"hoist": "v0.3.0"}.
	Version map[string]string `json:"version,omitempty"`
}

// buildSettings are the Go build settings copied into the provenance: the
// ones that change the output. An allow-list, so that a setting a later Go
// adds (which might hold paths or environment) stays out until looked at.
var buildSettings = []string{
	"-asmflags", "-buildmode", "-compiler", "-gcflags", "-ldflags", "-pgo", "-race", "-tags", "-trimpath",
	"CGO_ENABLED", "GOOS", "GOARCH", "GOEXPERIMENT", "GOFIPS140", "GO386", "GOAMD64", "GOARM", "GOARM64",
	"GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM", "DefaultGODEBUG",
}

// ProvenanceOf reads the binaries' build information and returns the SLSA
// provenance predicate of b.
func ProvenanceOf(ctx context.Context, b Build) (*Provenance, error) {
	p := &Provenance{
		BuildDefinition: BuildDefinition{
			BuildType: BuildType,
			ExternalParameters: ExternalParameters{
				Source:  SourceParameter{URI: b.Source, Ref: b.Ref, Commit: b.Commit},
				Version: b.Version, Platforms: nonNil(b.Platforms), Mains: nonNil(b.Mains),
			},
			InternalParameters: InternalParameters{Binaries: []BinaryParameters{}},
		},
		RunDetails: RunDetails{Builder: Builder{ID: BuilderID, Version: map[string]string{"hoist": cmp.Or(b.HoistVersion, "devel")}}},
	}
	src := Resource{URI: b.Source, Digest: map[string]string{"gitCommit": b.Commit}}
	if b.Ref != "" {
		src.URI += "@" + b.Ref
	}
	deps := []Resource{src}
	modules := map[string]Resource{}
	toolchains := map[string]bool{}
	for _, bin := range b.Binaries {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("provenance: %w", err)
		}
		bi, err := buildinfo.ReadFile(bin.Path)
		if err != nil {
			return nil, fmt.Errorf("provenance: read the build information of %s: %w", bin.Path, err)
		}
		settings := map[string]string{}
		for _, s := range bi.Settings {
			if slices.Contains(buildSettings, s.Key) {
				settings[s.Key] = s.Value
			}
		}
		p.BuildDefinition.InternalParameters.Binaries = append(p.BuildDefinition.InternalParameters.Binaries, BinaryParameters{
			Name: bin.Name, Platform: bin.Platform, GoVersion: bi.GoVersion, Flags: nonNil(bin.Flags), Env: nonNil(bin.Env),
			Settings: settings, SHA256: bin.SHA256,
		})
		toolchains[bi.GoVersion] = true
		for _, m := range bi.Deps {
			if m.Replace != nil {
				m = m.Replace
			}
			if m.Version == "" || m.Version == "(devel)" {
				continue // a local directory: part of the source above
			}
			r := Resource{URI: "pkg:golang/" + m.Path + "@" + m.Version}
			if h, ok := dirHash(m.Sum); ok {
				r.Digest = map[string]string{"dirHash": h}
			}
			modules[r.URI] = r
		}
	}
	for _, v := range sortedKeys(toolchains) {
		deps = append(deps, Resource{Name: v, URI: "pkg:golang/stdlib@" + v})
	}
	for _, k := range sortedKeys(modules) {
		deps = append(deps, modules[k])
	}
	deps = append(deps, b.Bases...)
	p.BuildDefinition.ResolvedDependencies = deps
	return p, nil
}

// ProvenanceStatement is the signed-to-be statement: ProvenanceOf(b) about
// b.Subjects.
func ProvenanceStatement(ctx context.Context, b Build) ([]byte, error) {
	p, err := ProvenanceOf(ctx, b)
	if err != nil {
		return nil, err
	}
	return New(PredicateProvenance, p, b.Subjects)
}

// dirHash turns a go.sum "h1:" hash into the in-toto dirHash digest, the
// same SHA-256 in hex.
func dirHash(sum string) (string, bool) {
	b64, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 32 {
		return "", false
	}
	return hex.EncodeToString(raw), true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SourceURI turns a git remote URL into the URI provenance names the
// source by: git+https://host/path without ".git", whatever form the remote
// takes (scp-like git@host:path, ssh://, https://). User names, passwords
// and tokens in the remote are dropped, so they never reach a signed,
// published statement. A local path stays a file URI.
func SourceURI(remote string) string {
	r := strings.TrimSpace(remote)
	if r == "" {
		return ""
	}
	scheme, rest, hasScheme := strings.Cut(r, "://")
	if !hasScheme {
		// scp-like syntax: [user@]host:path, as long as no slash comes
		// before the colon (that would be a local path).
		host, path, ok := strings.Cut(r, ":")
		if !ok || strings.Contains(host, "/") {
			return "file://" + r
		}
		if _, h, ok := strings.Cut(host, "@"); ok {
			host = h
		}
		return "git+https://" + host + "/" + strings.TrimSuffix(strings.TrimPrefix(path, "/"), ".git")
	}
	if scheme == "file" {
		return r
	}
	if at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@"); at >= 0 {
		rest = rest[at+1:]
	}
	host, path, _ := strings.Cut(rest, "/")
	web := scheme
	if scheme != "http" && scheme != "https" {
		// ssh://, git://: the forge serves the same path over https, and
		// the ssh port is no https port.
		web = "https"
		if h, _, ok := strings.Cut(host, ":"); ok {
			host = h
		}
	}
	return "git+" + web + "://" + host + "/" + strings.TrimSuffix(path, ".git")
}
