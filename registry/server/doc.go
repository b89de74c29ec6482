// Package server runs hoist's embedded registry: the CNCF distribution
// registry used as a library, storing blobs and manifests in a plain
// directory so that images pushed today are still there after a restart.
//
// The package exists for the hoist-registry command. distribution drags in a
// large dependency tree (storage drivers for every cloud, redis, otel), so
// hoist never links this package into mage binaries: the parent side lives in
// the light github.com/hoistdev/hoist/registry package, which starts
// hoist-registry as a child process.
//
// The server is deliberately narrow: plain HTTP, no auth, deletes enabled,
// filesystem storage, and a loopback listen address unless the caller opts
// out with [WithAllowRemote]. It is silent unless [WithLogger] is given, and
// it never initialises distribution's OpenTelemetry exporters, so no
// OTEL_* variable in the environment can make it dial a collector.
//
// One data directory serves one process at a time: [New] takes an advisory
// lock in the directory and reports the running owner as an [*InUseError].
package server
