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
	"strings"
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

// retrier runs an operation again after transient failures, with doubling
// waits between tries, and says so: every retry is one line on the
// progress output (and a Warn record), naming what failed, the attempt and
// the wait.
type retrier struct {
	attempts   int
	first, max time.Duration
	log        *slog.Logger
	note       func(string)
	hints      *retryHints
}

// do runs f until it succeeds, fails permanently, runs out of attempts or ctx
// ends. what names the operation in retry lines; callers add their own
// context to the returned error.
func (r retrier) do(ctx context.Context, what string, f func() error) error {
	wait := r.first
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !(isTransient(err) || isUploadLost(err)) {
			return err
		}
		if retriedBelow(err) {
			if strings.Contains(err.Error(), "gave up after") {
				return err
			}
			return fmt.Errorf("gave up after %d attempts: %w", r.attempts, err)
		}
		if attempt >= r.attempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		pause := max(wait, r.hints.wait())
		r.report(ctx, what, err, attempt, pause)
		if !sleep(ctx, pause) {
			return err
		}
		wait = min(wait*2, r.max)
	}
}

// report prints one retry.
func (r retrier) report(ctx context.Context, what string, err error, attempt int, pause time.Duration) {
	msg := fmt.Sprintf("retrying %s after %v (attempt %d of %d failed; next in %s)", what, err, attempt, r.attempts, pause.Round(time.Millisecond))
	if r.log != nil {
		r.log.WarnContext(ctx, msg, "op", what, "attempt", attempt, "wait", pause, "error", err.Error())
	}
	if r.note != nil {
		r.note(msg)
	}
}

// sleep waits d, or less if ctx ends; it reports whether the wait was full.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// isUploadLost reports a registry that no longer has an upload session as
// it was, as after a lost reply to the request that completed it: the
// session is unknown, or (some registries) it is empty, so the digest the
// commit names no longer matches. The upload as a whole can start again,
// and its existence check then finds the blob if it was stored after all.
func isUploadLost(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if hasCode(te, transport.BlobUploadUnknownErrorCode) || hasCode(te, transport.BlobUploadInvalidErrorCode) {
		return true
	}
	return hasCode(te, transport.DigestInvalidErrorCode) && te.Request != nil && strings.Contains(te.Request.URL.Path, "/blobs/uploads/")
}
