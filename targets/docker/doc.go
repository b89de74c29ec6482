// Package docker is hoist's mage layer for a local Docker Engine: it loads
// the daemonless image into the daemon, builds the repository's Dockerfile,
// smoke-runs either image, and starts or stops a development container.
//
// A magefile imports it with one line:
//
//	import (
//		//mage:import
//		_ "github.com/hoistdev/hoist/targets/docker"
//	)
//
// It is a package of its own, apart from package targets, so that a project
// without Docker never compiles the Engine client and its dependencies.
// Everything goes through the Engine API (package dockerengine and the moby
// client); the docker CLI and the compose binary are never run.
//
// The daemon is chosen the way the docker CLI chooses it: DOCKER_HOST,
// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_API_VERSION, read through
// the session like every other knob, else the local socket. Only targets
// are exported, because mage turns every exported function of an imported
// package into a target.
package docker
