package config

// Size configures the artifact-size budget: every release records the size
// of each binary, archive and image (compressed layers, per platform) in
// its git tag, and the next release fails when one of them grows past its
// budget over the previous release's record.
type Size struct {
	// Off skips the size gate. Env: HOIST_SIZE_BUDGET=off.
	Off bool
	// Budget is the growth allowed over the previous release, in percent.
	// Env: HOIST_SIZE_BUDGET (e.g. 15 or 15%). Default: 10.
	Budget float64
	// Budgets overrides Budget for the artifacts whose key matches a
	// pattern, where * matches anything. Keys read "binary web linux/amd64",
	// "archive linux/amd64", "image linux/amd64"; for example
	// {"image *": 25, "binary * windows/*": 15}. The first matching pattern
	// in sorted order wins.
	Budgets map[string]float64
}

// DefaultSizeBudget is Size.Budget when it is left zero.
const DefaultSizeBudget = 10
