package publish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Sentinel errors let callers branch on the kind of failure with errors.Is,
// for example to print a login hint or to decide whether to start the
// embedded registry. The error text itself already says how to fix it.
var (
	// ErrUnauthorized means the registry rejected the credentials (HTTP 401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden means the credentials were accepted but may not push to
	// the repository (HTTP 403).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound means the registry does not know the repository or the
	// requested manifest (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrUnreachable means no connection could be made to the registry.
	ErrUnreachable = errors.New("unreachable")
	// ErrUntrustedCert means the registry's TLS certificate did not verify.
	ErrUntrustedCert = errors.New("untrusted certificate")
	// ErrPlainHTTP means a plain-HTTP request to a non-loopback host was
	// refused because the host was not passed to WithInsecure.
	ErrPlainHTTP = errors.New("plain HTTP refused")
)

// hintError puts a human explanation in front of a low-level error while
// keeping both the sentinel kind and the cause reachable through errors.Is
// and errors.As.
type hintError struct {
	kind error
	hint string
	err  error
}

func (e *hintError) Error() string   { return e.hint + ": " + e.err.Error() }
func (e *hintError) Unwrap() []error { return []error{e.kind, e.err} }

// explain turns a failure talking to repo's registry into an error that names
// the likely cause and the fix. Errors it does not recognise pass through.
func explain(err error, repo name.Repository) error {
	if err == nil {
		return nil
	}
	var already *hintError
	if errors.As(err, &already) || errors.Is(err, ErrPlainHTTP) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	host := repo.RegistryStr()
	// A failed handshake comes first: when a loopback ping falls back to
	// plain HTTP, the TLS registry's 400 to that fallback is only noise.
	if isCertError(err) {
		return &hintError{ErrUntrustedCert, fmt.Sprintf("TLS certificate of %s is not trusted: add its CA to the system trust store or pass a transport that trusts it (WithTransport)", host), err}
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized:
			return &hintError{ErrUnauthorized, fmt.Sprintf("authentication failed (401): check `docker login %s` or the credentials helper", host), err}
		case http.StatusForbidden:
			return &hintError{ErrForbidden, fmt.Sprintf("permission denied (403): the credentials for %s may not push to %s; grant the account push rights or log in as another user", host, repo.RepositoryStr()), err}
		case http.StatusNotFound:
			if hasCode(te, transport.NameUnknownErrorCode) {
				return &hintError{ErrNotFound, fmt.Sprintf("repository %s not found (404): create it on the registry or fix the destination name", repo.Name()), err}
			}
			return &hintError{ErrNotFound, "not found (404)", err}
		}
		return err
	}
	if isUnreachable(err) {
		return &hintError{ErrUnreachable, fmt.Sprintf("registry %s is unreachable: start it, or point the destination at a running registry", host), err}
	}
	return err
}

func hasCode(te *transport.Error, code transport.ErrorCode) bool {
	for _, d := range te.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

func isCertError(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	return errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify)
}

func isUnreachable(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// transientStatusCodes are the HTTP statuses worth retrying: the registry or
// something in front of it is overloaded or restarting.
var transientStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// isTransient reports whether trying the same request again may succeed.
// Refused connections are not transient: they mean the registry is not
// running, and waiting would only delay the message that says so.
func isTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		for _, c := range transientStatusCodes {
			if te.StatusCode == c {
				return true
			}
		}
		return false
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// retryAfterError carries the registry's Retry-After hint next to the
// status error it came with.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// checkResponse turns an unexpected status into go-containerregistry's
// structured registry error (which parses the registry's error body), keeping
// any Retry-After hint for the retrier.
func checkResponse(resp *http.Response, codes ...int) error {
	err := transport.CheckError(resp, codes...)
	if err == nil {
		return nil
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, perr := strconv.Atoi(s); perr == nil && secs >= 0 {
			return &retryAfterError{err: err, after: time.Duration(secs) * time.Second}
		}
	}
	return err
}

// retrier runs an operation again after transient failures, with doubling
// waits between tries.
type retrier struct {
	attempts   int
	first, max time.Duration
	log        *slog.Logger
}

// do runs f until it succeeds, fails permanently, runs out of attempts or ctx
// ends. what names the operation in retry logs; callers add their own context
// to the returned error.
func (r retrier) do(ctx context.Context, what string, f func() error) error {
	wait := r.first
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !isTransient(err) {
			return err
		}
		if attempt >= r.attempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		pause := wait
		var ra *retryAfterError
		if errors.As(err, &ra) && ra.after > pause {
			pause = min(ra.after, r.max)
		}
		if r.log != nil {
			r.log.WarnContext(ctx, "retrying after transient failure",
				"op", what, "attempt", attempt, "wait", pause, "error", err.Error())
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(wait*2, r.max)
	}
}
