package publish

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// hostSet holds the WithInsecure entries. An entry with a port matches that
// host:port only; an entry without one matches the host on any port.
type hostSet map[string]bool

func newHostSet(hosts []string) hostSet {
	s := hostSet{}
	for _, h := range hosts {
		s[strings.ToLower(h)] = true
	}
	return s
}

// matches reports whether hostport (as in a URL or registry name) was
// allowed by the user.
func (s hostSet) matches(hostport string) bool {
	hostport = strings.ToLower(hostport)
	if s[hostport] {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return s[host] || s["["+host+"]"]
}

// isLoopbackHost reports whether hostport names this machine: "localhost",
// any 127.0.0.0/8 address, or ::1. Only these may use plain HTTP without an
// explicit opt-in, because traffic to them never leaves the host.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// guardTransport refuses plain-HTTP requests to hosts that are neither
// loopback nor allowed by WithInsecure. It sits below authentication, so it
// sees every request (pings, token fetches, redirects, uploads) and refuses
// before a connection is dialled: go-containerregistry would otherwise fall
// back to plain HTTP for RFC 1918 addresses on its own.
type guardTransport struct {
	inner   http.RoundTripper
	allowed hostSet
}

func (g *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !isLoopbackHost(req.URL.Host) && !g.allowed.matches(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &plainHTTPError{host: req.URL.Host}
	}
	return g.inner.RoundTrip(req)
}

// plainHTTPError is the guard's refusal; it matches ErrPlainHTTP.
type plainHTTPError struct{ host string }

func (e *plainHTTPError) Error() string {
	return fmt.Sprintf("refusing plain HTTP to %s: only loopback registries may skip TLS; if this registry really serves no TLS, allow it with HOIST_INSECURE_REGISTRIES=%s (Publish.Insecure; WithInsecure in Go)", e.host, e.host)
}

func (e *plainHTTPError) Is(target error) bool { return target == ErrPlainHTTP }

// logTransport records each HTTP exchange at debug level. It only ever logs
// the method, a redacted URL, the status and the timing: headers and bodies
// carry credentials and tokens, so they are never looked at.
type logTransport struct {
	inner http.RoundTripper
	log   *slog.Logger
}

func (l *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := l.inner.RoundTrip(req)
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("url", redactURL(req.URL)),
		slog.Duration("took", time.Since(start)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
		l.log.LogAttrs(req.Context(), slog.LevelDebug, "http request failed", attrs...)
		return resp, err
	}
	attrs = append(attrs, slog.Int("status", resp.StatusCode))
	l.log.LogAttrs(req.Context(), slog.LevelDebug, "http", attrs...)
	return resp, nil
}

// safeQueryKeys are query parameters that identify what is being fetched and
// never carry secrets; every other value is replaced before logging (upload
// session state, account names, signed-URL signatures).
var safeQueryKeys = map[string]bool{
	"digest":  true,
	"scope":   true,
	"service": true,
	"n":       true,
	"last":    true,
	"mount":   true,
	"from":    true,
}

// redactURL renders u for logs without user info or query values that could
// be sensitive.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q := c.Query()
		for k, vs := range q {
			if safeQueryKeys[k] {
				continue
			}
			for i := range vs {
				vs[i] = "REDACTED"
			}
		}
		c.RawQuery = q.Encode()
	}
	return c.String()
}

// retryTransport sends a request again after a transient failure (a
// connection reset, a lost reply, 408/429/5xx), when the request can be
// replayed: it has no body, or a GetBody to make a fresh one. That covers
// pings, token fetches, HEADs, manifest PUTs and the bodiless steps of a
// blob upload; a streamed blob body cannot be replayed, so its upload as a
// whole is retried one level up (retrier). Retry-After is honoured, and
// remembered so that the level up waits for it too.
type retryTransport struct {
	inner http.RoundTripper
	r     retrier
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	wait := t.r.first
	for attempt := 1; ; attempt++ {
		resp, err := t.inner.RoundTrip(req)
		cause, after := transientResponse(resp, err)
		if cause == nil || ctx.Err() != nil || !replayable(req) {
			return resp, err
		}
		if attempt >= t.r.attempts {
			if err != nil {
				err = fmt.Errorf("gave up after %d attempts: %w", attempt, err)
			}
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		pause := wait
		if after > 0 {
			pause = min(max(pause, after), t.r.max)
			t.r.hints.set(after)
		}
		t.r.report(ctx, req.Method+" "+redactURL(req.URL), cause, attempt, pause)
		if !sleep(ctx, pause) {
			return nil, ctx.Err()
		}
		wait = min(wait*2, t.r.max)
		next := req.Clone(ctx)
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			next.Body = body
		}
		req = next
	}
}

// replayable reports whether req can be sent again as it is. A PATCH
// appends a chunk to an upload session, which a registry that already
// took part of it refuses to take again, so the blob upload as a whole is
// what gets retried (a new session), one level up.
func replayable(req *http.Request) bool {
	if req.Method == http.MethodPatch {
		return false
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// transientResponse says why an exchange is worth repeating, or nil, and
// the wait the registry asked for.
func transientResponse(resp *http.Response, err error) (error, time.Duration) {
	if err != nil {
		if isTransient(err) {
			return err, 0
		}
		return nil, 0
	}
	for _, c := range transientStatusCodes {
		if resp.StatusCode == c {
			after := time.Duration(0)
			if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs >= 0 {
				after = time.Duration(secs) * time.Second
			}
			return fmt.Errorf("%s from the registry", resp.Status), after
		}
	}
	return nil, 0
}

// retryHints remembers the latest Retry-After, for the retries above the
// transport. A nil *retryHints asks for no wait.
type retryHints struct {
	mu    sync.Mutex
	until time.Time
}

func (h *retryHints) set(d time.Duration) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if u := time.Now().Add(d); u.After(h.until) {
		h.until = u
	}
}

func (h *retryHints) wait() time.Duration {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return max(time.Until(h.until), 0)
}

// retriedBelow reports whether the transport has already retried err as far
// as it may, so that the retrier above must not multiply the attempts: a
// transient failure of a replayable request. What is left for the level
// above is a streamed blob body (PATCH) that could not be replayed, and an
// upload session a registry forgot because the reply that closed it was
// lost.
func retriedBelow(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		if isUploadLost(err) {
			return false
		}
		return te.Request == nil || replayable(te.Request)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op != "Patch"
	}
	return false
}

// urlInText finds URLs in error messages.
var urlInText = regexp.MustCompile(`https?://[^\s"']+`)

// redactedError shows err with every URL in its text redacted as the debug
// log redacts them: an upload URL carries session state, and a signed
// redirect its signature, neither of which belongs in a CI log. errors.Is
// and errors.As still see err.
type redactedError struct{ err error }

func (e *redactedError) Error() string {
	return urlInText.ReplaceAllStringFunc(e.err.Error(), func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			return "(url)"
		}
		return redactURL(u)
	})
}

func (e *redactedError) Unwrap() error { return e.err }

// redact wraps err so that its text shows no URL secrets.
func redact(err error) error {
	if err == nil {
		return nil
	}
	var already *redactedError
	if errors.As(err, &already) {
		return err
	}
	return &redactedError{err}
}
