// Package checksum hashes release artifacts with SHA-256 and writes the
// checksums.txt that ships next to them.
//
// The file uses the format GNU coreutils prints and checks, one
// "<64 lowercase hex digits><two spaces><path>" line per artifact, so users
// verify a download with a plain `sha256sum -c checksums.txt` (or
// `shasum -a 256 -c`) run in the directory that holds the file. Lines are
// sorted by path and paths are relative to that directory with forward
// slashes, which keeps the file byte-identical across runs and machines.
package checksum
