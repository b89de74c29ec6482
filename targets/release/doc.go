// Package release holds the release:* mage targets: snapshot, plan, verify
// and an explicit-level release. It is separate from package targets only
// because Go cannot have a function and a type both named Release in one
// package, and mage needs the function for `release` and the type for
// `release:*`. Import both:
//
//	//mage:import
//	_ "github.com/hoistdev/hoist/targets"
//	//mage:import
//	_ "github.com/hoistdev/hoist/targets/release"
package release
