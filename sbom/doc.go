// Package sbom writes a software bill of materials for each Go binary a
// release ships, as an SPDX 2.3 JSON document.
//
// Everything in the document comes from the build information the Go
// linker embeds in every module-aware binary (what `go version -m`
// prints): the main module, each dependency module with its version and
// go.sum hash, the Go toolchain, and the build settings. Reading the
// binary rather than go.mod means the SBOM lists exactly what was linked
// in, not what the module graph could pull in, and it works for binaries
// built elsewhere.
//
// The documents are reproducible. The namespace is derived from the
// binary's name, version and SHA-256 instead of a random UUID, and the
// creation time is an option (the commit time in a release; the Unix
// epoch by default), so two runs over the same binary give the same bytes.
//
// Build settings are recorded from an allow-list. The CGO_CFLAGS family
// is left out: those values are copied verbatim from the builder's
// environment, and environment values never belong in a published
// artifact. -ldflags is kept (Go itself only records it for builds without
// -trimpath) because it is part of how the binary was made. Licenses are
// NOASSERTION: build information does not carry them.
package sbom
