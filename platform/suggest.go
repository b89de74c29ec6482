package platform

import "strings"

// Names people write for an OS or an architecture that Go spells another
// way, from Docker, uname, distributions and GoReleaser targets.
var (
	osAliases = map[string]string{
		"macos": "darwin", "mac": "darwin", "osx": "darwin", "macosx": "darwin",
		"win": "windows", "win32": "windows", "win64": "windows",
	}
	archAliases = map[string]string{
		"x86_64": "amd64", "x86-64": "amd64", "x64": "amd64", "amd64_v1": "amd64/v1", "amd64_v2": "amd64/v2", "amd64_v3": "amd64/v3",
		"aarch64": "arm64", "arm64v8": "arm64", "armv8": "arm64", "arm64_v8.0": "arm64",
		"armv7": "arm/v7", "armv7l": "arm/v7", "armhf": "arm/v7", "arm_7": "arm/v7", "armv6": "arm/v6", "armv6l": "arm/v6", "armel": "arm/v5", "arm_6": "arm/v6", "armv5": "arm/v5", "arm_5": "arm/v5",
		"i386": "386", "i686": "386", "x86": "386",
	}
)

// Suggest returns the os/arch[/variant] that s most likely means, or ""
// when it has no better spelling: linux/armv7 is linux/arm/v7,
// linux_amd64 is linux/amd64, macos/arm64 is darwin/arm64.
func Suggest(s string) string {
	in := strings.ToLower(strings.TrimSpace(s))
	parts := strings.FieldsFunc(in, func(r rune) bool { return r == '/' || r == '-' })
	if len(parts) == 1 {
		// GoReleaser's targets: linux_amd64, linux_arm_7, linux_amd64_v1.
		if os, rest, ok := strings.Cut(parts[0], "_"); ok {
			parts = []string{os, rest}
		}
	}
	if len(parts) < 2 {
		return ""
	}
	os, arch := parts[0], strings.Join(parts[1:], "/")
	if a, ok := osAliases[os]; ok {
		os = a
	}
	if a, ok := archAliases[arch]; ok {
		arch = a
	} else if a, ok := archAliases[strings.ReplaceAll(arch, "/", "_")]; ok {
		arch = a
	} else if a, rest, ok := strings.Cut(arch, "_"); ok {
		if _, known := variants[a]; known {
			if !strings.HasPrefix(rest, "v") {
				rest = "v" + rest
			}
			arch = a + "/" + rest
		}
	}
	out := os + "/" + arch
	if out == in {
		return ""
	}
	if _, err := Parse(out); err != nil {
		return ""
	}
	return out
}

// didYouMean is the end of an error about s: a suggestion when there is one.
func didYouMean(s string) string {
	if g := Suggest(s); g != "" {
		return "; did you mean " + g + "?"
	}
	return ""
}
