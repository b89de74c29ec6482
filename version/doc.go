// Package version decides what a release is called and records that decision
// in git.
//
// It owns four things a release needs before and after the build: the VERSION
// file at the root of the module, semantic version bumps, the reading of
// Conventional Commits since the last release tag, and the git plumbing that
// lists tags, commits VERSION and creates the annotated release tag. It is
// plain Go over the git CLI; the mage targets call it and read the environment
// (BUMP, PRERELEASE, ...) themselves, so nothing here looks at os.Getenv.
//
// # The VERSION file
//
// VERSION holds exactly one semantic version 2.0 string, such as 1.4.0 or
// 2.0.0-rc.1, with no leading "v" and at most one trailing newline. Anything
// else is rejected with an error that quotes the content and suggests a valid
// value, because a silently "corrected" version is worse than a stopped build.
//
// # Bump rules
//
// A patch, minor or major bump of a release version works as semver says:
// 1.2.3 becomes 1.2.4, 1.3.0 or 2.0.0. A bump of a prerelease version first
// tries to finish that prerelease, since the prerelease was a candidate for
// the very version the bump asks for:
//
//   - patch on 1.2.3-rc.1 gives 1.2.3;
//   - minor on 1.2.0-rc.1 gives 1.2.0, but minor on 1.2.3-rc.1 gives 1.3.0;
//   - major on 1.0.0-rc.1 gives 1.0.0, but major on 1.2.0-rc.1 gives 2.0.0.
//
// A prerelease bump increments the last numeric identifier (1.2.3-rc.1 gives
// 1.2.3-rc.2; 1.2.3-rc gives 1.2.3-rc.1). From a release it starts a candidate
// for the next patch: 1.2.3 gives 1.2.4-rc.1, where "rc" is the default
// prerelease identifier. Asking for another identifier restarts the count
// (1.2.3-alpha.3 with "beta" gives 1.2.3-beta.1) and is refused when the
// result would sort below the current version. Build metadata is dropped by
// every bump.
//
// # Which commits cause a release
//
// Commit messages are read as Conventional Commits
// (https://www.conventionalcommits.org): "type(scope)!: subject", with a
// "BREAKING CHANGE:" or "BREAKING-CHANGE:" footer as the other way to mark a
// breaking change. The level of the next release is the highest one any
// commit since the last tag asks for:
//
//   - a breaking change (type!, or the footer) asks for a major release;
//   - feat asks for a minor release;
//   - fix and perf ask for a patch release;
//   - docs, chore, test, ci, build, style, refactor and any other type ask for
//     nothing;
//   - messages that are not Conventional Commits ask for nothing, but are kept
//     and listed under "Other changes" in the changelog.
//
// While the major version is 0, a breaking change asks only for a minor
// release (feat stays minor, fix and perf stay patch). Reaching 1.0.0 is a
// decision, not an accident: it needs an explicit BUMP=major.
//
// # The release decision
//
// Plan compares VERSION with the highest tag carrying the tag prefix
// ("v" by default, "svc/v" in a monorepo) and applies the first rule that
// matches:
//
//  1. An explicit level (BUMP=patch|minor|major|prerelease) bumps the higher
//     of VERSION and the latest tag by that level.
//  2. When no tag has VERSION's value yet (a fresh project at 0.1.0, or a
//     VERSION edited by hand to a higher value), that value is released as is.
//  3. When VERSION is lower than the latest tag, the decision fails: the
//     version would go backwards. The error names both and how to fix it.
//  4. Otherwise the commits since the latest tag set the level, as above. When
//     none of them asks for a release, the decision is "no release", with a
//     reason that says how to force one.
//
// Plan runs that decision against a repository; it reads but never writes.
// A snapshot build uses Snapshot to call itself <next>-snapshot.<short sha>.
package version
