package lockfile

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAcquire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.lock")
	l, err := Acquire(path, Holder{PID: os.Getpid(), What: "first"})
	if err != nil {
		t.Fatal(err)
	}
	// A second open file description is refused, as another process is.
	_, err = Acquire(path, Holder{PID: 1, What: "second"})
	var held *HeldError
	if !errors.As(err, &held) || held.Holder.What != "first" || held.Holder.PID != os.Getpid() {
		t.Fatalf("Acquire(held) = %v, want a HeldError naming the first holder", err)
	}
	if !strings.Contains(err.Error(), "first") {
		t.Errorf("HeldError = %q, want the holder's purpose", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(path, Holder{PID: 2, What: "again"})
	if err != nil {
		t.Fatalf("Acquire after Release = %v", err)
	}
	l2.Release()
	if err := (*Lock)(nil).Release(); err != nil {
		t.Errorf("nil Release = %v", err)
	}
}

// TestWait: Wait returns once the holder releases, says once who held
// it, and gives up with ctx's cause.
func TestWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	first, err := Acquire(path, Holder{PID: os.Getpid(), What: "first"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeoutCause(t.Context(), 300*time.Millisecond, errors.New("gave up"))
	defer cancel()
	if _, err := Wait(ctx, path, Holder{PID: 2}, nil); err == nil || err.Error() != "gave up" {
		t.Fatalf("Wait(held until ctx ends) = %v, want ctx's cause", err)
	}
	time.AfterFunc(200*time.Millisecond, func() { first.Release() })
	var told []string
	l, err := Wait(t.Context(), path, Holder{PID: 3, What: "second"}, func(h Holder) { told = append(told, h.What) })
	if err != nil {
		t.Fatalf("Wait(released after 200ms) = %v", err)
	}
	l.Release()
	if len(told) != 1 || told[0] != "first" {
		t.Errorf("held was told %v, want once, naming first", told)
	}
}

// TestKilledHolder shows that a lock held by a process that was killed is
// free again: the kernel drops it, whatever the file still says.
func TestKilledHolder(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) is not installed")
	}
	path := filepath.Join(t.TempDir(), "x.lock")
	os.WriteFile(path, []byte(`{"pid":99999,"what":"gone"}`), 0o644)
	cmd := exec.Command("flock", "-x", "-o", path, "sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the child holds it.
	for i := 0; ; i++ {
		l, err := Acquire(path, Holder{PID: os.Getpid()})
		if err != nil {
			break
		}
		l.Release()
		if i > 200 {
			t.Fatal("flock(1) never took the lock")
		}
		exec.Command("sleep", "0.02").Run()
	}
	cmd.Process.Kill()
	cmd.Wait()
	// flock(1) forks the command before closing its copy of the file in
	// the child, so the lock can outlive it by an instant.
	var err error
	for i := 0; i < 100; i++ {
		var l *Lock
		if l, err = Acquire(path, Holder{PID: os.Getpid(), What: "after"}); err == nil {
			l.Release()
			return
		}
		exec.Command("sleep", "0.02").Run()
	}
	t.Fatalf("Acquire after the holder was killed = %v", err)
}
