// Web is the reference HTTP service that hoist builds, packages and ships.
//
// It is deliberately small, so that it reads as a template for a
// production-shaped Go service: structured JSON logs, liveness and readiness
// endpoints, server timeouts, graceful shutdown on SIGTERM and a built-in
// health probe for images that carry no shell or curl.
//
// Routes:
//
//	GET /         plain-text greeting with the running version
//	GET /healthz  liveness: 200 "ok" while the process serves HTTP
//	GET /readyz   readiness: 200 while serving, 503 once shutdown has begun
//	GET /version  build metadata as JSON
//
// Usage:
//
//	web [-addr host:port] [-drain-delay 0s] [-shutdown-timeout 10s]
//	web -healthcheck [-addr host:port]
//	web -version
//
// The listen address comes from -addr, else $ADDR, else ":"+$PORT, else
// ":8080". -healthcheck resolves the address the same way, so a container
// HEALTHCHECK that runs "web -healthcheck" probes the server it runs beside.
//
// On SIGTERM or SIGINT /readyz turns 503 at once; with -drain-delay (or
// $DRAIN_DELAY) the server goes on serving for that long, so a load
// balancer that watches /readyz stops sending before the listener closes,
// then it waits up to -shutdown-timeout for in-flight requests.
//
// version, commit and date are meant to be set at link time, for example
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=abc123 -X main.date=2025-01-02T03:04:05Z"
//
// hoist finds these variables by name, so they must keep these names.
package main
