package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/hoistdev/hoist/registry"
)

// Option configures [New].
type Option func(*options)

type options struct {
	addr            string
	dataDir         string
	allowRemote     bool
	logger          *slog.Logger
	uploadPurge     bool
	shutdownTimeout time.Duration
}

// DefaultAddr is where the registry listens when [WithAddr] is not given: the
// conventional local registry address that Docker and go-containerregistry
// both treat as plain HTTP.
const DefaultAddr = registry.DefaultAddr

// WithAddr sets the TCP listen address. A port of 0 picks a free port;
// [Server.Addr] reports the one that was bound. The default is [DefaultAddr].
// Hosts other than "localhost" or a loopback IP are refused unless
// [WithAllowRemote] is set.
func WithAddr(addr string) Option {
	return func(o *options) { o.addr = addr }
}

// WithDataDir sets the directory that holds the registry's content and its
// lock file; it is created if missing. There is no default: the caller (the
// hoist-registry command) decides where images live.
func WithDataDir(dir string) Option {
	return func(o *options) { o.dataDir = dir }
}

// WithAllowRemote lets the registry listen on a non-loopback address. The
// default is false because the registry has neither TLS nor authentication:
// on a shared network anyone could read and overwrite images.
func WithAllowRemote(allow bool) Option {
	return func(o *options) { o.allowRemote = allow }
}

// WithLogger routes distribution's logs, including one record per completed
// request, to l. The default is to log nothing. Debug records are produced
// only when l is enabled at debug level.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithUploadPurge turns distribution's background cleanup of abandoned
// uploads (older than a week, checked daily) on or off. The default is on,
// because the data dir is long-lived. distribution reports each purge pass
// through logrus' process-wide logger, which this package leaves alone; the
// hoist-registry command routes it.
func WithUploadPurge(enabled bool) Option {
	return func(o *options) { o.uploadPurge = enabled }
}

// WithShutdownTimeout bounds how long [Server.Serve] waits for in-flight
// requests once its context is cancelled. The default is 10s; after it,
// remaining connections are cut.
func WithShutdownTimeout(d time.Duration) Option {
	return func(o *options) { o.shutdownTimeout = d }
}

func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		addr:            DefaultAddr,
		uploadPurge:     true,
		shutdownTimeout: 10 * time.Second,
	}
	for _, opt := range opts {
		opt(o)
	}
	if o.dataDir == "" {
		return nil, errors.New("no data dir: pass WithDataDir (hoist-registry: -data DIR)")
	}
	if o.shutdownTimeout <= 0 {
		return nil, fmt.Errorf("shutdown timeout %s: must be positive", o.shutdownTimeout)
	}
	if err := checkLoopback(o.addr, o.allowRemote); err != nil {
		return nil, err
	}
	return o, nil
}

// checkLoopback refuses addresses reachable from other machines unless the
// caller explicitly allowed it, because the registry is unauthenticated.
func checkLoopback(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w; use HOST:PORT such as %s or 127.0.0.1:0", addr, err, DefaultAddr)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	where := host
	if where == "" {
		where = "every interface"
	}
	return fmt.Errorf("listen address %q would expose the registry on %s, but it has no TLS and no authentication; "+
		"listen on localhost or 127.0.0.1, or opt in with WithAllowRemote(true)", addr, where)
}
