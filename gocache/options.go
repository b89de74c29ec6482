package gocache

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Option configures a Cache.
type Option func(*options)

type options struct {
	remote        Remote
	strict        bool
	log           io.Writer
	jobs          int
	remoteTimeout time.Duration
	uploadWait    time.Duration
}

// Defaults, documented on the options that change them.
const (
	defaultJobs          = 16
	defaultRemoteTimeout = 2 * time.Minute
	defaultUploadWait    = 2 * time.Minute
)

// WithRemote adds a shared tier behind the local directory. By default
// there is none and the cache is local only.
func WithRemote(r Remote) Option {
	return func(o *options) { o.remote = r }
}

// WithStrict makes remote failures errors. The first failure answers its
// request with an error, every later lookup fails at once without trying
// the remote, and "close" fails, which the go command reports as a failed
// build: it treats failed lookups as misses and ignores failed stores, so
// close is where a failure becomes visible. By default a remote failure is
// logged once and the rest of the run is local only. It has no effect
// without a remote.
func WithStrict(strict bool) Option {
	return func(o *options) { o.strict = strict }
}

// WithLog writes one line to w for each notable event: the remote failing,
// a remote entry failing verification, uploads abandoned at close. Lines
// never carry credentials: URL user info and secret-looking query values
// are masked. By default nothing is logged.
func WithLog(w io.Writer) Option {
	return func(o *options) { o.log = w }
}

// WithJobs bounds how many requests are handled at once, and separately how
// many uploads run at once. Most of the time goes to waiting on disk and
// network, so the default, 16, is above the core count of a typical runner.
func WithJobs(n int) Option {
	return func(o *options) { o.jobs = n }
}

// WithRemoteTimeout bounds each remote call, including reading the fetched
// content; a call that takes longer counts as a remote failure. The default
// is two minutes, so that a hung registry cannot hang a build.
func WithRemoteTimeout(d time.Duration) Option {
	return func(o *options) { o.remoteTimeout = d }
}

// WithUploadWait bounds how long "close" waits for background uploads
// before it abandons them (they stay in the local tier) and answers. The
// default is two minutes.
func WithUploadWait(d time.Duration) Option {
	return func(o *options) { o.uploadWait = d }
}

func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		log:           io.Discard,
		jobs:          defaultJobs,
		remoteTimeout: defaultRemoteTimeout,
		uploadWait:    defaultUploadWait,
	}
	for _, opt := range opts {
		opt(o)
	}
	var errs []error
	if o.log == nil {
		o.log = io.Discard
	}
	if o.jobs < 1 {
		errs = append(errs, fmt.Errorf("jobs is %d, want at least 1", o.jobs))
	}
	if o.remoteTimeout <= 0 {
		errs = append(errs, fmt.Errorf("remote timeout is %v, want a positive duration", o.remoteTimeout))
	}
	if o.uploadWait < 0 {
		errs = append(errs, fmt.Errorf("upload wait is %v, want zero or more", o.uploadWait))
	}
	return o, errors.Join(errs...)
}
