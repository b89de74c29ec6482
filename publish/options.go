package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Option adjusts how Push, PushImage, AssembleIndex, Check and Verify talk to
// registries. Options that do not apply to a function are ignored by it.
type Option func(*options)

type options struct {
	keychain  authn.Keychain
	auth      authn.Authenticator
	jobs      int
	retry     retrier
	transport http.RoundTripper
	insecure  []string
	progressW io.Writer
	progressP string
	tty       bool
	logger    *slog.Logger
	full      bool

	// Derived by makeOptions.
	ownTransport *http.Transport // set when we built the transport and must release it
	base         http.RoundTripper
	progress     *progressSink
	allowed      hostSet
}

const (
	defaultJobs         = 4
	defaultAttempts     = 8
	defaultFirstBackoff = 500 * time.Millisecond
	defaultMaxBackoff   = 10 * time.Second
)

// WithKeychain selects where credentials come from for each registry.
// The default is authn.DefaultKeychain, which reads ~/.docker/config.json and
// runs the credential helpers configured there, so a prior `docker login`
// just works. It cannot be combined with WithAuth.
func WithKeychain(kc authn.Keychain) Option {
	return func(o *options) { o.keychain = kc }
}

// WithAuth uses one fixed authenticator for every registry, bypassing the
// keychain; tests and CI jobs with injected secrets use it. The default is
// to resolve credentials through the keychain (see WithKeychain), and the two
// options cannot be combined.
func WithAuth(a authn.Authenticator) Option {
	return func(o *options) { o.auth = a }
}

// WithJobs caps how many blobs are checked or uploaded at the same time for
// one destination, so a push can be tuned to the uplink and to the
// registry's tolerance. The default is 4.
func WithJobs(n int) Option {
	return func(o *options) { o.jobs = n }
}

// WithRetry sets how transient failures (connection resets, timeouts, HTTP
// 408, 429 and 5xx) are retried: at most attempts tries per operation (a
// blob check, a whole blob upload, a manifest or tag PUT, a login), waiting
// first after the first failure and doubling up to max between tries. A
// Retry-After header from the registry is honoured up to max. Errors that
// retrying cannot fix, such as 401 or 403, are never retried. The default is
// 5 attempts, 500ms first wait, 10s max wait.
func WithRetry(attempts int, first, max time.Duration) Option {
	return func(o *options) {
		o.retry.attempts = attempts
		o.retry.first = first
		o.retry.max = max
	}
}

// WithTransport sets the HTTP transport underneath authentication, for
// example to trust a private CA or to go through a proxy (set its Proxy
// field, e.g. to http.ProxyFromEnvironment). The plain-HTTP guard and debug
// logging still wrap it. The default is a fresh http.Transport with
// verified TLS, no proxy, and 30s dial and 10s TLS handshake timeouts.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) { o.transport = rt }
}

// WithInsecure allows plain HTTP to the named registries, each given as
// host:port or as host (any port). It exists for lab registries on private
// networks that have no TLS; loopback registries never need it. Every use
// logs a warning naming the host, because credentials and content then
// cross the network in the clear. TLS is still verified when the registry
// does speak it. The default allows no host beyond loopback.
func WithInsecure(hosts ...string) Option {
	return func(o *options) { o.insecure = append(o.insecure, hosts...) }
}

// WithProgress reports blob transfers on w. With tty true it redraws one bar
// per blob in place using ANSI escapes, for an interactive terminal, so
// nothing else should write to that terminal during the push. With tty false
// it writes one plain line per finished blob, manifest and tag, which suits
// CI logs. The default is no progress output.
func WithProgress(w io.Writer, tty bool) Option {
	return func(o *options) {
		o.progressW = w
		o.tty = tty
	}
}

// WithProgressPrefix starts every progress line with prefix, such as
// "image:push: ". Pass the terminal itself to WithProgress then, not a
// writer that prefixes lines: the bars' cursor movements would erase its
// prefix.
func WithProgressPrefix(prefix string) Option {
	return func(o *options) { o.progressP = prefix }
}

// WithLogger sends diagnostics to l: warnings (insecure hosts) and retries at
// Warn level, and one record per HTTP exchange at Debug level for verbose
// runs. Credentials, tokens and request bodies are never logged, and query
// values other than digests and scopes are redacted. The default discards
// everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithFullVerify makes Verify download every layer and check its digest and
// diff ID, instead of only confirming that the registry has it. The default
// is the fast check, which is what a push to a trusted registry needs.
func WithFullVerify() Option {
	return func(o *options) { o.full = true }
}

// makeOptions applies opts over the defaults, rejects contradictory or
// invalid settings with a message naming the fix, and builds the shared
// transport stack.
func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		jobs: defaultJobs,
		retry: retrier{
			attempts: defaultAttempts,
			first:    defaultFirstBackoff,
			max:      defaultMaxBackoff,
		},
	}
	for _, opt := range opts {
		opt(o)
	}

	var errs []error
	if o.auth != nil && o.keychain != nil {
		errs = append(errs, errors.New("WithAuth and WithKeychain both given: keep one, they are two sources for the same credentials"))
	}
	if o.jobs < 1 {
		errs = append(errs, fmt.Errorf("WithJobs(%d): use at least 1", o.jobs))
	}
	if o.retry.attempts < 1 {
		errs = append(errs, fmt.Errorf("WithRetry attempts %d: use at least 1 (1 means no retry)", o.retry.attempts))
	}
	if o.retry.first < 0 || o.retry.max < 0 || o.retry.max < o.retry.first {
		errs = append(errs, fmt.Errorf("WithRetry waits %v..%v: both must be non-negative and max no less than first", o.retry.first, o.retry.max))
	}
	for _, h := range o.insecure {
		if err := checkHostEntry(h); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	if o.auth == nil && o.keychain == nil {
		o.keychain = authn.DefaultKeychain
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	o.retry.log = o.logger
	o.retry.hints = &retryHints{}
	o.allowed = newHostSet(o.insecure)

	inner := o.transport
	if inner == nil {
		o.ownTransport = newDefaultTransport()
		inner = o.ownTransport
	}
	if o.logger.Enabled(context.Background(), slog.LevelDebug) {
		inner = &logTransport{inner: inner, log: o.logger}
	}
	if o.progressW != nil {
		o.progress = newProgressSink(o.progressW, o.tty, o.progressP)
		o.retry.note = o.progress.note
	}
	o.base = &retryTransport{inner: &guardTransport{inner: inner, allowed: o.allowed}, r: o.retry}
	return o, nil
}

// release frees the idle connections of a transport that makeOptions built,
// so that a finished push leaves no sockets or goroutines behind.
func (o *options) release() {
	if o.ownTransport != nil {
		o.ownTransport.CloseIdleConnections()
	}
}

func newDefaultTransport() *http.Transport {
	return &http.Transport{
		// HTTPS_PROXY, HTTP_PROXY and NO_PROXY apply as for any Go
		// program; loopback registries are never proxied.
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// checkHostEntry rejects WithInsecure values that look like URLs or paths,
// which would otherwise silently match nothing.
func checkHostEntry(h string) error {
	if h == "" || strings.Contains(h, "/") || strings.Contains(h, "://") {
		return fmt.Errorf("WithInsecure(%q): give a registry host or host:port such as \"10.0.0.5:5000\", not a URL or repository", h)
	}
	return nil
}

// authFor picks the authenticator for repo, resolving the keychain when one is
// configured.
func (o *options) authFor(ctx context.Context, repo name.Repository) (authn.Authenticator, error) {
	if o.auth != nil {
		return o.auth, nil
	}
	a, err := authn.Resolve(ctx, o.keychain, repo)
	if err != nil {
		return nil, fmt.Errorf("look up credentials for %s: %w", repo.RegistryStr(), err)
	}
	return a, nil
}

// remoteOptions translates these options for go-containerregistry's remote
// package, which does every request of a push, a tag, a check and a
// verify. Retries happen in hoist's own transport below it (and, for
// streamed blob uploads, in the retrier around each upload), where they are
// counted, waited for and reported; remote's own retries are switched off
// so that a failure is not retried twice over.
func (o *options) remoteOptions(ctx context.Context) []remote.Option {
	never := func(error) bool { return false }
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(o.base),
		remote.WithJobs(o.jobs),
		remote.WithRetryPredicate(never),
		remote.WithRetryStatusCodes(),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	}
	if o.auth != nil {
		return append(ropts, remote.WithAuth(o.auth))
	}
	return append(ropts, remote.WithAuthFromKeychain(o.keychain))
}

// warnInsecure tells the user, on every channel they gave us, that a
// registry is reached over plain HTTP by their explicit choice.
func (o *options) warnInsecure(ctx context.Context, host string) {
	if !o.allowed.matches(host) || isLoopbackHost(host) {
		return
	}
	msg := fmt.Sprintf("plain HTTP allowed for %s by HOIST_INSECURE_REGISTRIES (Publish.Insecure): credentials and image content travel unencrypted", host)
	o.logger.WarnContext(ctx, msg, "host", host)
	o.progress.note("warning: " + msg)
}
