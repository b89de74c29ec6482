package config

// Cache configures the build cache that CI runners share through a
// registry: the Go build cache (go build and go test, through GOCACHEPROG
// and hoist-cache) and hoist's own build records, so that a fresh runner
// restores what another one built from the same inputs.
type Cache struct {
	// Repository is the registry repository the cache lives in, such as
	// registry.example.com/team/gocache; credentials come from the Docker
	// keychain. Env: HOIST_CACHE. Default: none, nothing is shared.
	Repository string
	// Strict fails a build when the cache cannot be read or written,
	// instead of building locally with a warning. Env: HOIST_CACHE_STRICT=1.
	Strict bool
	// Dir is the local tier in front of the registry. Default:
	// XDG_CACHE_HOME/hoist/gocache, else ~/.cache/hoist/gocache.
	Dir string
	// Push says who stores results in the cache: CachePushCI (the default)
	// stores from CI runners (CI set) and only reads elsewhere,
	// CachePushAlways and CachePushNever do what they say. Whoever can
	// store can change what a later run restores, release included, so
	// store from machines you trust. Env: HOIST_CACHE_PUSH=1 or 0.
	Push string
}

// The values of Cache.Push.
const (
	CachePushCI     = "ci"
	CachePushAlways = "always"
	CachePushNever  = "never"
)

// Pushes reports whether this run stores results in the cache; ci says
// whether it runs on CI.
func (c Cache) Pushes(ci bool) bool {
	switch c.Push {
	case CachePushAlways:
		return true
	case CachePushNever:
		return false
	}
	return ci
}
