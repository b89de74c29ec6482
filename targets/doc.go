// Package targets is hoist's mage layer: typed targets that another
// repository imports with one line in its magefile.
//
//	//go:build mage
//
//	package main
//
//	import (
//		//mage:import
//		_ "github.com/hoistdev/hoist/targets"
//	)
//
// The targets are thin: each reads the configuration once, calls a core
// package and returns its error. Conventions are discovered from the
// repository; a magefile changes them in Go with [Configure]. Only targets
// are exported here (plus Configure, which mage ignores because its
// signature is not a target's), since mage turns every exported function
// of an imported package into a target.
package targets
