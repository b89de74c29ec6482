// Package sbom writes software bills of materials as SPDX 2.3 JSON
// documents: one per Go binary a release ships (Generate, Write), and one
// per container image it pushes (GenerateImage, GenerateIndex), for the
// image's signed attestation.
//
// Everything in a binary's document comes from the build information the Go
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
//
// An image SBOM is read from the image's layers, stacked as a container
// runtime stacks them: OCI whiteouts and opaque directories hide what they
// delete, so the document lists exactly the regular files a container
// sees, each with its SHA-1 (which SPDX 2.3 requires) and SHA-256. Every
// Go binary among them is described as the per-binary SBOM describes it,
// by the same code; the OS packages come from dpkg's status file (or
// distroless's status.d) and apk's installed database, with the
// distribution from os-release; the base image comes from the
// org.opencontainers.image.base.* annotations. What no database records,
// such as the CA roots of hoist's built-in base, the caller names with
// WithComponents.
//
// Each layer is read once into a scan of its own: every entry in order,
// each regular file hashed as it streams by, the build information of
// each Go binary and the content of each package database. Stacking the
// scans from the top down then gives the image's files without reading
// anything again, so a layer that several images share (the base of every
// platform, or the same image described in an index SBOM and in its own)
// is read only once when the calls share a Scanner (WithScanner), and not
// at all when a Scanner's directory already holds its scan from an
// earlier run. Only package databases, and files that start like an
// executable (while their build information is read), are held in memory.
// Gzip layers are inflated by klauspost/compress, faster than the
// standard library, on a goroutine of their own that overlaps with
// hashing.
// Identical images and options give identical documents, and EncodeJSON
// identical bytes: ids, files and packages follow path and name order,
// and the only time in the document is WithCreated's.
package sbom
