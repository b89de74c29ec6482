//go:build mage

package main

// The release pipeline is targets.Release, imported in build.go; hoist's own
// configuration keeps every convention, so there is nothing to set here.
