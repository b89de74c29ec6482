package session

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/config"
)

// newRepo writes a throwaway module with one main package and commits it.
func newRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"go.mod":          "module example.com/acme/svc\n\ngo 1.26\n",
		"VERSION":         "1.4.0\n",
		"cmd/svc/main.go": "package main\n\nvar version string\n\nfunc main() { println(version) }\n",
	})
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-qm", "feat: first"}} {
		git(t, dir, args...)
	}
	return dir
}

func TestNew(t *testing.T) {
	dir := newRepo(t)
	Configure(func(c *config.Config) { c.Dir = dir; c.Publish.Latest = true })
	t.Cleanup(func() { configurers = nil })
	env := map[string]string{"PLATFORMS": "linux/amd64", "HOIST_FORCE": "1"}
	s, err := New(func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Cfg.Dir != dir || !s.Cfg.Publish.Latest || len(s.Cfg.Platforms) != 1 || !s.Env.Force || s.Proj.Name != "svc" {
		t.Errorf("New() = config %+v, env force %v, project %s; want the magefile's settings and the environment's", s.Cfg, s.Env.Force, s.Proj.Name)
	}
	Use(s)
	if got, err := Load(); got != s || err != nil {
		t.Errorf("Load() after Use = %p, %v; want the session given", got, err)
	}
	for _, tt := range []struct{ key, val, want string }{
		{"PLATFORMS", "plan9", "PLATFORMS"},
		{"BUMP", "sideways", "BUMP"},
		{"SOURCE_DATE_EPOCH", "soon", "SOURCE_DATE_EPOCH"},
	} {
		if _, err := New(func(k string) string { return map[string]string{tt.key: tt.val}[k] }, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%s=%s) = %v, want an error naming %s", tt.key, tt.val, err, tt.want)
		}
	}
	Configure(func(c *config.Config) { c.Jobs = -1 })
	if _, err := New(func(string) string { return "" }, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "Jobs") {
		t.Errorf("New(Jobs -1) = %v", err)
	}
}

func TestGates(t *testing.T) {
	boom := errors.New("boom")
	ok := func(context.Context) error { return nil }
	bad := func(context.Context) error { return boom }
	g := Gates(ok, bad, ok, bad)
	if err := g.Tidy(t.Context()); err != nil {
		t.Errorf("passing gate = %v", err)
	}
	// mage reports a failed dependency by panicking; the gate returns it.
	if err := g.Vet(t.Context()); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing gate = %v, want boom", err)
	}
	if err := g.Vuln(t.Context()); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing vuln gate = %v, want boom", err)
	}
}

func TestInterruptible(t *testing.T) {
	if err := Interruptible(t.Context(), func(context.Context) error { return nil }); err != nil {
		t.Errorf("Interruptible(no signal) = %v", err)
	}
	boom := errors.New("boom")
	if err := Interruptible(t.Context(), func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("Interruptible(failure) = %v, want it unchanged", err)
	}
	for sig, code := range map[syscall.Signal]int{syscall.SIGTERM: 143, syscall.SIGINT: 130} {
		err := Interruptible(t.Context(), func(ctx context.Context) error {
			syscall.Kill(os.Getpid(), sig)
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-time.After(10 * time.Second):
				return errors.New("the signal did not cancel the context")
			}
		})
		if mg.ExitStatus(err) != code || !strings.Contains(err.Error(), "interrupted by") {
			t.Errorf("Interruptible(%v) = %v with status %d, want %d", sig, err, mg.ExitStatus(err), code)
		}
	}

	// mage cancels its own context on SIGINT too: when the caller's
	// context ends before the signal reaches Interruptible's watcher, the
	// run is still reported as interrupted by it.
	parent, cancel := context.WithCancel(t.Context())
	cancel()
	err := Interruptible(parent, func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // the watcher has seen the context end
		syscall.Kill(os.Getpid(), syscall.SIGINT)
		time.Sleep(100 * time.Millisecond) // the signal is delivered
		return ctx.Err()
	})
	if mg.ExitStatus(err) != 130 || !strings.Contains(err.Error(), "interrupted by SIGINT") {
		t.Errorf("Interruptible(context ended, then SIGINT) = %v with status %d, want 130 and the interruption", err, mg.ExitStatus(err))
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for n, c := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
