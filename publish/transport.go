package publish

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
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
	return fmt.Sprintf("refusing plain HTTP to %s: only loopback registries may skip TLS; if this registry really serves no TLS, allow it with WithInsecure(%q)", e.host, e.host)
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
