package config

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/project"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestMergeKeepsSetValues(t *testing.T) {
	got := Config{Dist: "out", CoverageMin: 90}.Merge(Defaults())
	if got.Dist != "out" || got.CoverageMin != 90 || got.Dir != "." || got.VersionFile != "VERSION" {
		t.Errorf("Merge() = %+v, want Dist out, gate 90 and default Dir/VersionFile", got)
	}
}

func TestApplyEnv(t *testing.T) {
	c := Defaults()
	e, err := ReadEnv(env(map[string]string{
		"PLATFORMS": "linux/amd64, linux/arm/v7", "HOIST_JOBS": "3", "COVERAGE_MIN": "-1",
		"TEST_ARGS": "-run X -count=1", "REGISTRY": "ghcr.io/a,localhost:5000", "HOIST_INSECURE_REGISTRIES": "10.0.0.5:5000",
		"HOIST_IMAGE_TARBALL": "linux/amd64", "HOIST_REGISTRY_ADDR": "localhost:5001", "HOIST_REGISTRY_DATA": "/data",
		"HOIST_ALLOW_DETACHED": "1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyEnv(e)
	if !slices.Equal(c.Platforms, []string{"linux/amd64", "linux/arm/v7"}) || c.Jobs != 3 || c.CoverageMin != -1 ||
		!slices.Equal(c.TestArgs, []string{"-run", "X", "-count=1"}) || !slices.Equal(c.Publish.Registries, []string{"ghcr.io/a", "localhost:5000"}) ||
		!slices.Equal(c.Publish.Insecure, []string{"10.0.0.5:5000"}) || c.Publish.EmbeddedAddr != "localhost:5001" || !slices.Equal(c.Image.Tarball, []string{"linux/amd64"}) ||
		c.Publish.EmbeddedData != "/data" || !c.Release.AllowDetached {
		t.Errorf("ApplyEnv() = %+v", c)
	}
	ps, err := c.ParsedPlatforms()
	if err != nil || len(ps) != 2 || ps[1].Variant != "v7" {
		t.Errorf("ParsedPlatforms() = %v, %v", ps, err)
	}
}

func TestReadEnv(t *testing.T) {
	e, err := ReadEnv(env(map[string]string{
		"COVERAGE_MIN": "0", "BUMP": "minor", "HOIST_FORCE": "1", "SOURCE_DATE_EPOCH": "1700000000", "CI": "true",
		"DIGESTS": "sha256:a, sha256:b", "HOME": "/home/u", "DOCKER_LATEST": "1", "GO_IMAGE": "golang:1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	// A gate of 0% passes everything: no gate, not the ratchet (which is
	// what CoverageMin 0 means in the configuration).
	if e.CoverageMin == nil || *e.CoverageMin != -1 {
		t.Errorf("COVERAGE_MIN=0 gave %v, want no gate (-1)", e.CoverageMin)
	}
	c := Defaults()
	c.ApplyEnv(e)
	if c.CoverageMin != -1 {
		t.Errorf("CoverageMin after COVERAGE_MIN=0 = %v, want -1", c.CoverageMin)
	}
	for v, want := range map[string]float64{"ratchet": 0, "Ratchet": 0, "55.5": 55.5, "-1": -1} {
		e, err := ReadEnv(env(map[string]string{"COVERAGE_MIN": v}))
		if err != nil || e.CoverageMin == nil || *e.CoverageMin != want {
			t.Errorf("COVERAGE_MIN=%s: %v, %v; want %v", v, e.CoverageMin, err, want)
		}
	}
	if e.Bump.String() != "minor" || !e.Force || !e.TidyCheck || !e.SourceDate.Equal(time.Unix(1700000000, 0)) ||
		!slices.Equal(e.Digests, []string{"sha256:a", "sha256:b"}) || e.DefaultRegistryData != "/home/u/.local/share/hoist/registry" ||
		!e.Docker.Latest || e.Docker.BuildArgs["GO_IMAGE"] != "golang:1" {
		t.Errorf("ReadEnv() = %+v", e)
	}
}

func TestReadEnvErrors(t *testing.T) {
	tests := []struct{ name, key, val, want string }{
		{name: "bad platform", key: "PLATFORMS", val: "linux", want: "PLATFORMS"},
		{name: "bad jobs", key: "HOIST_JOBS", val: "0", want: "HOIST_JOBS"},
		{name: "bad gate", key: "COVERAGE_MIN", val: "lots", want: "COVERAGE_MIN"},
		{name: "gate over 100", key: "COVERAGE_MIN", val: "101", want: "COVERAGE_MIN"},
		{name: "gate NaN", key: "COVERAGE_MIN", val: "NaN", want: "COVERAGE_MIN"},
		{name: "gate Inf", key: "COVERAGE_MIN", val: "-Inf", want: "COVERAGE_MIN"},
		{name: "bad bump", key: "BUMP", val: "sideways", want: "BUMP"},
		{name: "epoch words", key: "SOURCE_DATE_EPOCH", val: "soon", want: "SOURCE_DATE_EPOCH"},
		{name: "epoch negative", key: "SOURCE_DATE_EPOCH", val: "-5", want: "SOURCE_DATE_EPOCH"},
		{name: "epoch past 9999", key: "SOURCE_DATE_EPOCH", val: "253402300800", want: "year 9999"},
		{name: "docker platform", key: "DOCKER_PLATFORM", val: "linux", want: "DOCKER_PLATFORM"},
		{name: "registry addr without port", key: "HOIST_REGISTRY_ADDR", val: "nonsense", want: "HOIST_REGISTRY_ADDR"},
		{name: "registry addr off this machine", key: "HOIST_REGISTRY_ADDR", val: "10.0.0.5:5000", want: "loopback"},
		{name: "cache push", key: "HOIST_CACHE_PUSH", val: "maybe", want: "HOIST_CACHE_PUSH"},
		{name: "cache age", key: "HOIST_CACHE_MAX_AGE", val: "30 days", want: "HOIST_CACHE_MAX_AGE"},
		{name: "cache size", key: "HOIST_CACHE_MAX_SIZE", val: "lots", want: "HOIST_CACHE_MAX_SIZE"},
		{name: "forge", key: "HOIST_FORGE", val: "sourcehut", want: "HOIST_FORGE"},
		{name: "race", key: "RACE", val: "sometimes", want: "RACE"},
		{name: "test timeout words", key: "TEST_TIMEOUT", val: "long", want: "TEST_TIMEOUT"},
		{name: "test timeout negative", key: "TEST_TIMEOUT", val: "-5m", want: "TEST_TIMEOUT"},
		{name: "near-miss platform", key: "PLATFORMS", val: "linux_amd64", want: "did you mean linux/amd64?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadEnv(env(map[string]string{tt.key: tt.val})); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadEnv(%s=%s) = %v, want an error naming %s", tt.key, tt.val, err, tt.want)
			}
		})
	}
	if _, err := ReadEnv(env(map[string]string{"SOURCE_DATE_EPOCH": "253402300799"})); err != nil {
		t.Errorf("ReadEnv(SOURCE_DATE_EPOCH at the last second of 9999) = %v", err)
	}
}

// TestRaceAndTimeout: RACE overrides NoRace both ways, TEST_TIMEOUT
// sets the timeout, and unset variables keep the config.
func TestRaceAndTimeout(t *testing.T) {
	for _, tt := range []struct {
		race   string
		noRace bool
		want   bool
	}{
		{"1", true, false}, {"true", true, false}, {"0", false, true}, {"off", false, true}, {"", true, true}, {"", false, false},
	} {
		e, err := ReadEnv(env(map[string]string{"RACE": tt.race}))
		if err != nil {
			t.Fatalf("RACE=%q: %v", tt.race, err)
		}
		c := Config{NoRace: tt.noRace}
		c.ApplyEnv(e)
		if c.NoRace != tt.want {
			t.Errorf("NoRace %v with RACE=%q = %v, want %v", tt.noRace, tt.race, c.NoRace, tt.want)
		}
	}
	e, err := ReadEnv(env(map[string]string{"TEST_TIMEOUT": "25m"}))
	if err != nil {
		t.Fatal(err)
	}
	c := Config{TestTimeout: time.Minute}
	c.ApplyEnv(e)
	if c.TestTimeout != 25*time.Minute {
		t.Errorf("TestTimeout after TEST_TIMEOUT=25m = %v", c.TestTimeout)
	}
	if err := (Config{TestTimeout: -time.Second}).Merge(Defaults()).Validate(); err == nil || !strings.Contains(err.Error(), "TestTimeout") {
		t.Errorf("Validate(TestTimeout -1s) = %v, want an error naming TestTimeout", err)
	}
}

// TestCachePush: CI runners store, other machines read, unless told.
func TestCachePush(t *testing.T) {
	tests := []struct {
		push string
		ci   bool
		want bool
	}{
		{"", true, true}, {"", false, false}, {"1", false, true}, {"0", true, false}, {"ci", true, true},
	}
	for _, tt := range tests {
		e, err := ReadEnv(env(map[string]string{"HOIST_CACHE_PUSH": tt.push}))
		if err != nil {
			t.Fatal(err)
		}
		c := Defaults()
		c.ApplyEnv(e)
		if got := c.Cache.Pushes(tt.ci); got != tt.want {
			t.Errorf("HOIST_CACHE_PUSH=%q, CI %v: Pushes() = %v, want %v", tt.push, tt.ci, got, tt.want)
		}
	}
	c := Defaults()
	c.Cache.Push = "sometimes"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "Cache.Push") {
		t.Errorf("Validate(Cache.Push = sometimes) = %v, want an error naming Cache.Push", err)
	}
	if e, err := ReadEnv(env(map[string]string{"HOIST_CACHE_MAX_AGE": "48h", "HOIST_CACHE_MAX_SIZE": "2G"})); err != nil || e.CacheMaxAge != 48*time.Hour || e.CacheMaxSize != 2<<30 {
		t.Errorf("ReadEnv(48h, 2G) = %v, %v, %v", e.CacheMaxAge, e.CacheMaxSize, err)
	}
}

func TestValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("Defaults().Validate() = %v", err)
	}
	if ps, _ := Defaults().ParsedPlatforms(); len(ps) != 4 {
		t.Errorf("default platforms = %v, want 4", ps)
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{name: "platform", mod: func(c *Config) { c.Platforms = []string{"linux"} }, want: "os/arch"},
		{name: "jobs", mod: func(c *Config) { c.Jobs = -2 }, want: "Jobs"},
		{name: "gate", mod: func(c *Config) { c.CoverageMin = 120 }, want: "CoverageMin"},
		{name: "dist outside", mod: func(c *Config) { c.Dist = "../out" }, want: "Dist"},
		{name: "dist root", mod: func(c *Config) { c.Dist = "." }, want: "Dist"},
		{name: "empty vars", mod: func(c *Config) { c.VersionVars = &project.Vars{} }, want: "VersionVars"},
		{name: "tzdata on another base", mod: func(c *Config) { c.Image.TZData, c.Image.Base = true, "alpine:3.20" }, want: "Image.TZData"},
		{name: "skip with tarball", mod: func(c *Config) { c.Image.Skip, c.Image.Tarball = true, []string{"linux/amd64"} }, want: "Image.Skip"},
		{name: "tarball not built", mod: func(c *Config) { c.Platforms, c.Image.Tarball = []string{"linux/amd64"}, []string{"linux/arm64"} }, want: "does not build"},
		{name: "tarball not linux", mod: func(c *Config) { c.Image.Tarball = []string{"darwin/arm64"} }, want: "linux-only"},
		{name: "tarball malformed", mod: func(c *Config) { c.Image.Tarball = []string{"linux"} }, want: "Image.Tarball"},
		{name: "publish jobs", mod: func(c *Config) { c.Publish.Jobs = -1 }, want: "Publish.Jobs"},
		{name: "registry url", mod: func(c *Config) { c.Publish.Registries = []string{"https://ghcr.io/acme/"} }, want: `as "ghcr.io/acme"`},
		{name: "registry tag", mod: func(c *Config) { c.Publish.Registries = []string{"ghcr.io/acme/app:latest"} }, want: "tag or digest"},
		{name: "registry digest", mod: func(c *Config) { c.Publish.Registries = []string{"ghcr.io/acme@sha256:00"} }, want: "tag or digest"},
		{name: "registry upper case", mod: func(c *Config) { c.Publish.Registries = []string{"ghcr.io/Acme"} }, want: "lowercase"},
		{name: "registry empty", mod: func(c *Config) { c.Publish.Registries = []string{""} }, want: "repository prefix"},
		{name: "gate NaN", mod: func(c *Config) { c.CoverageMin = math.NaN() }, want: "CoverageMin"},
		{name: "registry credentials", mod: func(c *Config) { c.Publish.Registries = []string{"bob:hunter2@ghcr.io/acme"} }, want: `"***@ghcr.io/acme" holds credentials`},
		{name: "insecure credentials", mod: func(c *Config) { c.Publish.Insecure = []string{"bob:hunter2@10.0.0.5"} }, want: "docker login 10.0.0.5"},
		{name: "insecure path", mod: func(c *Config) { c.Publish.Insecure = []string{"10.0.0.5/team"} }, want: "host[:port]"},
		{name: "forge kind", mod: func(c *Config) { c.Forge.Kind = "sourcehut" }, want: "Forge.Kind"},
		{name: "forge prerelease", mod: func(c *Config) { c.Forge.Prerelease = "sometimes" }, want: "Forge.Prerelease"},
		{name: "forge name template", mod: func(c *Config) { c.Forge.Name = "{{.Tag" }, want: "Forge.Name"},
		{name: "forge url", mod: func(c *Config) { c.Forge.URL = "git.example.com" }, want: "Forge.URL"},
		{name: "forge repository", mod: func(c *Config) { c.Forge.Repository = "justaname" }, want: "OWNER/NAME"},
		{name: "binary platform", mod: func(c *Config) { c.Binaries = map[string]Binary{"web": {Platforms: []string{"linux"}}} }, want: `Binaries["web"].Platforms`},
		{name: "binary archive twice", mod: func(c *Config) { c.Binaries = map[string]Binary{"web": {NoArchive: true, OwnArchive: true}} }, want: "keep one"},
		{name: "binary name a path", mod: func(c *Config) { c.Binaries = map[string]Binary{"web": {Name: "bin/web"}} }, want: "plain file name"},
		{name: "insecure elsewhere", mod: func(c *Config) {
			c.Publish.Registries, c.Publish.Insecure = []string{"10.0.0.5:5000/team"}, []string{"10.0.0.6:5000"}
		}, want: "10.0.0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			tt.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Validate() = %v: it echoes the password", err)
			}
		})
	}
}

func TestPath(t *testing.T) {
	c := Config{Dir: "/repo"}
	if got := c.Path("dist"); got != "/repo/dist" {
		t.Errorf("Path(dist) = %q", got)
	}
	if got := c.Path("/abs"); got != "/abs" {
		t.Errorf("Path(/abs) = %q", got)
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{name: "tzdata on built-in base", mod: func(c *Config) { c.Image.TZData = true }},
		{name: "tarball in default matrix", mod: func(c *Config) { c.Image.Tarball = []string{"linux/arm64"} }},
		{name: "variant tarball", mod: func(c *Config) {
			c.Platforms, c.Image.Tarball = []string{"linux/arm/v7", "linux/amd64"}, []string{"linux/arm/v7"}
		}},
		{name: "registries with ports and paths", mod: func(c *Config) {
			c.Publish.Registries = []string{"localhost:5000", "ghcr.io/acme", "registry.example.com:5000/team/sub"}
		}},
		{name: "insecure host with port", mod: func(c *Config) {
			c.Publish.Registries, c.Publish.Insecure = []string{"10.0.0.5:5000/team"}, []string{"10.0.0.5:5000"}
		}},
		{name: "insecure host without port", mod: func(c *Config) {
			c.Publish.Registries, c.Publish.Insecure = []string{"10.0.0.5:5000/team"}, []string{"10.0.0.5"}
		}},
		{name: "insecure with the embedded registry", mod: func(c *Config) { c.Publish.Insecure = []string{"10.0.0.5"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			tt.mod(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}
