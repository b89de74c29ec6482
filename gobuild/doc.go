// Package gobuild runs the Go side of a release: cross-compiling every main
// package for a platform matrix with the version stamped in, and the tidy,
// vet and test gates that come before it.
//
// Builds are reproducible (CGO off, -trimpath, no VCS stamping, the commit
// time as the date) and incremental in an honest way: each binary's inputs
// (the source files it compiles, go.mod and go.sum, the flags, the stamp and
// the Go version) are hashed into a record kept beside the output. A rerun
// with equal inputs does not start the compiler, and every line of output
// says why a binary was skipped or rebuilt. File modification times play no
// part, unlike mage's target package.
package gobuild
