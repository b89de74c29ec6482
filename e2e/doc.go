// Package e2e proves that hoist's targets work in repositories hoist did not
// design. It holds tests only.
//
// Each test writes a throwaway consumer repository into a temporary
// directory, laid out the way docs/consumers.md recommends: the service's
// own go.mod at the root, and the magefile in magefiles/ with a go.mod of
// its own that requires hoist (through a replace pointing at this
// checkout), pins mage and hoist-registry as tools, and keeps hoist's
// dependencies out of the service. The tests then drive the real mage CLI,
// `go tool -C magefiles mage -w .. TARGET`, and inspect what lands on disk:
// binaries and the version stamped into them, the OCI layout and its
// layers, dist/release.json, checksums.txt and the embedded registry's
// store.
//
// The first test builds a template magefiles module with `go mod tidy`;
// every consumer copies it, so the module proxy is needed at most once and
// the consumers run with GOPROXY=off. Each consumer compiles its magefile
// once (mage's cache, with MAGEFILE_HASHFAST, is per consumer).
// `go test -short` skips the slowest scenarios.
package e2e
