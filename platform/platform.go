package platform

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Platform is one build target: an operating system, an architecture and an
// optional variant. The zero value is not a valid platform.
type Platform struct {
	// OS is GOOS, e.g. linux.
	OS string `json:"os"`
	// Arch is GOARCH, e.g. arm64.
	Arch string `json:"arch"`
	// Variant is the GOARM/GOAMD64/GOARM64 level, e.g. v7; empty for the
	// toolchain's default.
	Variant string `json:"variant,omitempty"`
}

// Defaults is the matrix hoist builds when nothing else is configured: the
// servers and laptops most Go services ship to.
func Defaults() []Platform {
	return []Platform{
		{OS: "linux", Arch: "amd64"},
		{OS: "linux", Arch: "arm64"},
		{OS: "darwin", Arch: "arm64"},
		{OS: "windows", Arch: "amd64"},
	}
}

// variants lists the variant spellings accepted per architecture, with the
// environment variable and value each one sets for the Go toolchain.
var variants = map[string]struct {
	env    string
	values map[string]string
}{
	"arm":   {env: "GOARM", values: map[string]string{"v5": "5", "v6": "6", "v7": "7"}},
	"amd64": {env: "GOAMD64", values: map[string]string{"v1": "v1", "v2": "v2", "v3": "v3", "v4": "v4"}},
	"arm64": {env: "GOARM64", values: map[string]string{
		"v8": "v8.0", "v8.0": "v8.0", "v8.1": "v8.1", "v8.2": "v8.2", "v8.3": "v8.3", "v8.4": "v8.4",
		"v8.5": "v8.5", "v8.6": "v8.6", "v8.7": "v8.7", "v8.8": "v8.8", "v8.9": "v8.9",
		"v9": "v9.0", "v9.0": "v9.0", "v9.1": "v9.1", "v9.2": "v9.2", "v9.3": "v9.3", "v9.4": "v9.4", "v9.5": "v9.5",
	}},
}

// Parse reads "os/arch" or "os/arch/variant". Surrounding spaces are ignored
// and the names are lower-cased. Whether Go supports the pair is checked by
// [Validate], which needs the toolchain.
func Parse(s string) (Platform, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Platform{}, fmt.Errorf("platform %q: write it as os/arch or os/arch/variant, for example linux/amd64 or linux/arm/v7%s", s, didYouMean(s))
	}
	p := Platform{OS: parts[0], Arch: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
		v, ok := variants[p.Arch]
		if !ok {
			return Platform{}, fmt.Errorf("platform %q: %s takes no variant; drop %q", s, p.Arch, p.Variant)
		}
		if _, ok := v.values[p.Variant]; !ok {
			return Platform{}, fmt.Errorf("platform %q: unknown %s variant %q; use one of %s", s, p.Arch, p.Variant, strings.Join(sortedKeys(v.values), ", "))
		}
	}
	return p, nil
}

// ParseList reads a comma- or space-separated list such as the PLATFORMS
// environment variable, rejecting duplicates.
func ParseList(s string) ([]Platform, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
	if len(fields) == 0 {
		return nil, fmt.Errorf("platform list %q is empty: name at least one, for example linux/amd64", s)
	}
	out := make([]Platform, 0, len(fields))
	for _, f := range fields {
		p, err := Parse(f)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, p) {
			return nil, fmt.Errorf("platform list %q names %s twice", s, p)
		}
		out = append(out, p)
	}
	return out, nil
}

// String returns the os/arch[/variant] form that Parse reads.
func (p Platform) String() string {
	if p.Variant == "" {
		return p.OS + "/" + p.Arch
	}
	return p.OS + "/" + p.Arch + "/" + p.Variant
}

// Slug returns the form used in directory and file names: os_arch[_variant].
func (p Platform) Slug() string {
	if p.Variant == "" {
		return p.OS + "_" + p.Arch
	}
	return p.OS + "_" + p.Arch + "_" + p.Variant
}

// Env returns the GOOS/GOARCH settings, plus the variant's knob when one is set.
func (p Platform) Env() []string {
	env := []string{"GOOS=" + p.OS, "GOARCH=" + p.Arch}
	if p.Variant != "" {
		v := variants[p.Arch]
		env = append(env, v.env+"="+v.values[p.Variant])
	}
	return env
}

// OCIVariant returns the variant as OCI image indexes spell it: arm64's
// GOARM64 levels all run on "v8" hardware descriptions, so they collapse to
// v8 (or v9), and amd64 microarchitecture levels are kept as-is.
func (p Platform) OCIVariant() string {
	if p.Arch == "arm64" && p.Variant != "" {
		return strings.SplitN(p.Variant, ".", 2)[0]
	}
	return p.Variant
}

// OCI returns the platform as an OCI image index describes it, with the
// variant spelt the OCI way (OCIVariant). Its String method gives back
// os/arch[/variant].
func (p Platform) OCI() v1.Platform {
	return v1.Platform{OS: p.OS, Architecture: p.Arch, Variant: p.OCIVariant()}
}

// Exe returns the file name of a binary called name on this platform.
func (p Platform) Exe(name string) string {
	if p.OS == "windows" {
		return name + ".exe"
	}
	return name
}

// Supported asks the Go toolchain which os/arch pairs it can build, using
// `go tool dist list`.
func Supported(ctx context.Context, gobin string) ([]string, error) {
	if gobin == "" {
		gobin = "go"
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, gobin, "tool", "dist", "list")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("list Go platforms with `%s tool dist list`: %w: %s", gobin, err, strings.TrimSpace(stderr.String()))
	}
	return strings.Fields(string(out)), nil
}

// Validate checks every platform against the toolchain's list. The error for
// an unknown one lists the valid pairs, so the fix is in the message.
func Validate(ctx context.Context, gobin string, ps []Platform) error {
	if len(ps) == 0 {
		return fmt.Errorf("no platforms to build: configure at least one, for example linux/amd64")
	}
	known, err := Supported(ctx, gobin)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if !slices.Contains(known, p.OS+"/"+p.Arch) {
			if g := Suggest(p.String()); g != "" {
				return fmt.Errorf("unknown platform %s: did you mean %s? (Go builds for %s)", p, g, strings.Join(known, ", "))
			}
			return fmt.Errorf("unknown platform %s: Go builds for %s", p, strings.Join(known, ", "))
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
