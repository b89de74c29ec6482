// Command hoist runs a repository's mage targets from anywhere inside it,
// and writes the magefiles for a repository that has none (hoist init).
//
// It finds magefiles/ (or a magefile with the mage build tag) at the
// working directory or above, compiles them once with the mage that their
// own go.mod requires, keeps the binary in a cache under a key of
// everything it is built from, and then runs it from the repository root:
//
//	go install github.com/hoistdev/hoist/cmd/hoist@latest
//	hoist release:plan
//	hoist -l
//
// A run with nothing changed starts the cached binary directly, without
// running the go command.
//
// hoist init writes the magefiles for a repository that has none, carrying
// over what it can from .goreleaser.yaml and the Dockerfile. See
// docs/consumers.md.
package main

import (
	"context"
	"os"

	"github.com/hoistdev/hoist/internal/launch"
)

func main() {
	os.Exit(launch.Main(context.Background(), ".", os.Args[1:], os.Environ(), os.Stdout, os.Stderr, initCmd))
}
