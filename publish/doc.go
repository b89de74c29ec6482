// Package publish sends images built by hoist to one or more OCI registries.
//
// Everything is addressed by digest. A push first uploads the blobs a
// registry lacks, then the platform manifests, then the index, each under its
// digest, and only after all of that has succeeded does it move the tags. A
// push that fails part-way therefore never leaves a tag naming a manifest the
// registry does not hold, and running it again converges: blobs and manifests
// already present are detected and skipped.
//
// The package also holds the pieces a release needs around a push: Check
// tests reachability and push rights before any work is done, Verify pulls a
// pushed digest back and validates it, and PushImage with AssembleIndex
// support CI jobs that build one platform per runner and merge the results
// into a single index afterwards. Attach hangs OCI 1.1 artifacts such as
// signatures and attestations on a pushed manifest, Referrers finds them
// again, and Detach takes them off when a later release step fails; on
// registries without the referrers API they go through the referrers tag.
//
// Transport policy is deliberately strict. Plain HTTP is only spoken to
// loopback registries (localhost, 127.0.0.0/8, ::1) unless a host is named
// with WithInsecure; every other registry must present a certificate that
// verifies. Credentials come from the Docker config keychain by default and
// are never written to progress output or logs.
//
// The package is silent unless a progress writer or a logger is passed in,
// and it reads no environment variables of its own: the mage layer resolves
// settings and hands them over as options.
package publish
