// Command hoist-registry serves hoist's embedded, persistent OCI registry.
//
// Usage:
//
//	hoist-registry [-addr localhost:5000] [-data DIR] [-v]
//
// It stores images under DIR (by default $HOIST_REGISTRY_DATA,
// $XDG_DATA_HOME/hoist/registry or ~/.local/share/hoist/registry), listens on
// a loopback address, and once listening prints exactly one line on stdout:
//
//	hoist-registry listening on http://HOST:PORT data=DIR
//
// Parents such as github.com/hoistdev/hoist/registry wait for that line. If
// another hoist-registry already serves DIR, it prints instead
//
//	hoist-registry already running on http://HOST:PORT data=DIR pid=PID
//
// and exits with status 1. Logs go to stderr only with -v. SIGINT and
// SIGTERM drain in-flight requests and exit with status 0.
//
// hoist runs it as `go tool hoist-registry`, which keeps the registry's
// large dependency tree out of mage binaries.
package main
