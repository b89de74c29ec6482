// Package lockfile gives a process exclusive use of something (a
// repository's release, a dist/ directory, a registry's data) through an
// advisory lock on a file, with the holder's pid and purpose written into
// it so that a refused process can say who is in the way. The operating
// system drops the lock when its holder dies, so a lock left by a killed
// run never blocks the next one.
package lockfile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Holder says who holds a lock.
type Holder struct {
	// PID is the holder's process id.
	PID int `json:"pid"`
	// What names what the holder is doing, such as "release" or an address.
	What string `json:"what,omitempty"`
	// Since is when the holder took the lock.
	Since time.Time `json:"since"`
}

// HeldError reports that another live process holds the lock.
type HeldError struct {
	// Path is the lock file.
	Path string
	// Holder is who holds it, as far as its file tells; zero while the
	// holder is still writing it.
	Holder Holder
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is held by pid %d (%s) since %s", e.Path, e.Holder.PID, e.Holder.What, e.Holder.Since.Format(time.RFC3339))
}

// TryLock takes an exclusive advisory lock on f without waiting; held is
// false when another process owns it. It is the primitive under Acquire,
// for a caller that keeps its own format in the file.
func TryLock(f *os.File) (held bool, err error) { return tryLock(f) }

// Lock is a held lock.
type Lock struct {
	f *os.File
}

// Acquire takes the lock at path without waiting, creating the file and
// its directory when needed, and writes h into it. When another process
// holds it the error is a *HeldError naming that process.
func Acquire(path string, h Holder) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !held {
		defer f.Close()
		he := &HeldError{Path: path}
		if data, err := os.ReadFile(path); err == nil {
			_ = json.Unmarshal(data, &he.Holder)
		}
		return nil, he
	}
	if h.Since.IsZero() {
		h.Since = time.Now().UTC()
	}
	data, _ := json.Marshal(h)
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if _, err := f.WriteAt(append(data, '\n'), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Wait is Acquire that waits while another process holds the lock,
// trying again every 100 ms until it is free or ctx ends (then the error is
// ctx's cause). held, when not nil, is told once who is in the way, so the
// caller can say why it waits.
func Wait(ctx context.Context, path string, h Holder, held func(Holder)) (*Lock, error) {
	told := false
	for {
		l, err := Acquire(path, h)
		var he *HeldError
		if !errors.As(err, &he) {
			return l, err
		}
		if !told && held != nil {
			held(he.Holder)
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Release clears the holder and unlocks. The file stays: removing it could
// let two processes lock two different files of the same name.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := errors.Join(l.f.Truncate(0), l.f.Close())
	l.f = nil
	return err
}
