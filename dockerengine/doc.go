// Package dockerengine drives a local Docker Engine through its HTTP API:
// it loads image tarballs that hoist wrote without a daemon, builds the
// repository's Dockerfile, and smoke-runs an image to prove it starts,
// turns healthy and reports the version it was built with.
//
// hoist's main image path needs no daemon at all. This package exists for
// the teams that still want the Docker path: `docker run` on a developer
// machine, compose files, or a Dockerfile kept for compatibility. It is a
// package of its own because the Engine client brings a large dependency
// tree (moby, containerd error types, OpenTelemetry) that nothing else in
// hoist should have to compile.
//
// Every call talks to the daemon through github.com/moby/moby/client; the
// docker CLI is never executed. The API version is negotiated on connect,
// so daemons from Docker 19.03 (API 1.40) onwards work.
//
// The package reads no environment variables. Callers that want the usual
// DOCKER_HOST / DOCKER_TLS_VERIFY behaviour pass the matching client
// options through [WithClientOpts]; the mage layer builds them from the
// session's environment, as client.FromEnv would from the process's.
package dockerengine
