package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hoistdev/hoist/internal/lockfile"
)

// LockFile is the name of the file in the data dir that a running server
// holds locked and in which it publishes its pid and address.
const LockFile = "hoist-registry.lock"

// InUseError reports that another live process already serves the data dir.
// Callers can use Addr to talk to that instance instead of starting one.
type InUseError struct {
	// DataDir is the contested directory.
	DataDir string
	// PID is the owner's process id, or 0 if it has not published it yet.
	PID int
	// Addr is the owner's host:port, or "" while it is still starting.
	Addr string
}

func (e *InUseError) Error() string {
	if e.Addr == "" {
		return fmt.Sprintf("data dir %s is locked by another hoist-registry that is still starting (pid %d); "+
			"wait for it, or pass a different data dir", e.DataDir, e.PID)
	}
	return fmt.Sprintf("data dir %s is already served by hoist-registry pid %d on http://%s; "+
		"use that registry, stop it, or pass a different data dir", e.DataDir, e.PID, e.Addr)
}

// lockInfo is what a running server writes into its lock file.
type lockInfo struct {
	PID  int    `json:"pid"`
	Addr string `json:"addr"`
}

// dirLock is an exclusive advisory lock on LockFile. The operating system
// drops it when the process dies, so a stale file never blocks a restart.
type dirLock struct {
	f *os.File
}

func lockDataDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	held, err := lockfile.TryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !held {
		defer f.Close()
		inUse := &InUseError{DataDir: dir}
		var info lockInfo
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &info) == nil {
			inUse.PID, inUse.Addr = info.PID, info.Addr
		}
		return nil, inUse
	}
	return &dirLock{f: f}, nil
}

// publish records who holds the lock so a refused second instance can name it.
func (l *dirLock) publish(info lockInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if _, err := l.f.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

// release clears the published owner and unlocks. The file itself stays:
// removing it could let two processes lock two different inodes.
func (l *dirLock) release() error {
	return errors.Join(l.f.Truncate(0), l.f.Close())
}
