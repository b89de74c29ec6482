//go:build mage

package main

import (
	// The docker:* targets talk to the Docker Engine API; they live in their
	// own package so that projects without Docker never compile its client.
	//mage:import
	_ "github.com/hoistdev/hoist/targets/docker"
)
