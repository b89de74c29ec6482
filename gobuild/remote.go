package gobuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Remote keeps built binaries where another machine finds them, under a
// key of everything a binary is built from, so that a fresh CI runner
// restores what another runner compiled from the same inputs instead of
// compiling it again.
type Remote interface {
	// Restore writes the binary stored under key to dst and returns its
	// SHA-256 (hex) and size. ok is false when nothing usable is stored:
	// a miss, content that does not match its digest, or a store that
	// cannot be reached (the build then goes on locally). An error fails
	// the build: a remote in strict mode returns one instead of falling
	// back.
	Restore(ctx context.Context, key, dst string) (sum string, size int64, ok bool, err error)
	// Save stores the binary at src under key. An error fails the build;
	// a remote that is not strict reports its failures and returns nil.
	Save(ctx context.Context, key, src, sum string, size int64) error
}

// WithRemote restores binaries from r when their inputs match what r
// stores, and saves what this build compiles to it. Default: none.
func WithRemote(r Remote) Option { return func(o *options) { o.remote = r } }

// remoteKey names a binary's inputs independently of the machine: the Go
// version, the go build flags (without the output path), the environment
// hoist sets, the stamp, every source file's digest by its path in the
// module, and which package it is for which platform.
func remoteKey(now record, pkg, name, plat string, flags []string) string {
	data, _ := json.Marshal(struct {
		V         int               `json:"v"`
		GoVersion string            `json:"go"`
		Flags     []string          `json:"flags"`
		Env       []string          `json:"env"`
		Stamp     Stamp             `json:"stamp"`
		Sources   map[string]string `json:"sources"`
		Pkg       string            `json:"pkg"`
		Name      string            `json:"name"`
		Platform  string            `json:"platform"`
	}{1, now.GoVersion, flags, now.Env, now.Stamp, now.Sources, pkg, name, plat})
	sum := sha256.Sum256(data)
	return "bin-" + hex.EncodeToString(sum[:])
}
