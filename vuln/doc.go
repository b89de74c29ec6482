// Package vuln is the release's vulnerability gate: it runs govulncheck
// (golang.org/x/vuln/scan, inside this process) over the main packages a
// release ships, at symbol level, and sorts what it finds.
//
// A vulnerability is Called when a vulnerable function is reachable from a
// released binary's entry point (govulncheck gives the call path), Imported
// when a vulnerable package is linked but none of its vulnerable functions
// is reachable, and Required when only the module is in the build list.
// Gate fails on Called findings only, unless an Allow entry (an ID, a
// reason, an expiry date) accepts one knowingly; an expired entry fails
// the gate too, so that an exception cannot outlive its review.
//
// The database is the public Go vulnerability database by default. Where
// that cannot be reached but a Go module proxy can (an air-gapped CI with
// an Athens or Artifactory proxy), ModuleDB builds the same database, in
// its documented v1 layout, from the golang.org/x/vulndb module the proxy
// serves. An unreachable database is an error that says so: the gate never
// passes by default.
package vuln
