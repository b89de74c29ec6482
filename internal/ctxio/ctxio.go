// Package ctxio stops long copies when their context ends, so that
// cancelling a release does not wait for a large binary to finish hashing,
// compressing or archiving.
package ctxio

import (
	"context"
	"io"
)

// Reader reads from R until Ctx is done, then fails with Ctx's error.
type Reader struct {
	Ctx context.Context
	R   io.Reader
}

func (c Reader) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}
