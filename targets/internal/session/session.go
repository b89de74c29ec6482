package session

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/term"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/internal/cachecmd"
	"github.com/hoistdev/hoist/release"
)

// ServeGoCacheArg, as the first argument of a binary that links this
// package (a magefile binary), makes it serve the Go build cache protocol
// instead of running targets: the rest of the arguments are hoist-cache's.
// hoist names the running binary this way in GOCACHEPROG, so that a shared
// cache needs no tool compiled first.
const ServeGoCacheArg = "--hoist-serve-gocache"

// init runs before mage's main: a binary started as a cache program
// serves the cache and exits without reaching it.
func init() {
	if len(os.Args) > 1 && os.Args[1] == ServeGoCacheArg {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cachecmd.Run(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr, cachecmd.Remotes)
		stop()
		os.Exit(code)
	}
}

var (
	configureMu sync.Mutex
	configurers []func(*config.Config)
)

// Configure registers a change to the configuration; see targets.Configure.
func Configure(fn func(*config.Config)) {
	configureMu.Lock()
	defer configureMu.Unlock()
	configurers = append(configurers, fn)
}

// Session is the workspace of one mage run: every target of the process
// shares it.
type Session = release.Workspace

var (
	once sync.Once
	sess *Session
	err  error
)

// Load opens the process's workspace once: the environment is read here,
// and only here.
func Load() (*Session, error) {
	once.Do(func() {
		sess, err = New(os.Getenv, os.Stdout)
		if err == nil {
			sess.TTY = term.IsTerminal(int(os.Stdout.Fd()))
			// mage runs the magefile binary with the targets as arguments.
			sess.Targets = strings.Join(os.Args[1:], " ")
			if w := mageWarning(parentExe()); w != "" {
				sess.Logf("hoist", "%s", w)
			}
			// With a shared cache, every go command this run starts uses it,
			// served by this very binary (see init).
			if exe, xerr := os.Executable(); xerr == nil {
				sess.CacheProg = []string{exe, ServeGoCacheArg}
			}
			var prog string
			if prog, err = sess.GoCacheProg(context.Background()); err == nil && prog != "" {
				err = os.Setenv("GOCACHEPROG", prog)
			}
		}
	})
	return sess, err
}

// Use replaces the process's workspace, for tests that point the targets
// at a throwaway repository.
func Use(s *Session) {
	once.Do(func() {})
	sess, err = s, nil
}

// New opens a workspace from the registered Configure functions and the
// environment seen through getenv: the defaults, then the magefile's
// settings, then the environment's overrides.
func New(getenv func(string) string, out io.Writer) (*Session, error) {
	env, err := config.ReadEnv(getenv)
	if err != nil {
		return nil, err
	}
	cfg := config.Defaults()
	configureMu.Lock()
	for _, fn := range configurers {
		fn(&cfg)
	}
	configureMu.Unlock()
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", cfg.Dir, err)
	}
	cfg.Dir = abs
	if err := checkServiceModule(abs); err != nil {
		return nil, err
	}
	return release.Open(cfg, env, out)
}
