package targets

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/targets/internal/session"
)

// Cache groups the shared build cache targets (HOIST_CACHE).
type Cache mg.Namespace

// Stats reports what the last run that used the shared cache did with it:
// hits (local and from the registry), misses, and bytes each way, for the
// Go build cache (every go command, through hoist-cache) and for hoist's
// own records of binaries, packages and images.
func (Cache) Stats(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return s.CacheStats(ctx)
}

// Prune trims the local tier of the shared Go build cache: entries unused
// for HOIST_CACHE_MAX_AGE (default 720h), then the least recently used
// until it is under HOIST_CACHE_MAX_SIZE (default no limit). The registry
// tier is pruned with the registry's own tools; see docs/consumers.md.
func (Cache) Prune(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	return s.PruneCache(ctx, s.Env.CacheMaxAge, s.Env.CacheMaxSize)
}
