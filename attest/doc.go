// Package attest writes the in-toto statements a release publishes about
// what it built: the SLSA v1 provenance of every output, the SPDX SBOM of an
// image as a statement, and the statement cosign signs to sign an image.
//
// Statements are plain JSON with a fixed field order and no wall-clock
// time, so the same release gives byte-identical statements; signed by
// package sign, they become the DSSE envelopes attached to images and
// written next to checksums.txt.
//
// The provenance's build parameters are read back from the binaries' own
// Go build information (the Go version, -trimpath, -ldflags with the
// stamped variables, CGO_ENABLED, GOOS, GOARCH, ...) rather than from what
// hoist meant to pass, so the statement says what the compiler was told.
// The build type it names is documented in docs/supply-chain.md.
package attest
