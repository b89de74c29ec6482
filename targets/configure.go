package targets

import (
	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// Configure registers a change to hoist's configuration, applied after the
// defaults and before environment overrides. Call it from an init function
// in a magefile:
//
//	func init() {
//		targets.Configure(func(c *config.Config) {
//			c.Platforms = []string{"linux/amd64", "linux/arm/v7"}
//		})
//	}
//
// mage does not list Configure as a target: its parameter is not a type a
// target can take.
func Configure(fn func(*config.Config)) { session.Configure(fn) }
