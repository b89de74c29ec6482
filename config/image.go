package config

import (
	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/image"
)

// Image configures the daemonless OCI image built from the compiled
// binaries. The zero value builds an image of every binary on hoist's
// built-in static base, running the binary named like the project.
type Image struct {
	// Skip turns the image step off for projects that ship no container.
	Skip bool
	// Name is the repository name the image is pushed under, appended to
	// each registry. Default: the project name (e.g. "web").
	Name string
	// Base is the base image: "" for hoist's built-in static base, a
	// reference such as "gcr.io/distroless/static:nonroot" or
	// "repo@sha256:…", or an OCI layout as "oci:DIR[:ref|@sha256:…]".
	Base string
	// Main is the binary the entrypoint runs. Default: the binary named
	// like the project, else the only binary; required when neither exists.
	Main string
	// Entrypoint replaces the default [<Main's path>], such as
	// ["/usr/local/bin/web"]. Its program must be a file the image will
	// hold; one it will not is refused before anything is built.
	Entrypoint []string
	// Paths places binaries elsewhere than /usr/local/bin: binary name to
	// its path in the image, absolute ("/app", "/usr/bin/app") or
	// relative to WorkDir ("app", for manifests that run ./app from the
	// working directory).
	Paths map[string]string
	// Cmd holds the default arguments.
	Cmd []string
	// Env adds environment variables, as KEY=value.
	Env []string
	// User is uid:gid. Default: "65532:65532" (nonroot).
	User string
	// WorkDir is the working directory. Default: "/home/nonroot".
	WorkDir string
	// Ports are exposed ports such as "8080/tcp".
	Ports []string
	// Labels are config labels; the OCI annotations are added as labels too.
	Labels map[string]string
	// Annotations are extra OCI annotations on the index and manifests.
	Annotations map[string]string
	// Source is org.opencontainers.image.source. Default: https://<module
	// path> for modules hosted on github.com, gitlab.com or bitbucket.org.
	Source string
	// Files are extra files or directory trees, such as a static ui/ folder,
	// each with its destination, mode and owner. Default (nil): the
	// module-root directories ui/, web/, static/ and public/ that exist and
	// hold neither Go code nor frontend sources (package.json,
	// node_modules), each copied to <WorkDir>/<dir>, root-owned and
	// read-only, so that relative paths resolve as in a checkout. Setting
	// Files replaces that discovery; an empty, non-nil slice ships none.
	Files []image.File
	// Dirs are extra directories, such as a writable data dir.
	Dirs []image.Dir
	// Healthcheck, when set, makes Docker run "<Main> -healthcheck".
	Healthcheck *image.Healthcheck
	// TZData adds /usr/share/zoneinfo to the built-in base.
	TZData bool
	// Tarball names platforms (e.g. "linux/amd64") for which image:build
	// also writes a docker-loadable tarball dist/image_<os>_<arch>.tar.
	// Env: HOIST_IMAGE_TARBALL.
	Tarball []string
}

// Publish configures where images go.
type Publish struct {
	// Registries are repository prefixes such as "ghcr.io/acme" or
	// "registry.example.com:5000/team"; the image name is appended to each.
	// Default: none, which means hoist's embedded registry. Env: REGISTRY
	// (comma-separated).
	Registries []string
	// Latest also tags "latest" on releases that are not prereleases.
	Latest bool
	// MinorTag also tags MAJOR.MINOR (e.g. "1.2") on releases that are not
	// prereleases.
	MinorTag bool
	// TagPrefix precedes the version in the image's version and
	// MAJOR.MINOR tags: "v" gives v1.11.0 and v1.11, for repositories whose
	// image tags spell versions like their git tags. Default: none.
	TagPrefix string
	// ArchTags also points, for every image tag, TAG-ARCH at each
	// platform's own manifest (1.2.3-amd64, 1.2.3-arm64, 1.2.3-armv7), for
	// users who pin one architecture.
	ArchTags bool
	// Tags, when set, replaces the image tags hoist derives from the
	// version: it gets the version released (or the snapshot's) and
	// returns its tags, the version's own tag first; Latest, MinorTag and
	// TagPrefix are then ignored. Preflight refuses tags registries would
	// refuse, and an empty list.
	Tags func(v *semver.Version) []string `json:"-"`
	// Insecure names registry hosts allowed over plain HTTP although they
	// are not loopback. A warning is printed. Env: HOIST_INSECURE_REGISTRIES.
	Insecure []string
	// Jobs caps parallel blob uploads per destination. Default: 4.
	Jobs int
	// EmbeddedAddr is where registry:serve listens, and the host that names
	// images in the embedded registry in records. Default: localhost:5000.
	// Env: HOIST_REGISTRY_ADDR.
	EmbeddedAddr string
	// EmbeddedCommand runs the embedded registry. Default: `go tool
	// hoist-registry`, which needs `tool github.com/hoistdev/hoist/cmd/hoist-registry`
	// in go.mod. Env: HOIST_REGISTRY_COMMAND (space-separated).
	EmbeddedCommand []string
	// EmbeddedData is the embedded registry's data directory. Default:
	// $HOIST_REGISTRY_DATA, else $XDG_DATA_HOME/hoist/registry, else
	// ~/.local/share/hoist/registry.
	EmbeddedData string
}
