// Package gocache is the engine of a GOCACHEPROG program: the go command
// hands its build cache to a child process that speaks a line-based JSON
// protocol on stdin and stdout (see cmd/go/internal/cacheprog), and this
// package answers that protocol from two tiers.
//
// The local tier is a directory. Outputs are stored under their OutputID,
// which the go command computes as the SHA-256 of the content, and action
// entries (OutputID, size, time) under their ActionID. Every file is written
// beside its final name and renamed into place, so a reader never sees half
// of one, and the paths handed to the go command stay valid until it closes
// the cache.
//
// The optional remote tier is shared between machines, for example CI
// runners pushing to one OCI registry. A local miss asks the remote; what it
// returns is checked against its SHA-256 before use, so a corrupt or
// tampered entry costs a rebuild, never a wrong build. Puts answer as soon
// as the local copy exists and upload in the background; "close" waits a
// bounded time for those uploads.
//
// A remote is a convenience, not a dependency: by default the first remote
// failure is logged once and the rest of the run builds locally. Strict mode
// turns remote failures into errors the go command reports, for runs where
// a silent fallback would hide a broken setup.
package gocache
