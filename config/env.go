package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hoistdev/hoist/forge"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/registry"
	"github.com/hoistdev/hoist/version"
)

// MaxSourceDateEpoch is the latest SOURCE_DATE_EPOCH hoist accepts:
// 9999-12-31T23:59:59Z, the last second release.json can record, since
// RFC 3339 has four-digit years.
const MaxSourceDateEpoch = 253402300799

// Env is every environment variable hoist reads, parsed once at the edge.
// The mage layer calls ReadEnv when a run starts and passes the typed value
// down; no core package reads the environment, and a malformed value is
// refused before any work starts, with an error that names the variable.
// The zero value means "nothing set".
type Env struct {
	// Platforms overrides Config.Platforms. PLATFORMS, comma-separated.
	Platforms []string
	// Jobs overrides Config.Jobs. HOIST_JOBS.
	Jobs int
	// CoverageMin overrides Config.CoverageMin when set. COVERAGE_MIN: a
	// percentage, "ratchet" (0), or 0 or a negative number for no gate
	// (-1).
	CoverageMin *float64
	// TestArgs overrides Config.TestArgs. TEST_ARGS, space-separated.
	TestArgs []string
	// Race overrides Config.NoRace when set. RACE: 1 or true runs the
	// race detector, 0 or false does not.
	Race *bool
	// TestTimeout overrides Config.TestTimeout. TEST_TIMEOUT, a Go
	// duration.
	TestTimeout time.Duration
	// Registries overrides Publish.Registries. REGISTRY, comma-separated.
	Registries []string
	// Insecure overrides Publish.Insecure. HOIST_INSECURE_REGISTRIES.
	Insecure []string
	// RegistryAddr overrides Publish.EmbeddedAddr. HOIST_REGISTRY_ADDR.
	RegistryAddr string
	// RegistryCommand overrides Publish.EmbeddedCommand.
	// HOIST_REGISTRY_COMMAND, space-separated.
	RegistryCommand []string
	// RegistryData is the embedded registry's data directory.
	// HOIST_REGISTRY_DATA; see registry.DefaultDataDir for the fallbacks.
	RegistryData string
	// ImageTarball overrides Image.Tarball. HOIST_IMAGE_TARBALL.
	ImageTarball []string
	// AllowDetached lets a release run on a detached HEAD, as
	// Release.AllowDetached does. HOIST_ALLOW_DETACHED=1.
	AllowDetached bool

	// Bump forces the release level. BUMP=major|minor|patch|prerelease.
	Bump version.Level
	// Force rebuilds, repacks and re-pushes although the records say
	// nothing changed. HOIST_FORCE=1.
	Force bool
	// FloatingTags lets image:push move latest and MAJOR.MINOR, which
	// otherwise move only in a release. HOIST_FLOATING_TAGS=1.
	FloatingTags bool
	// SnapshotChecks runs the tidy, vet and test gates in a snapshot too.
	// HOIST_SNAPSHOT_CHECKS=1.
	SnapshotChecks bool
	// SourceDate replaces the commit time as the build date when not
	// zero. SOURCE_DATE_EPOCH, seconds since 1970.
	SourceDate time.Time
	// JSON makes release:plan print JSON. JSON=1 or HOIST_JSON=1.
	JSON bool
	// Snapshot makes release:plan plan a snapshot. SNAPSHOT=1.
	Snapshot bool
	// Digests are the platform digests image:merge assembles. DIGESTS,
	// comma-separated.
	Digests []string
	// SignKey overrides Sign.Key: a file path, or the PEM text of the key.
	// COSIGN_KEY. Secret, since it may hold the key itself.
	SignKey Secret
	// SignPassword opens the key. COSIGN_PASSWORD.
	SignPassword Secret
	// PublicKey overrides Sign.PublicKey. COSIGN_PUBLIC_KEY.
	PublicKey string
	// Sign is HOIST_SIGN: "off" publishes nothing signed although a key
	// is set, "1" signs image:push and release:snapshot too.
	Sign string
	// SizeBudget overrides Size.Budget when set. HOIST_SIZE_BUDGET, in
	// percent; "off" sets SizeOff.
	SizeBudget *float64
	// SizeOff skips the size gate. HOIST_SIZE_BUDGET=off.
	SizeOff bool
	// Cache overrides Cache.Repository. HOIST_CACHE.
	Cache string
	// GoCacheProg is a GOCACHEPROG the user set, which hoist leaves alone.
	GoCacheProg string
	// CacheMaxAge and CacheMaxSize bound cache:prune's local tier.
	// HOIST_CACHE_MAX_AGE (a duration such as 720h), HOIST_CACHE_MAX_SIZE
	// (bytes, or with a K, M or G suffix).
	CacheMaxAge  time.Duration
	CacheMaxSize int64
	// CachePush overrides Cache.Push: HOIST_CACHE_PUSH=1 (always), 0 (never).
	CachePush string
	// CacheStrict fails a build the cache cannot serve. HOIST_CACHE_STRICT=1.
	CacheStrict bool
	// Vuln is HOIST_VULN: "off" skips the vulnerability gate.
	Vuln string
	// VulnDB overrides Vuln.DB. HOIST_VULN_DB.
	VulnDB string
	// CacheDir is where hoist keeps what it can fetch again (the
	// vulnerability database built from its module): XDG_CACHE_HOME/hoist,
	// else ~/.cache/hoist.
	CacheDir string
	// CI is true on a CI runner: go:tidy only checks, and progress never
	// redraws lines. CI set to anything.
	CI bool
	// TidyCheck makes go:tidy check instead of tidying. TIDY=check, or CI.
	TidyCheck bool
	// GoFlags is passed on to every go build. GOFLAGS.
	GoFlags string
	// GoRoot is where the built-in base looks for tzdata. GOROOT.
	GoRoot string
	// Bench and BenchTime select what go:bench runs. BENCH, BENCHTIME.
	Bench, BenchTime string
	// DefaultRegistryData is the embedded registry's data directory when
	// neither HOIST_REGISTRY_DATA nor Publish.EmbeddedData names one, from
	// XDG_DATA_HOME or HOME (registry.DefaultDataDir); "" when neither is
	// set.
	DefaultRegistryData string

	// Forge overrides Forge.Kind. HOIST_FORGE: github, gitlab, gitea,
	// forgejo, auto or off.
	Forge string
	// ForgeTokens are the forges' API tokens: GITHUB_TOKEN, GITLAB_TOKEN,
	// GITEA_TOKEN (FORGEJO_TOKEN when GITEA_TOKEN is unset), by kind.
	ForgeTokens map[forge.Kind]Secret

	// Docker is what the docker:* targets read.
	Docker DockerEnv
}

// DockerEnv is the environment of the docker:* targets.
type DockerEnv struct {
	// Host is the Engine's address. DOCKER_HOST.
	Host string
	// APIVersion pins the Engine API version. DOCKER_API_VERSION.
	APIVersion string
	// CertPath holds ca.pem, cert.pem and key.pem. DOCKER_CERT_PATH.
	CertPath string
	// TLSVerify verifies the daemon's certificate. DOCKER_TLS_VERIFY set.
	TLSVerify bool
	// Platform picks the image docker:load sends. DOCKER_PLATFORM.
	Platform string
	// Latest also tags <name>:latest in docker:load. DOCKER_LATEST=1.
	Latest bool
	// UpPort is the host port docker:up publishes on. DOCKER_UP_PORT.
	UpPort string
	// BuildArgs are Dockerfile ARGs set from GO_IMAGE and RUNTIME_IMAGE.
	BuildArgs map[string]string
}

// ReadEnv reads and checks every variable hoist knows through getenv
// (os.Getenv at the edge). All malformed values are reported together,
// each naming its variable and the fix.
func ReadEnv(getenv func(string) string) (Env, error) {
	var e Env
	var errs []error
	if v := getenv("PLATFORMS"); v != "" {
		if _, err := platform.ParseList(v); err != nil {
			errs = append(errs, fmt.Errorf("PLATFORMS: %w", err))
		}
		e.Platforms = splitList(v)
	}
	if v := getenv("HOIST_JOBS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("HOIST_JOBS=%q: set a whole number of parallel builds, at least 1", v))
		}
		e.Jobs = n
	}
	if v := strings.TrimSpace(getenv("COVERAGE_MIN")); strings.EqualFold(v, "ratchet") {
		e.CoverageMin = new(0.0)
	} else if v != "" {
		f, err := strconv.ParseFloat(v, 64)
		switch {
		case err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > 100:
			errs = append(errs, fmt.Errorf("COVERAGE_MIN=%q: set a percentage from 0 to 100 such as 80, ratchet (no lower than the last release), or -1 to disable the gate", v))
		case f <= 0:
			e.CoverageMin = new(-1.0) // a gate of 0% passes everything
		default:
			e.CoverageMin = &f
		}
	}
	if v := getenv("TEST_ARGS"); v != "" {
		e.TestArgs = strings.Fields(v)
	}
	if v := strings.TrimSpace(getenv("RACE")); v != "" {
		switch strings.ToLower(v) {
		case "1", "true", "on":
			e.Race = new(true)
		case "0", "false", "off":
			e.Race = new(false)
		default:
			errs = append(errs, fmt.Errorf("RACE=%q: set 1 to run go test with the race detector or 0 to run it without", v))
		}
	}
	if v := strings.TrimSpace(getenv("TEST_TIMEOUT")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("TEST_TIMEOUT=%q: set how long go test may run each package, as a Go duration such as 20m", v))
		}
		e.TestTimeout = d
	}
	if v := getenv("REGISTRY"); v != "" {
		e.Registries = splitList(v)
	}
	if v := getenv("HOIST_INSECURE_REGISTRIES"); v != "" {
		e.Insecure = splitList(v)
	}
	if v := getenv("HOIST_REGISTRY_ADDR"); v != "" {
		host, port, err := net.SplitHostPort(v)
		ip := net.ParseIP(host)
		if err != nil || port == "" || !(host == "localhost" || (ip != nil && ip.IsLoopback())) {
			errs = append(errs, fmt.Errorf("HOIST_REGISTRY_ADDR=%q: give a loopback host and a port, such as localhost:5000 or 127.0.0.1:5001 (the embedded registry has no TLS and no authentication, so it serves this machine only)", v))
		}
		e.RegistryAddr = v
	}
	e.RegistryCommand = strings.Fields(getenv("HOIST_REGISTRY_COMMAND"))
	e.RegistryData = getenv("HOIST_REGISTRY_DATA")
	if v := getenv("HOIST_IMAGE_TARBALL"); v != "" {
		e.ImageTarball = splitList(v)
	}
	e.AllowDetached = getenv("HOIST_ALLOW_DETACHED") == "1"

	if v := getenv("BUMP"); v != "" {
		l, err := version.ParseLevel(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("BUMP: %w", err))
		}
		e.Bump = l
	}
	e.Force = getenv("HOIST_FORCE") == "1"
	e.SnapshotChecks = getenv("HOIST_SNAPSHOT_CHECKS") == "1"
	e.FloatingTags = getenv("HOIST_FLOATING_TAGS") == "1"
	if v := getenv("SOURCE_DATE_EPOCH"); v != "" {
		t, err := ParseSourceDateEpoch(v)
		if err != nil {
			errs = append(errs, err)
		}
		e.SourceDate = t
	}
	e.JSON = getenv("JSON") == "1" || getenv("HOIST_JSON") == "1"
	e.Snapshot = getenv("SNAPSHOT") == "1"
	if v := getenv("DIGESTS"); v != "" {
		e.Digests = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })
	}
	e.SignKey, e.SignPassword = NewSecret(getenv("COSIGN_KEY")), NewSecret(getenv("COSIGN_PASSWORD"))
	e.PublicKey = getenv("COSIGN_PUBLIC_KEY")
	switch v := strings.ToLower(strings.TrimSpace(getenv("HOIST_SIGN"))); v {
	case "", "auto":
	case "off", "0", "false", "no":
		e.Sign = "off"
	case "1", "on", "true", "yes":
		e.Sign = "on"
	default:
		errs = append(errs, fmt.Errorf("HOIST_SIGN=%q: set off (publish nothing signed), 1 (sign snapshots and image:push too), or leave it unset (releases are signed when COSIGN_KEY is set)", v))
	}
	e.Cache = strings.TrimSpace(getenv("HOIST_CACHE"))
	e.GoCacheProg = getenv("GOCACHEPROG")
	if v := strings.TrimSpace(getenv("HOIST_CACHE_MAX_AGE")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("HOIST_CACHE_MAX_AGE=%q: give a duration such as 720h", v))
		}
		e.CacheMaxAge = d
	}
	if v := strings.TrimSpace(getenv("HOIST_CACHE_MAX_SIZE")); v != "" {
		n, err := parseSize(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("HOIST_CACHE_MAX_SIZE=%q: give a size in bytes or with K, M or G, such as 10G", v))
		}
		e.CacheMaxSize = n
	}
	e.CacheStrict = getenv("HOIST_CACHE_STRICT") == "1"
	switch v := strings.TrimSpace(getenv("HOIST_CACHE_PUSH")); strings.ToLower(v) {
	case "":
	case "1", "true", "always":
		e.CachePush = CachePushAlways
	case "0", "false", "never":
		e.CachePush = CachePushNever
	case "ci":
		e.CachePush = CachePushCI
	default:
		errs = append(errs, fmt.Errorf("HOIST_CACHE_PUSH=%q: set 1 (store results in the cache from this machine), 0 (only read), or leave it unset (store from CI only)", v))
	}
	if v := strings.TrimSpace(getenv("HOIST_SIZE_BUDGET")); v != "" {
		if strings.EqualFold(v, "off") {
			e.SizeOff = true
		} else {
			f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(v, "+"), "%"), 64)
			if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
				errs = append(errs, fmt.Errorf("HOIST_SIZE_BUDGET=%q: give the growth allowed over the last release in percent, such as 15, or off", v))
			} else {
				e.SizeBudget = &f
			}
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("HOIST_VULN"))); v {
	case "", "on", "1":
	case "off", "0":
		e.Vuln = "off"
	default:
		errs = append(errs, fmt.Errorf("HOIST_VULN=%q: set off to skip the vulnerability gate (the plan and release.json record it), or leave it unset", v))
	}
	if v := strings.TrimSpace(getenv("HOIST_VULN_DB")); v != "" {
		if !validVulnDB(v) {
			errs = append(errs, fmt.Errorf("HOIST_VULN_DB=%q: give an https:// URL, a file:/// directory in the database's v1 layout, or %q (the golang.org/x/vulndb module through GOPROXY; %q@VERSION pins it)", v, ModuleVulnDB, ModuleVulnDB))
		}
		e.VulnDB = v
	}
	if x := getenv("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		e.CacheDir = filepath.Join(x, "hoist")
	} else if h := getenv("HOME"); h != "" {
		e.CacheDir = filepath.Join(h, ".cache", "hoist")
	}
	e.CI = getenv("CI") != ""
	e.TidyCheck = e.CI || getenv("TIDY") == "check"
	e.GoFlags = getenv("GOFLAGS")
	e.GoRoot = getenv("GOROOT")
	e.Bench, e.BenchTime = getenv("BENCH"), getenv("BENCHTIME")
	if e.RegistryData == "" {
		e.DefaultRegistryData, _ = registry.DefaultDataDir(getenv)
	}

	if v := strings.ToLower(strings.TrimSpace(getenv("HOIST_FORGE"))); v != "" {
		if _, err := forge.ParseKind(v); err != nil && v != "auto" && v != "off" {
			errs = append(errs, fmt.Errorf("HOIST_FORGE=%q: set github, gitlab, gitea, forgejo, auto (from the remote's host) or off", v))
		}
		e.Forge = v
	}
	e.ForgeTokens = map[forge.Kind]Secret{}
	for _, k := range forge.Kinds {
		if v := strings.TrimSpace(getenv(k.TokenVar())); v != "" {
			e.ForgeTokens[k] = NewSecret(v)
		}
	}
	if _, ok := e.ForgeTokens[forge.Gitea]; !ok {
		if v := strings.TrimSpace(getenv("FORGEJO_TOKEN")); v != "" {
			e.ForgeTokens[forge.Gitea] = NewSecret(v)
		}
	}

	e.Docker = DockerEnv{
		Host: getenv("DOCKER_HOST"), APIVersion: strings.TrimSpace(getenv("DOCKER_API_VERSION")),
		CertPath: getenv("DOCKER_CERT_PATH"), TLSVerify: getenv("DOCKER_TLS_VERIFY") != "",
		Platform: getenv("DOCKER_PLATFORM"), Latest: getenv("DOCKER_LATEST") == "1", UpPort: getenv("DOCKER_UP_PORT"),
	}
	for _, k := range []string{"GO_IMAGE", "RUNTIME_IMAGE"} {
		if v := getenv(k); v != "" {
			if e.Docker.BuildArgs == nil {
				e.Docker.BuildArgs = map[string]string{}
			}
			e.Docker.BuildArgs[k] = v
		}
	}
	if e.Docker.Platform != "" {
		if _, err := platform.Parse(e.Docker.Platform); err != nil {
			errs = append(errs, fmt.Errorf("DOCKER_PLATFORM: %w", err))
		}
	}
	if len(errs) > 0 {
		return e, fmt.Errorf("hoist environment: %w", errors.Join(errs...))
	}
	return e, nil
}

// parseSize reads 10G, 512M, 64K or plain bytes.
func parseSize(v string) (int64, error) {
	mult := int64(1)
	switch strings.ToUpper(v[len(v)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		v = v[:len(v)-1]
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("not a size: %q", v)
	}
	return n * mult, nil
}

// validVulnDB accepts what Vuln.DB can name.
func validVulnDB(v string) bool {
	if v == ModuleVulnDB || strings.HasPrefix(v, ModuleVulnDB+"@") {
		return true
	}
	return strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "file:///")
}

// ParseSourceDateEpoch reads a SOURCE_DATE_EPOCH value: whole seconds since
// 1970, at most MaxSourceDateEpoch.
func ParseSourceDateEpoch(s string) (time.Time, error) {
	sec, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || sec < 0 || sec > MaxSourceDateEpoch {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a count of seconds since 1970 up to the year 9999: set it to the commit time, $(git log -1 --format=%%ct), or unset it", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// ApplyEnv overlays the environment's overrides on c. Unset variables
// change nothing.
func (c *Config) ApplyEnv(e Env) {
	if len(e.Platforms) > 0 {
		c.Platforms = e.Platforms
	}
	if e.Jobs > 0 {
		c.Jobs = e.Jobs
	}
	if e.CoverageMin != nil {
		c.CoverageMin = *e.CoverageMin
	}
	if len(e.TestArgs) > 0 {
		c.TestArgs = e.TestArgs
	}
	if e.Race != nil {
		c.NoRace = !*e.Race
	}
	if e.TestTimeout > 0 {
		c.TestTimeout = e.TestTimeout
	}
	if len(e.Registries) > 0 {
		c.Publish.Registries = e.Registries
	}
	if len(e.Insecure) > 0 {
		c.Publish.Insecure = e.Insecure
	}
	if e.RegistryAddr != "" {
		c.Publish.EmbeddedAddr = e.RegistryAddr
	}
	if len(e.RegistryCommand) > 0 {
		c.Publish.EmbeddedCommand = e.RegistryCommand
	}
	if e.RegistryData != "" {
		c.Publish.EmbeddedData = e.RegistryData
	}
	if len(e.ImageTarball) > 0 {
		c.Image.Tarball = e.ImageTarball
	}
	if e.AllowDetached {
		c.Release.AllowDetached = true
	}
	if e.PublicKey != "" {
		c.Sign.PublicKey = e.PublicKey
	}
	if e.Vuln == "off" {
		c.Vuln.Off = true
	}
	if e.SizeOff {
		c.Size.Off = true
	}
	if e.Cache != "" {
		c.Cache.Repository = e.Cache
	}
	if e.CacheStrict {
		c.Cache.Strict = true
	}
	if e.CachePush != "" {
		c.Cache.Push = e.CachePush
	}
	if e.SizeBudget != nil {
		c.Size.Budget = *e.SizeBudget
	}
	if e.Forge != "" {
		c.Forge.Kind = e.Forge
	}
	if e.VulnDB != "" {
		c.Vuln.DB = e.VulnDB
	}
	switch e.Sign {
	case "off":
		c.Sign.Off, c.Sign.Snapshots = true, false
	case "on":
		c.Sign.Off, c.Sign.Snapshots = false, true
	}
}
