package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/registry"
)

// Config is the whole of hoist's configuration. The zero value means "use
// the conventions": every field documents its default.
type Config struct {
	// Dir is the module root. Default: the working directory.
	Dir string
	// Dist is the output directory, relative to Dir. Default: "dist".
	Dist string
	// VersionFile holds the release version, relative to Dir. Default: "VERSION".
	VersionFile string
	// Name is the project name: it names the archives and is the default
	// image name. Default: the module path's last element without a /vN
	// suffix.
	Name string

	// Mains are the main package directories to build, such as "./cmd/api".
	// Default: the module root and every cmd/* directory holding package main.
	Mains []string
	// Platforms is the build matrix as os/arch[/variant]. Default:
	// linux/amd64, linux/arm64, darwin/arm64, windows/amd64. Env: PLATFORMS.
	Platforms []string
	// Jobs caps parallel builds. Default: GOMAXPROCS. Env: HOIST_JOBS.
	Jobs int
	// Tags are Go build tags. Default: none.
	Tags []string
	// LDFlags are extra linker flags, after -s -w and the -X stamps.
	LDFlags []string
	// VersionVars, when set, replaces the discovered stamp variables for
	// every binary, e.g. Commit: []string{"example.com/x/pkg/version.REVISION"}.
	// Default: discovered per binary (main.version, main.commit, main.date,
	// main.buildDate, and the same names in packages of the module).
	VersionVars *project.Vars

	// CoverageMin is the total coverage gate of go:test, in percent.
	// Zero, the default, is a ratchet: coverage may not drop below what
	// the last release recorded in its tag (a first release passes and
	// records it). Above zero it is a fixed gate; negative disables it.
	// Env: COVERAGE_MIN.
	CoverageMin float64
	// NoRace turns off the race detector in go:test. Default: false.
	// Env: RACE=0 turns it off, RACE=1 on, whatever the config says.
	NoRace bool
	// TestTimeout is go test's -timeout for each package. Zero, the
	// default, keeps go test's own (10 minutes). Env: TEST_TIMEOUT (a Go
	// duration such as 20m).
	TestTimeout time.Duration
	// TestArgs are extra go test arguments. Env: TEST_ARGS (space-separated).
	TestArgs []string
	// TestPackages are the package patterns go:test tests, in the order
	// go test builds and starts them: naming the slowest packages first
	// (e.g. "./e2e", "./...") keeps them from starting last and setting the
	// end of the run. A package matched twice is tested once. Default:
	// ./...
	TestPackages []string
	// TestEnv adds environment variables to go test.
	TestEnv []string

	// Image configures the OCI image.
	Image Image
	// Publish configures the registries images are pushed to.
	Publish Publish
	// Release configures versioning, packaging and tagging.
	Release Release
	// Sign configures signatures, SBOM and provenance attestations.
	Sign Sign
	// Vuln configures the vulnerability gate.
	Vuln Vuln
	// Size configures the artifact-size budget.
	Size Size
	// Cache configures the build cache shared through a registry.
	Cache Cache
	// Forge configures the release page on GitHub, GitLab, Gitea or
	// Forgejo.
	Forge Forge
	// Binaries holds the settings of single binaries, by binary name:
	// their platforms, whether and how they are archived, whether they go
	// in the image.
	Binaries map[string]Binary
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{Dir: ".", Dist: "dist", VersionFile: "VERSION", Publish: Publish{EmbeddedAddr: registry.DefaultAddr}}
}

// Merge fills the zero fields of c from d, so that a consumer's partial
// Config keeps the defaults for what it leaves out.
func (c Config) Merge(d Config) Config {
	if c.Dir == "" {
		c.Dir = d.Dir
	}
	if c.Dist == "" {
		c.Dist = d.Dist
	}
	if c.VersionFile == "" {
		c.VersionFile = d.VersionFile
	}
	if c.Publish.EmbeddedAddr == "" {
		c.Publish.EmbeddedAddr = d.Publish.EmbeddedAddr
	}
	return c
}

func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
}

// ParsedPlatforms returns the matrix, the defaults when none is set.
func (c Config) ParsedPlatforms() ([]platform.Platform, error) {
	if len(c.Platforms) == 0 {
		return platform.Defaults(), nil
	}
	return platform.ParseList(strings.Join(c.Platforms, ","))
}

// Validate rejects settings that cannot work together, naming the fix.
func (c Config) Validate() error {
	var errs []error
	if _, err := c.ParsedPlatforms(); err != nil {
		errs = append(errs, err)
	}
	if c.Jobs < 0 {
		errs = append(errs, fmt.Errorf("Jobs = %d: use 0 for the default or a positive number", c.Jobs))
	}
	if c.CoverageMin > 100 || math.IsNaN(c.CoverageMin) || math.IsInf(c.CoverageMin, 0) {
		errs = append(errs, fmt.Errorf("CoverageMin = %v: set a percentage from 0 to 100, or a negative number to disable the gate", c.CoverageMin))
	}
	if c.TestTimeout < 0 {
		errs = append(errs, fmt.Errorf("TestTimeout = %v: use 0 for go test's default or a positive duration", c.TestTimeout))
	}
	if filepath.IsAbs(c.Dist) || strings.HasPrefix(filepath.ToSlash(filepath.Clean(c.Dist)), "..") || filepath.Clean(c.Dist) == "." {
		errs = append(errs, fmt.Errorf("Dist = %q: use a directory inside the module, such as dist", c.Dist))
	}
	if c.VersionVars != nil && c.VersionVars.Empty() {
		errs = append(errs, errors.New("VersionVars is set but names no variable: leave it nil to discover them, or name at least one"))
	}
	errs = append(errs, c.validateImage()...)
	errs = append(errs, c.validatePublish()...)
	if c.Size.Budget < 0 || math.IsNaN(c.Size.Budget) || math.IsInf(c.Size.Budget, 0) {
		errs = append(errs, fmt.Errorf("Size.Budget = %v: give the growth allowed in percent, such as 10, or set Size.Off", c.Size.Budget))
	}
	for pat, b := range c.Size.Budgets {
		if b < 0 || math.IsNaN(b) || math.IsInf(b, 0) {
			errs = append(errs, fmt.Errorf("Size.Budgets[%q] = %v: give the growth allowed in percent", pat, b))
		}
	}
	errs = append(errs, c.Forge.validate()...)
	errs = append(errs, c.validateBinaries()...)
	if c.Vuln.DB != "" && !validVulnDB(c.Vuln.DB) {
		errs = append(errs, fmt.Errorf("Vuln.DB = %q: give an https:// URL, a file:/// directory, or config.ModuleVulnDB", c.Vuln.DB))
	}
	if r := c.Cache.Repository; r != "" {
		if host, _, _ := strings.Cut(r, "/"); strings.Contains(host, "@") {
			errs = append(errs, credentialsError("Cache.Repository (HOIST_CACHE)", r))
		} else if err := checkRegistry(r); err != nil {
			errs = append(errs, fmt.Errorf("Cache.Repository (HOIST_CACHE): %w", err))
		} else if !strings.Contains(r, "/") {
			errs = append(errs, fmt.Errorf("Cache.Repository (HOIST_CACHE) = %q: name a repository on the registry, such as %s/team/gocache", r, r))
		}
	}
	switch c.Cache.Push {
	case "", CachePushCI, CachePushAlways, CachePushNever:
	default:
		errs = append(errs, fmt.Errorf("Cache.Push = %q: set config.CachePushCI (store from CI only, the default), CachePushAlways or CachePushNever", c.Cache.Push))
	}
	if c.Sign.Off && c.Sign.Snapshots {
		errs = append(errs, errors.New("Sign.Off and Sign.Snapshots are both set (HOIST_SIGN is off and on): keep one"))
	}
	return errors.Join(errs...)
}

// validateImage catches image settings that contradict each other or the
// build matrix, so that they fail before go:build spends minutes, not after.
func (c Config) validateImage() []error {
	var errs []error
	im := c.Image
	if im.TZData && im.Base != "" {
		errs = append(errs, fmt.Errorf("Image.TZData adds time zones to hoist's built-in base, but Image.Base is %q: drop TZData and use a base that ships /usr/share/zoneinfo, or clear Base", im.Base))
	}
	if im.Skip && len(im.Tarball) > 0 {
		errs = append(errs, fmt.Errorf("Image.Skip is set, yet Image.Tarball (HOIST_IMAGE_TARBALL) asks for %s: unset one of them", strings.Join(im.Tarball, ", ")))
	}
	matrix, err := c.ParsedPlatforms()
	if err != nil {
		return errs // already reported by Validate
	}
	for _, t := range im.Tarball {
		p, err := platform.Parse(t)
		if err != nil {
			errs = append(errs, fmt.Errorf("Image.Tarball: %w", err))
			continue
		}
		if p.OS != "linux" {
			errs = append(errs, fmt.Errorf("Image.Tarball names %s, but images are linux-only: name a linux platform such as linux/amd64", t))
			continue
		}
		if !slices.ContainsFunc(matrix, func(m platform.Platform) bool { return m.String() == p.String() }) {
			errs = append(errs, fmt.Errorf("Image.Tarball names %s, which the build matrix (%s) does not build: add it to Platforms (PLATFORMS) or drop it from the tarballs", t, joinPlatforms(matrix)))
		}
	}
	return errs
}

// validatePublish checks the registry settings for the mistakes people make
// when they copy a URL or an image reference into them.
func (c Config) validatePublish() []error {
	var errs []error
	p := c.Publish
	if p.Jobs < 0 {
		errs = append(errs, fmt.Errorf("Publish.Jobs = %d: use 0 for the default or a positive number", p.Jobs))
	}
	hosts := map[string]bool{}
	for _, r := range p.Registries {
		if err := checkRegistry(r); err != nil {
			errs = append(errs, err)
			continue
		}
		host, _, _ := strings.Cut(r, "/")
		hosts[host] = true
		if name, _, err := net.SplitHostPort(host); err == nil {
			hosts[name] = true // Insecure may name the host without its port
		}
	}
	for _, h := range p.Insecure {
		if strings.Contains(h, "@") {
			errs = append(errs, credentialsError("Publish.Insecure (HOIST_INSECURE_REGISTRIES)", h))
			continue
		}
		if strings.ContainsAny(h, "/ ") {
			errs = append(errs, fmt.Errorf("Publish.Insecure (HOIST_INSECURE_REGISTRIES) entry %q is not a host: write host[:port] only, such as registry.internal:5000", h))
			continue
		}
		if len(hosts) > 0 && !hosts[h] {
			errs = append(errs, fmt.Errorf("Publish.Insecure (HOIST_INSECURE_REGISTRIES) names %s, but no entry of Registries (REGISTRY) is on that host: write the host exactly as in Registries, e.g. %s, or drop it", h, firstKey(hosts)))
		}
	}
	return errs
}

// checkRegistry rejects a registry entry that is a URL or a full image
// reference rather than a repository prefix, or that carries credentials.
func checkRegistry(r string) error {
	if host, _, _ := strings.Cut(r, "/"); strings.Contains(host, "@") {
		return credentialsError("Publish.Registries (REGISTRY)", r)
	}
	if strings.Contains(r, "://") {
		_, rest, _ := strings.Cut(r, "://")
		return fmt.Errorf("Registries entry %q is a URL: write it without the scheme, as %q; for plain HTTP to a non-loopback host add the host to Insecure", r, strings.TrimSuffix(rest, "/"))
	}
	_, path, _ := strings.Cut(r, "/")
	if strings.ContainsAny(path, ":@") {
		return fmt.Errorf("Registries entry %q carries a tag or digest: give the repository prefix only (such as ghcr.io/acme); hoist appends the image name and picks the tags", r)
	}
	if r == "" || strings.HasPrefix(r, "/") || strings.Contains(r, "//") || strings.ContainsAny(r, " \t") || path != strings.ToLower(path) {
		return fmt.Errorf("Registries entry %q is not a repository prefix: use host[:port][/lowercase/path], such as ghcr.io/acme or localhost:5000", r)
	}
	return nil
}

// credentialsError refuses a setting with a user name or password in it,
// showing the value with everything before the "@" redacted: credentials
// come from the Docker keychain, never from a setting that gets printed.
func credentialsError(field, value string) error {
	at := strings.LastIndex(value, "@")
	shown := "***" + value[at:]
	if scheme, _, ok := strings.Cut(value, "://"); ok && len(scheme) < at {
		shown = scheme + "://***" + value[at:]
	}
	host, _, _ := strings.Cut(value[at+1:], "/")
	return fmt.Errorf("%s entry %q holds credentials: remove them and log in with `docker login %s` (or a credential helper); hoist reads the Docker config and never takes a password from a setting", field, shown, host)
}

func joinPlatforms(ps []platform.Platform) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.String()
	}
	return strings.Join(names, ", ")
}

func firstKey(m map[string]bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys[0]
}

// Path resolves a path relative to the module root.
func (c Config) Path(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(c.Dir, rel)
}
