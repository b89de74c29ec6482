// Package release holds the parts of a one-command release that sit around
// the build: the checks that run before anything is touched, the transaction
// that bumps VERSION and later commits and tags it (or puts everything back),
// the packaging of built binaries into archives, SBOMs and checksums.txt,
// the dry-run plan, the release manifest and the build-twice verification.
//
// It is plain Go over the git CLI and hoist's other core packages. It never
// imports mage and never reads the environment: the mage targets read BUMP,
// REGISTRY and friends at the edge and pass values in.
//
// # Order of a release
//
// A release that leaves nothing half-done runs in this order:
//
//  1. Preflight: git identity, clean tree (dist excluded), branch, full clone,
//     the version decision and the registry, all reported together.
//  2. Begin a Txn, which remembers HEAD and the exact bytes of VERSION, then
//     Prepare the release commit off the branch and stamp it into the build.
//  3. Build, Package, image, push by digest. Any failure calls
//     Txn.Rollback.
//  4. Txn.Finish moves the branch to the release commit and creates the
//     annotated tag, only once every artifact exists, every push
//     succeeded and a configured forge holds the release as a draft;
//     registry tags move after that, then one atomic git push of the
//     branch and tag (from here on nothing is undone), then the forge
//     release is published.
//  5. WriteManifest records dist/release.json with the timings a Recorder
//     collected.
//
// # Files in dist
//
// For a project "web" at version 1.2.3 and a binary "web" built for
// linux/arm/v7, Package writes:
//
//	dist/web_1.2.3_linux_armv7.tar.gz         archive: every binary of the platform, README*, LICENSE*, extras
//	dist/web_1.2.3_linux_armv7.spdx.json      SBOM of the binary "web" on that platform
//	dist/web_1.2.3_darwin_all.tar.gz          with Release.Universal: the universal macOS binaries
//	dist/web_1.2.3_source.tar.gz              with Release.SourceArchive, and its .spdx.json
//	dist/checksums.txt                        sha256sum -c format over the archives and SBOMs
//	dist/.hoist/package.json                  the skip record of the packaging step
//
// Archives group the binaries of one platform, as GoReleaser's default does,
// so a project with several binaries ships one download per platform.
// SBOMs are per binary and named <binary>_<version>_<os>_<arch>[variant];
// with a single binary named like the project the two names line up.
//
// # Reproducibility
//
// Two builds of the same commit must produce the same bytes. Everything here
// takes the commit time as a parameter instead of reading a clock, and Verify
// builds twice in fresh clones to prove it. Callers must give both builds of
// Verify the same SOURCE_DATE_EPOCH (the commit time of HEAD).
package release
