// Package config holds hoist's typed configuration: everything a consumer
// can set from Go in a magefile, with documented defaults, and the few
// environment overrides CI needs.
//
// Resolution runs in a fixed order: defaults, then conventions discovered in
// the repository, then the consumer's Go settings, then the environment
// (applied through a getenv function passed in at the edge, never read here).
// Validate rejects settings that contradict each other before anything runs.
package config
