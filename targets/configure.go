package targets

import (
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// Configure registers a change to hoist's configuration, applied after the
// defaults and before environment overrides. Call it from an init function
// in a magefile:
//
//	func init() {
//		targets.Configure(func(c *config.Config) {
//			c.Platforms = []string{"linux/amd64", "linux/arm/v7"}
//		})
//	}
//
// mage does not list Configure as a target: its parameter is not a type a
// target can take.
func Configure(fn func(*config.Config)) { session.Configure(fn) }

// A Setting is one change to hoist's configuration, for [Set]. The
// functions and values below cover what most repositories change; for
// anything else, use [Configure] with a function.
type Setting func(*config.Config)

// Set registers settings in one line of a magefile:
//
//	func init() { targets.Set(targets.Registries("ghcr.io/acme"), targets.FloatingTags) }
//
// Settings apply in order, after the defaults and before environment
// overrides, like [Configure].
func Set(settings ...Setting) {
	Configure(func(c *config.Config) { apply(c, settings) })
}

func apply(c *config.Config, settings []Setting) {
	for _, s := range settings {
		s(c)
	}
}

// Name sets the project name, which names archives and the image.
func Name(name string) Setting { return func(c *config.Config) { c.Name = name } }

// Mains sets the main packages to build, such as "./cmd/api".
func Mains(dirs ...string) Setting { return func(c *config.Config) { c.Mains = dirs } }

// Platforms sets the build matrix, such as "linux/amd64", "linux/arm/v7".
func Platforms(platforms ...string) Setting {
	return func(c *config.Config) { c.Platforms = platforms }
}

// Registries sets the repository prefixes images are pushed to, such as
// "ghcr.io/acme"; the image name is appended to each.
func Registries(prefixes ...string) Setting {
	return func(c *config.Config) { c.Publish.Registries = prefixes }
}

// FloatingTags makes a release that is not a prerelease also tag the
// image latest and MAJOR.MINOR.
var FloatingTags Setting = func(c *config.Config) { c.Publish.Latest, c.Publish.MinorTag = true, true }

// LatestTag makes a release that is not a prerelease also tag the image
// latest (FloatingTags adds MAJOR.MINOR too).
var LatestTag Setting = func(c *config.Config) { c.Publish.Latest = true }

// MinorTag makes a release that is not a prerelease also tag the image
// MAJOR.MINOR (FloatingTags adds latest too).
var MinorTag Setting = func(c *config.Config) { c.Publish.MinorTag = true }

// ImageName sets the repository name the image is pushed under, when it
// differs from the project name.
func ImageName(name string) Setting { return func(c *config.Config) { c.Image.Name = name } }

// ImageEnv adds environment variables to the image, as KEY=value.
func ImageEnv(vars ...string) Setting {
	return func(c *config.Config) { c.Image.Env = append(c.Image.Env, vars...) }
}

// Cmd sets the image's default arguments.
func Cmd(args ...string) Setting { return func(c *config.Config) { c.Image.Cmd = args } }

// BuildTags sets the Go build tags of every binary.
func BuildTags(tags ...string) Setting { return func(c *config.Config) { c.Tags = tags } }

// VersionVars names the variables that receive the release version, such
// as "example.com/x/internal/version.Version". Setting any of VersionVars,
// CommitVars or DateVars replaces the discovery of stamp variables.
func VersionVars(names ...string) Setting {
	return func(c *config.Config) { stampVars(c).Version = append(stampVars(c).Version, names...) }
}

// CommitVars names the variables that receive the commit hash.
func CommitVars(names ...string) Setting {
	return func(c *config.Config) { stampVars(c).Commit = append(stampVars(c).Commit, names...) }
}

// DateVars names the variables that receive the build date.
func DateVars(names ...string) Setting {
	return func(c *config.Config) { stampVars(c).Date = append(stampVars(c).Date, names...) }
}

func stampVars(c *config.Config) *project.Vars {
	if c.VersionVars == nil {
		c.VersionVars = &project.Vars{}
	}
	return c.VersionVars
}

// LDFlags adds linker flags after -s -w and the version stamps.
func LDFlags(flags ...string) Setting {
	return func(c *config.Config) { c.LDFlags = append(c.LDFlags, flags...) }
}

// TagPrefix sets what precedes the version in git tags: "v", a monorepo
// prefix such as "svc/v", or "" for plain tags such as 3.2.1.
func TagPrefix(prefix string) Setting {
	if prefix == "" {
		prefix = config.NoTagPrefix
	}
	return func(c *config.Config) { c.Release.TagPrefix = prefix }
}

// Ports sets the ports the image exposes, such as "8080/tcp".
func Ports(ports ...string) Setting { return func(c *config.Config) { c.Image.Ports = ports } }

// Base sets the image's base, such as "gcr.io/distroless/static:nonroot".
func Base(ref string) Setting { return func(c *config.Config) { c.Image.Base = ref } }

// User sets the image's uid:gid.
func User(user string) Setting { return func(c *config.Config) { c.Image.User = user } }

// WorkDir sets the image's working directory.
func WorkDir(dir string) Setting { return func(c *config.Config) { c.Image.WorkDir = dir } }

// TZData adds time zone data to hoist's built-in base image.
var TZData Setting = func(c *config.Config) { c.Image.TZData = true }

// NoImage turns the image step off, for a repository that ships binaries
// only.
var NoImage Setting = func(c *config.Config) { c.Image.Skip = true }

// ArchiveFiles adds files to every archive, beside the binary, README and
// LICENSE.
func ArchiveFiles(files ...string) Setting {
	return func(c *config.Config) { c.Release.ExtraFiles = files }
}

// CoverageMin sets go:test's total coverage gate in percent; a negative
// value turns it off.
func CoverageMin(percent float64) Setting {
	return func(c *config.Config) { c.CoverageMin = percent }
}

// NoRace turns the race detector off in go:test (RACE=1 turns it back
// on for one run, as a CI job would).
var NoRace Setting = func(c *config.Config) { c.NoRace = true }

// TestTimeout sets go test's -timeout for each package (default ten
// minutes); TEST_TIMEOUT overrides it.
func TestTimeout(d time.Duration) Setting {
	return func(c *config.Config) { c.TestTimeout = d }
}

// TestPackages sets the package patterns go:test tests, in the order go
// test starts them: the slowest first, e.g. TestPackages("./e2e", "./...").
func TestPackages(patterns ...string) Setting {
	return func(c *config.Config) { c.TestPackages = patterns }
}

// Forge publishes each release on the repository's forge: kind is github,
// gitlab, gitea, forgejo or auto (found from the origin remote's host).
// The token comes from GITHUB_TOKEN, GITLAB_TOKEN or GITEA_TOKEN.
func Forge(kind string) Setting { return func(c *config.Config) { c.Forge.Kind = kind } }

// ForgeRepository names the forge repository as OWNER/NAME, when it is not
// the origin remote's.
func ForgeRepository(path string) Setting {
	return func(c *config.Config) { c.Forge.Repository = path }
}

// ForgeURL is the forge's web address, for GitHub Enterprise and
// self-hosted GitLab, Gitea or Forgejo.
func ForgeURL(url string) Setting { return func(c *config.Config) { c.Forge.URL = url } }

// ForgeDraft leaves each forge release a draft for a person to publish.
var ForgeDraft Setting = func(c *config.Config) { c.Forge.Draft = true }

// ForgeName sets the forge release's title, a Go template over .Tag,
// .Version and .Project.
func ForgeName(tmpl string) Setting { return func(c *config.Config) { c.Forge.Name = tmpl } }

// ImageTagPrefix puts prefix before the version in the image's version
// and MAJOR.MINOR tags: "v" tags v1.2.3 and v1.2.
func ImageTagPrefix(prefix string) Setting {
	return func(c *config.Config) { c.Publish.TagPrefix = prefix }
}

// ImageTags replaces the image tags derived from the version with what fn
// returns for it, the version's own tag first.
func ImageTags(fn func(v *semver.Version) []string) Setting {
	return func(c *config.Config) { c.Publish.Tags = fn }
}

// BinaryPath puts the binary name at path in the image: absolute, such
// as "/app", or relative to the working directory, such as "app".
func BinaryPath(name, path string) Setting {
	return func(c *config.Config) {
		if c.Image.Paths == nil {
			c.Image.Paths = map[string]string{}
		}
		c.Image.Paths[name] = path
	}
}

// SourceArchive adds the released commit's source archive,
// <project>_<version>_source.tar.gz, to the release files.
var SourceArchive Setting = func(c *config.Config) { c.Release.SourceArchive = true }

// Universal adds a universal macOS binary for every binary built for both
// darwin/amd64 and darwin/arm64.
var Universal Setting = func(c *config.Config) { c.Release.Universal = true }

// ArchTags also tags each platform's manifest TAG-ARCH (1.2.3-amd64).
var ArchTags Setting = func(c *config.Config) { c.Publish.ArchTags = true }

// BinaryName builds the binary of directory dir (cmd/server builds
// "server") as name instead.
func BinaryName(dir, name string) Setting {
	return func(c *config.Config) {
		if c.Binaries == nil {
			c.Binaries = map[string]config.Binary{}
		}
		b := c.Binaries[dir]
		b.Name = name
		c.Binaries[dir] = b
	}
}
