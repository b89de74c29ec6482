// Command hoist-cache is a GOCACHEPROG program: the go command starts it
// and hands it the build cache, so that build results can be kept in a
// directory of hoist's choosing and, through a remote tier, shared between
// CI runners.
//
// Usage:
//
//	GOCACHEPROG="hoist-cache -dir DIR [-remote REPOSITORY] [-stats FILE | -stats-dir DIR] [-strict] [-jobs N]" go build ./...
//
// It speaks the protocol on stdin and stdout (see github.com/hoistdev/hoist/gocache)
// and keeps outputs under DIR. The go command still needs GOCACHE to name
// a writable directory for its other state.
//
// With -stats it writes what the run did (hits, misses, bytes moved) as
// JSON to FILE when the go command closes the cache, for a later report;
// with -stats-dir, to a new file in DIR, so that the go commands of one
// hoist run (several at once) each leave theirs.
// Notable events, such as a remote failing or a remote entry failing its
// digest check, go to stderr, which the go command shows; otherwise it is
// silent.
//
// With a remote tier, the first remote failure is logged and the rest of
// the run builds locally. -strict makes remote failures fail the build
// instead, for pipelines where a silent fallback would hide a broken setup.
// It has no effect without a remote. -remote names an OCI registry
// repository (registry.example.com/team/gocache): each output is a blob
// named by its SHA-256, each action a tag go-<action ID> on a small
// manifest, and credentials come from the Docker keychain. hoist sets
// GOCACHEPROG this way itself when HOIST_CACHE is set.
//
// Exit status: 0 after the go command closes the cache (or its input ends);
// 1 when serving or writing the stats fails, or in strict mode when the
// remote failed; 2 for bad usage.
package main
