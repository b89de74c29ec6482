// Package artifact keeps the typed list of everything a hoist run produced:
// binaries, archives, checksums, SBOMs and images.
//
// The list is saved to dist/artifacts.json so that a target running later,
// in another process or on another CI runner, can pick up what an earlier
// target built instead of building it again. Each stage replaces the entries
// of the types it owns, so reruns never leave stale entries behind.
package artifact
