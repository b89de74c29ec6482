//go:build mage

package main

import (
	// The release:* targets (snapshot, plan, verify, level) live in their own
	// package because Go cannot hold a function and a type both named
	// Release in one package; the one-command `release` comes with targets.
	//mage:import
	_ "github.com/hoistdev/hoist/targets/release"
)
