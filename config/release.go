package config

// NoTagPrefix, as Release.TagPrefix, releases with plain tags such as
// 3.2.1.
const NoTagPrefix = "none"

// Release configures the release pipeline.
type Release struct {
	// TagPrefix precedes the version in git tags. A monorepo service uses
	// e.g. "svc/v" (tags like svc/v1.2.3); NoTagPrefix means plain tags
	// (1.2.3). Default: the scheme of the repository's newest version tag,
	// "v" or plain, and "v" before the first.
	TagPrefix string
	// Paths limits the commits that count towards the next version to
	// those touching these paths, for monorepo services. Default: all.
	Paths []string
	// PreID is the prerelease identifier for BUMP=prerelease. Default: "rc".
	PreID string
	// AllowDetached lets a release run on a detached HEAD. Env:
	// HOIST_ALLOW_DETACHED=1.
	AllowDetached bool
	// ExtraFiles are added to every archive beside the binary, README and
	// LICENSE (which are included when present).
	ExtraFiles []string
	// SourceArchive adds <project>_<version>_source.tar.gz: the released
	// commit as git archive holds it (committed files only), under
	// <project>-<version>/, reproducible, with an SBOM of the modules its
	// go.mod requires (<project>_<version>_source.spdx.json), both in
	// checksums.txt and release.json.
	SourceArchive bool
	// Universal adds, for every binary built for both darwin/amd64 and
	// darwin/arm64, a universal macOS binary made of the two
	// (dist/<name>_darwin_all/<name>), archived as <project>_<version>_darwin_all
	// with its SBOM and checksum.
	Universal bool
	// UniversalReplace ships only the universal darwin binary, not the
	// two it is made of.
	UniversalReplace bool
	// ArchiveName names the archives without their extension (.tar.gz,
	// .zip on windows): it gets the name (the project's, or the binary's
	// for Binaries[…].OwnArchive), the version without a leading v and the
	// platform, as os, arch and variant (universal darwin binaries are
	// darwin/all). Default: NAME_VERSION_OS_ARCH with the variant
	// appended (web_1.2.3_linux_armv7), GoReleaser's default; a repository
	// that leaves the version out returns name + "_" + os + "_" + arch.
	ArchiveName func(name, version, os, arch, variant string) string `json:"-"`
	// ChecksumsName names the checksum list (and, after it, its
	// signatures: NAME.sig, NAME.sigstore.json), from the project name and
	// the version without a leading v. Default: checksums.txt; some
	// repositories publish NAME_VERSION_checksums.txt.
	ChecksumsName func(project, version string) string `json:"-"`
}
