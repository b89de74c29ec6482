package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Option configures [Start].
type Option func(*options)

type options struct {
	command      []string
	dir          string
	addr         string
	dataDir      string
	startTimeout time.Duration
	stopGrace    time.Duration
	logWriter    io.Writer
	waitNote     func(int)
	startCtx     context.Context
	slowAfter    time.Duration
	slowNote     func()
	toolRecord   string
}

// ToolPackage is the import path of the hoist-registry command, the name a
// consuming module lists in its go.mod tool directive.
const ToolPackage = "github.com/hoistdev/hoist/cmd/hoist-registry"

// defaultCommand runs hoist-registry through the module's tool directive, so
// the registry is built from the version pinned in go.mod and cached by go.
func defaultCommand() []string { return []string{"go", "tool", "hoist-registry"} }

// WithStartContext bounds the wait for readiness with a second context,
// besides Start's own: when it ends first, the child is killed with
// everything it started (a compile of the registry in progress included)
// and Start returns its cause. Use it to keep the registry's lifetime
// independent of an interruptible caller (Start(context.WithoutCancel(ctx)))
// while an interruption still ends a slow start at once.
func WithStartContext(ctx context.Context) Option {
	return func(o *options) { o.startCtx = ctx }
}

// WithSlowStart calls note once if the registry has not reported ready
// after d, while Start goes on waiting: the first `go tool hoist-registry`
// compiles the registry, which takes a minute on a small machine, and a
// caller can say so instead of sitting silent.
func WithSlowStart(d time.Duration, note func()) Option {
	return func(o *options) { o.slowAfter, o.slowNote = d, note }
}

// WithWaitNote is told how many other processes Stop waits for, whenever
// that changes, while they hold leases on the data directory. Default: no
// note.
func WithWaitNote(note func(others int)) Option {
	return func(o *options) { o.waitNote = note }
}

// WithCommand replaces the argv that starts the registry; -addr and -data
// are appended to it. The default is `go tool hoist-registry`, which needs
// [ToolPackage] in the tool directive of the module at [WithDir]. Tests point
// it at a binary built with go build.
func WithCommand(argv ...string) Option {
	return func(o *options) { o.command = argv }
}

// WithDir sets the working directory of the child. With the default command
// it must be inside the module whose go.mod lists the tool. The default is
// the caller's working directory.
func WithDir(dir string) Option {
	return func(o *options) { o.dir = dir }
}

// WithAddr sets the listen address passed as -addr. The default is
// "127.0.0.1:0", a free loopback port, so that starting never collides with
// another service; pass "localhost:5000" for the conventional fixed address.
func WithAddr(addr string) Option {
	return func(o *options) { o.addr = addr }
}

// WithDataDir sets the data directory passed as -data. By default no -data
// is passed and the child applies [DefaultDataDir] to its own environment,
// which it inherits from the caller.
func WithDataDir(dir string) Option {
	return func(o *options) { o.dataDir = dir }
}

// WithStartTimeout bounds the wait for the ready line, on top of ctx. The
// default is 3 minutes because the first `go tool hoist-registry` compiles
// the registry, which takes tens of seconds on a cold cache.
func WithStartTimeout(d time.Duration) Option {
	return func(o *options) { o.startTimeout = d }
}

// WithStopGrace sets how long [Process.Stop] waits after SIGTERM before it
// kills the child. The default is 10s.
func WithStopGrace(d time.Duration) Option {
	return func(o *options) { o.stopGrace = d }
}

// WithLogWriter passes -v to the child and copies its log (stderr) to w. The
// default is a quiet child whose stderr is kept only to explain failures.
func WithLogWriter(w io.Writer) Option {
	return func(o *options) { o.logWriter = w }
}

func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		command:      defaultCommand(),
		addr:         "127.0.0.1:0",
		startTimeout: 3 * time.Minute,
		stopGrace:    10 * time.Second,
	}
	for _, opt := range opts {
		opt(o)
	}
	if len(o.command) == 0 || o.command[0] == "" {
		return nil, errors.New("empty registry command: pass WithCommand(path, args...) or leave the default")
	}
	if o.addr == "" {
		return nil, errors.New("empty listen address: pass WithAddr(HOST:PORT), e.g. 127.0.0.1:0")
	}
	if o.startTimeout <= 0 || o.stopGrace <= 0 {
		return nil, fmt.Errorf("start timeout %s and stop grace %s must both be positive", o.startTimeout, o.stopGrace)
	}
	return o, nil
}
