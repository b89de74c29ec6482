package config

import "time"

// ModuleVulnDB, as Vuln.DB, reads the Go vulnerability database from the
// golang.org/x/vulndb module through the Go module proxy; "module@VERSION"
// pins a version of it.
const ModuleVulnDB = "module"

// Vuln configures the vulnerability gate that runs after the tests:
// govulncheck over the released main packages, failing the release when a
// vulnerable function is reachable.
type Vuln struct {
	// Off skips the gate; the plan and release.json record that it was
	// skipped on purpose. Env: HOIST_VULN=off.
	Off bool
	// DB is the vulnerability database: an https:// URL, a file:///
	// directory in the database's v1 layout, or ModuleVulnDB for the
	// database published in golang.org/x/vulndb, fetched through GOPROXY
	// (for CI that reaches a module proxy but not vuln.go.dev). Env:
	// HOIST_VULN_DB. Default: https://vuln.go.dev.
	DB string
	// Allow accepts reachable vulnerabilities knowingly.
	Allow []VulnAllow
}

// VulnAllow accepts one vulnerability until a date.
type VulnAllow struct {
	// ID is the GO-… identifier, or one of its CVE or GHSA aliases.
	ID string
	// Reason says why it is acceptable. Required.
	Reason string
	// Until is the last day the exception holds; after it the gate fails
	// again. Required.
	Until time.Time
}
