package gocache

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrMiss is what Remote.Get returns, possibly wrapped, when the remote
// holds nothing under an action ID. Any other error counts as a remote
// failure.
var ErrMiss = errors.New("not in the remote cache")

// Entry describes the output stored under an action ID.
type Entry struct {
	// OutputID names the output. The go command sets it to the SHA-256 of
	// the content, and the cache trusts a remote's content only when its
	// SHA-256 equals OutputID.
	OutputID []byte
	// Size is the content's length in bytes.
	Size int64
	// Time is when the entry was first stored. The go command uses it to
	// expire cached test results.
	Time time.Time
}

// Remote is a cache tier shared between machines. Action IDs and output
// IDs are opaque byte strings (32 bytes from today's go command); an
// implementation typically names things by their hex encoding.
//
// Both methods may be called concurrently. They must honour ctx: the cache
// cancels calls that outlive its remote timeout or the end of serving.
type Remote interface {
	// Get returns the entry stored under actionID and a reader of its
	// output, which the caller closes. A missing entry is ErrMiss. The
	// caller checks the content against e.OutputID, so Get need not.
	Get(ctx context.Context, actionID []byte) (e Entry, body io.ReadCloser, err error)

	// Put stores body, e.Size bytes whose SHA-256 is e.OutputID, under
	// actionID. Storing what the remote already holds must succeed. The
	// cache passes an *os.File open on its local copy, positioned at the
	// start, so implementations that need a path or random access may use
	// its Name; it stays valid until Put returns.
	Put(ctx context.Context, actionID []byte, e Entry, body io.Reader) error
}
