// Package registry is the parent side of hoist's embedded registry: it finds
// the machine-wide data directory, starts the hoist-registry command as a
// child process, waits until it serves, and stops it again.
//
// The registry itself (github.com/hoistdev/hoist/registry/server) is built on
// the distribution project, whose dependency tree costs tens of seconds of
// compile time. Running it as a separate `go tool hoist-registry` keeps that
// cost out of every mage binary: this package imports none of it, and a test
// enforces that.
//
// The child prints one line on stdout once it listens,
//
//	hoist-registry listening on http://HOST:PORT data=DIR
//
// which [Start] waits for. When the data dir is already served by another
// live hoist-registry, the child instead prints
//
//	hoist-registry already running on http://HOST:PORT data=DIR pid=PID
//
// and Start returns an [*InUseError] naming that instance, so callers can use
// it rather than fail.
package registry
