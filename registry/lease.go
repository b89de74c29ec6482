package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/lockfile"
)

// leaseDir holds one file per process using the registry of a data dir.
const leaseDir = "leases"

// Lease says that this process is using the registry that serves a data
// directory, so that the process which started that registry does not stop
// it underneath: [Process.Stop] waits while anyone else holds a lease. A
// lease is an advisory lock on a file under <data>/leases, which the kernel
// drops when its holder dies, so a run that crashed never keeps the
// registry alive.
type Lease struct {
	lock *lockfile.Lock
	path string
}

// TakeLease takes a lease on the registry of dataDir. Take it before
// starting or finding the registry, so that a registry about to stop
// already sees it.
func TakeLease(dataDir string) (*Lease, error) {
	path := filepath.Join(dataDir, leaseDir, fmt.Sprintf("%d-%s.lock", os.Getpid(), strings.ToLower(rand.Text()[:8])))
	l, err := lockfile.Acquire(path, lockfile.Holder{PID: os.Getpid(), What: "push"})
	if err != nil {
		return nil, fmt.Errorf("take a lease on the embedded registry in %s: %w", dataDir, err)
	}
	return &Lease{lock: l, path: path}, nil
}

// Release gives the lease back.
func (l *Lease) Release() error {
	if l == nil {
		return nil
	}
	err := l.lock.Release()
	if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// othersLeasing counts the live leases on dataDir's registry, removing the
// files of holders that died.
func othersLeasing(dataDir string) int {
	files, _ := filepath.Glob(filepath.Join(dataDir, leaseDir, "*.lock"))
	n := 0
	for _, f := range files {
		l, err := lockfile.Acquire(f, lockfile.Holder{PID: os.Getpid(), What: "probe"})
		if err != nil {
			n++ // held: its holder is alive
			continue
		}
		_ = l.Release()
		_ = os.Remove(f)
	}
	return n
}

// waitForLeases blocks while other processes hold leases on dataDir, or
// until ctx ends, telling note how many it waits for whenever that
// changes.
func waitForLeases(ctx context.Context, dataDir string, note func(int)) {
	last := -1
	for {
		n := othersLeasing(dataDir)
		if n == 0 {
			return
		}
		if n != last && note != nil {
			note(n)
		}
		last = n
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}
