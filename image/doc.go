// Package image turns binaries that hoist has already cross-compiled into a
// multi-platform OCI image, without a Docker daemon and without compiling
// anything a second time.
//
// Build takes one [Binary] per compiled file, places them under
// /usr/local/bin on a base image (by default a tiny built-in base generated in
// code, see [BuiltinBaseName]), and returns an OCI image index with one image
// per linux platform. The result is reproducible: the same binaries and the
// same [Config] give the same index digest, because every timestamp comes from
// Config.Created and every tar header is normalised.
//
// The result can be written offline as an OCI image layout ([WriteLayout]) so
// that a later process can push it ([ReadLayout]), or as a tarball that
// `docker load` accepts ([WriteTarball]).
//
// The package never imports mage and never reads environment variables: the
// mage layer reads its knobs at the edge and passes plain values in.
package image
