//go:build mage

// hoist ships Go services with typed targets: build, image, push and release.
// This magefile is wiring only; the targets live in package targets.
package main

import (
	"time"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/image"
	//mage:import
	"github.com/hoistdev/hoist/targets"
)

// Aliases gives the README's short commands.
var Aliases = map[string]any{
	"test":  targets.Go.Test,
	"build": targets.Go.Build,
	"bench": targets.Go.Bench,
}

func init() {
	targets.Configure(func(c *config.Config) {
		// hoist ships the reference service; cmd/hoist-registry is a tool
		// hoist runs, not a product of this repository's release.
		c.Mains = []string{"./cmd/web"}
		c.Name = "web"
		c.Image.Ports = []string{"8080/tcp"}
		c.Image.Healthcheck = &image.Healthcheck{Interval: 30 * time.Second, Timeout: 3 * time.Second, StartPeriod: 5 * time.Second, Retries: 3}
	})
}
