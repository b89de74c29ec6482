package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hoistdev/hoist/platform"
)

// Binary is the settings of one binary, for repositories whose binaries do
// not all ship the same way: a CLI released as archives for every
// platform beside a server released only as a linux image.
type Binary struct {
	// Name renames the binary, whose name is otherwise its directory's
	// (cmd/server builds "server"): the file, its archive entry, SBOM and
	// image path take the new name. This map's key stays the directory's
	// name; Image.Main and Image.Paths name the binary by its new name.
	Name string
	// Platforms builds the binary only for these platforms of the build
	// matrix (Platforms, PLATFORMS). Default: all of them.
	Platforms []string
	// NoArchive leaves the binary out of every archive and its SBOM out of
	// the release files: it ships in the image only.
	NoArchive bool
	// OwnArchive packs the binary in an archive of its own,
	// <binary>_<version>_<os>_<arch>, instead of the project's archive of
	// the platform.
	OwnArchive bool
	// NoImage leaves the binary out of the image.
	NoImage bool
}

// BinaryPlatforms is the part of matrix that the binary name is built
// for.
func (c Config) BinaryPlatforms(name string, matrix []platform.Platform) []platform.Platform {
	b, ok := c.Binaries[name]
	if !ok || len(b.Platforms) == 0 {
		return matrix
	}
	var out []platform.Platform
	for _, p := range matrix {
		if slices.ContainsFunc(b.Platforms, func(s string) bool {
			q, err := platform.Parse(s)
			return err == nil && q == p
		}) {
			out = append(out, p)
		}
	}
	return out
}

func (c Config) validateBinaries() []error {
	var errs []error
	names := make([]string, 0, len(c.Binaries))
	for n := range c.Binaries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b := c.Binaries[n]
		for _, s := range b.Platforms {
			if _, err := platform.Parse(s); err != nil {
				errs = append(errs, fmt.Errorf("Binaries[%q].Platforms: %w", n, err))
			}
		}
		if b.Name != "" && (strings.ContainsAny(b.Name, `/\`) || b.Name == "." || b.Name == ".." || strings.HasSuffix(b.Name, ".exe")) {
			errs = append(errs, fmt.Errorf("Binaries[%q].Name = %q: give a plain file name without .exe (windows binaries get it added)", n, b.Name))
		}
		if b.NoArchive && b.OwnArchive {
			errs = append(errs, fmt.Errorf("Binaries[%q] sets both NoArchive and OwnArchive: keep one", n))
		}
	}
	return errs
}
