package ctxio

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := Reader{ctx, strings.NewReader(strings.Repeat("x", 100))}
	if n, err := r.Read(make([]byte, 10)); n != 10 || err != nil {
		t.Fatalf("Read() = %d, %v, want 10, nil", n, err)
	}
	cancel()
	if n, err := r.Read(make([]byte, 10)); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("Read() after cancel = %d, %v, want 0, context.Canceled", n, err)
	}
}
