package targets

import (
	"context"

	"github.com/magefile/mage/mg"
)

// Release publishes a release: tidy check, vet, test, build, image, push.
//
// It runs go mod tidy in check mode, go vet, go test with the coverage
// gate, the cross-compile, the OCI image and the push (to the embedded
// registry when none is configured), in that order, stopping at the first
// failure. The version bump and the tag join as they land.
func Release(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, tidyCheck, Go.Vet, Go.Test, Go.Build, Image.Build, Image.Push)
	return nil
}
