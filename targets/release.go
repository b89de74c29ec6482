package targets

import (
	"context"

	"github.com/magefile/mage/mg"
)

// Release publishes a release: tidy check, vet, test, then build.
//
// Today it runs go mod tidy in check mode, go vet, go test with the
// coverage gate and the cross-compile, in that order, stopping at the first
// failure. Image, push, version bump and tag steps join as they land.
func Release(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, tidyCheck, Go.Vet, Go.Test, Go.Build)
	return nil
}
