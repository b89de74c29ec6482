package dockerengine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/moby/moby/client"
)

// DefaultHost is the daemon address used when neither [WithHost] nor a
// client option such as client.FromEnv names another one. It is the socket
// a stock Linux install of Docker listens on.
const DefaultHost = client.DefaultDockerHost

// Option configures [New] and [Available].
type Option func(*options)

type options struct {
	host        string
	clientOpts  []client.Opt
	out         io.Writer
	outSet      bool
	pingTimeout time.Duration
}

// WithHost points the engine at a daemon address such as
// "unix:///var/run/docker.sock" or "tcp://127.0.0.1:2375". It is applied
// after [WithClientOpts], so an explicit host wins over client.FromEnv.
// The default is [DefaultHost] unless a client option sets another.
func WithHost(host string) Option {
	return func(o *options) { o.host = host }
}

// WithClientOpts passes options straight to the moby client, mainly so the
// edge of the program can hand over client.FromEnv (DOCKER_HOST,
// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION) without this
// package reading the environment itself. Repeated calls accumulate.
// The default is no extra options.
func WithClientOpts(opts ...client.Opt) Option {
	return func(o *options) { o.clientOpts = append(o.clientOpts, opts...) }
}

// WithOutput sets where progress of loads and builds is written, one line
// per daemon message. The default is io.Discard: the package is silent
// unless the caller asks for output.
func WithOutput(w io.Writer) Option {
	return func(o *options) { o.out, o.outSet = w, true }
}

// WithPingTimeout bounds the first contact with the daemon, so that a
// firewalled TCP host fails fast instead of hanging on connect. The
// default is 10 seconds.
func WithPingTimeout(d time.Duration) Option {
	return func(o *options) { o.pingTimeout = d }
}

func makeOptions(opts ...Option) (*options, error) {
	o := &options{out: io.Discard, pingTimeout: 10 * time.Second}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	if o.outSet && o.out == nil {
		return nil, errors.New("dockerengine: WithOutput(nil): pass io.Discard to silence output")
	}
	if o.pingTimeout <= 0 {
		return nil, fmt.Errorf("dockerengine: WithPingTimeout(%s): the timeout must be positive", o.pingTimeout)
	}
	if o.host != "" {
		if _, err := client.ParseHostURL(o.host); err != nil {
			return nil, fmt.Errorf("dockerengine: invalid Docker host %q: use unix:///path/to/docker.sock or tcp://host:port", o.host)
		}
	}
	return o, nil
}

// Engine is a connection to one Docker daemon whose API version has
// already been negotiated. It is safe for concurrent use.
type Engine struct {
	cli  *client.Client
	host string
	out  io.Writer
}

// New connects to a Docker daemon and pings it, so that a missing or
// unreachable daemon is reported once, up front, with what to do about it,
// rather than as a confusing failure halfway through a build.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	copts := append([]client.Opt(nil), o.clientOpts...)
	if o.host != "" {
		copts = append(copts, client.WithHost(o.host))
	}
	cli, err := client.New(copts...)
	if err != nil {
		return nil, fmt.Errorf("dockerengine: configure Docker client: %w", err)
	}
	e := &Engine{cli: cli, host: cli.DaemonHost(), out: o.out}

	pctx, cancel := context.WithTimeout(ctx, o.pingTimeout)
	defer cancel()
	if _, err := cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = cli.Close()
		return nil, unreachable(ctx, e.host, err)
	}
	return e, nil
}

// Close releases the idle connections to the daemon.
func (e *Engine) Close() error {
	return e.cli.Close()
}

// Host is the daemon address in use, for messages and reports.
func (e *Engine) Host() string { return e.host }

// APIVersion is the Engine API version agreed with the daemon, e.g. "1.41".
func (e *Engine) APIVersion() string { return e.cli.ClientVersion() }

// unreachable turns a failed ping into an error that names the daemon
// address and the fix. The moby client collapses dial failures into a
// generic "is the daemon running?", which is wrong advice when the real
// cause is a permission problem, so the dial is retried here to recover
// the underlying reason.
func unreachable(ctx context.Context, host string, pingErr error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("connect to the Docker Engine at %s: %w", host, context.Cause(ctx))
	}
	dialErr := probeDial(host)
	if dialErr == nil && !client.IsErrConnectionFailed(pingErr) {
		// Something answered but is not a usable daemon (too old an API,
		// a TLS mismatch, a proxy): the ping error says why.
		return fmt.Errorf("cannot use the Docker Engine at %s: %w — check that DOCKER_HOST points at a Docker daemon with API 1.40 or newer", host, pingErr)
	}
	reason := pingErr
	if dialErr != nil {
		reason = dialErr
	}
	hint := "start the daemon or set DOCKER_HOST"
	if errors.Is(reason, os.ErrPermission) || errors.Is(reason, syscall.EACCES) {
		hint = "add your user to the docker group, or set DOCKER_HOST to a daemon you may use"
	}
	return fmt.Errorf("cannot reach the Docker Engine at %s: %w — %s", host, reason, hint)
}

// probeDial opens and closes one raw connection to the daemon address and
// returns the dial error, if any. Transports other than unix sockets and
// TCP (SSH, named pipes) are not probed.
func probeDial(host string) error {
	u, err := client.ParseHostURL(host)
	if err != nil {
		return err
	}
	network := u.Scheme
	switch network {
	case "unix":
	case "tcp", "http", "https":
		network = "tcp"
	default:
		return nil
	}
	conn, err := net.DialTimeout(network, u.Host, 3*time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}
