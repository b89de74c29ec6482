package publish

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// recordingTransport notes every request that got past the guard and
// answers it with an error, so nothing is ever dialled.
type recordingTransport struct {
	mu   sync.Mutex
	seen []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.URL.Scheme+"://"+req.URL.Host)
	r.mu.Unlock()
	return nil, errors.New("recording transport never connects")
}

func TestGuardRefusesPlainHTTPBeforeDialling(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		insecure []string
		allowed  bool
	}{
		{name: "private IPv4", url: "http://10.0.0.1:5000/v2/", allowed: false},
		{name: "RFC 1918 192.168", url: "http://192.168.1.20/v2/", allowed: false},
		{name: "public name", url: "http://registry.example.com/v2/", allowed: false},
		{name: "name ending in localhost", url: "http://localhost.example.com/v2/", allowed: false},
		{name: "https to private IPv4", url: "https://10.0.0.1:5000/v2/", allowed: true},
		{name: "127.0.0.1", url: "http://127.0.0.1:5000/v2/", allowed: true},
		{name: "other loopback", url: "http://127.9.8.7:5000/v2/", allowed: true},
		{name: "localhost", url: "http://localhost:5000/v2/", allowed: true},
		{name: "LOCALHOST without port", url: "http://LOCALHOST/v2/", allowed: true},
		{name: "IPv6 loopback", url: "http://[::1]:5000/v2/", allowed: true},
		{name: "opted in host:port", url: "http://10.0.0.1:5000/v2/", insecure: []string{"10.0.0.1:5000"}, allowed: true},
		{name: "opted in other port", url: "http://10.0.0.1:6000/v2/", insecure: []string{"10.0.0.1:5000"}, allowed: false},
		{name: "opted in host any port", url: "http://10.0.0.1:6000/v2/", insecure: []string{"10.0.0.1"}, allowed: true},
		{name: "opted in IPv6", url: "http://[fd00::5]:5000/v2/", insecure: []string{"[fd00::5]"}, allowed: true},
		{name: "opted in name case", url: "http://Lab.Example:5000/v2/", insecure: []string{"lab.example:5000"}, allowed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTransport{}
			g := &guardTransport{inner: rec, allowed: newHostSet(tc.insecure)}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, tc.url, strings.NewReader("body"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = g.RoundTrip(req)
			reached := len(rec.seen) == 1
			if reached != tc.allowed {
				t.Errorf("guard.RoundTrip(%s) reached transport = %v, want %v", tc.url, reached, tc.allowed)
			}
			if !tc.allowed {
				if !errors.Is(err, ErrPlainHTTP) || !strings.Contains(err.Error(), "HOIST_INSECURE_REGISTRIES=") {
					t.Errorf("guard.RoundTrip(%s) = %v, want ErrPlainHTTP naming HOIST_INSECURE_REGISTRIES", tc.url, err)
				}
			}
		})
	}
}

// redirectTransport dials addr whatever host a request names, so a test can
// push "to" 10.0.0.1 while only ever connecting to a loopback registry.
func redirectTransport(addr string) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
}

// schemeRecorder notes the scheme and host of each request it forwards.
type schemeRecorder struct {
	inner http.RoundTripper
	mu    sync.Mutex
	seen  []string
}

func (s *schemeRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.seen = append(s.seen, req.URL.Scheme+"://"+req.URL.Host)
	s.mu.Unlock()
	return s.inner.RoundTrip(req)
}

func TestPushToPrivateAddressNeedsOptIn(t *testing.T) {
	reg := httptest.NewServer(quietRegistry())
	t.Cleanup(reg.Close)
	const private = "10.0.0.1:5000"
	idx := testIndex(t, 600, 512)
	dest := []Destination{{Repository: private + "/web", Tags: []string{"v1"}}}

	t.Run("refused without WithInsecure", func(t *testing.T) {
		rec := &schemeRecorder{inner: redirectTransport(hostOf(t, reg.URL))}
		_, err := Push(t.Context(), idx, dest, WithAuth(authn.Anonymous), WithTransport(rec), fastRetry)
		if !errors.Is(err, ErrPlainHTTP) {
			t.Fatalf("Push(%s) = %v, want ErrPlainHTTP", private, err)
		}
		if !strings.Contains(err.Error(), `HOIST_INSECURE_REGISTRIES=10.0.0.1:5000`) {
			t.Errorf("Push(%s) error = %q, want it to name the opt-in", private, err)
		}
		for _, s := range rec.seen {
			if strings.HasPrefix(s, "http://") {
				t.Errorf("plain-HTTP request to %s reached the network layer", s)
			}
		}
		if len(rec.seen) == 0 {
			t.Error("no HTTPS attempt was made either; the test is not exercising the ping")
		}
		if err := Check(t.Context(), private+"/web", WithAuth(authn.Anonymous), WithTransport(rec), fastRetry); !errors.Is(err, ErrPlainHTTP) {
			t.Errorf("Check(%s) = %v, want ErrPlainHTTP", private, err)
		}
	})

	t.Run("allowed with warning", func(t *testing.T) {
		rec := &schemeRecorder{inner: redirectTransport(hostOf(t, reg.URL))}
		var logs, prog bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		res, err := Push(t.Context(), idx, dest, WithAuth(authn.Anonymous), WithTransport(rec),
			WithInsecure(private), WithLogger(logger), WithProgress(&prog, false))
		if err != nil {
			t.Fatalf("Push(%s, WithInsecure) = %v", private, err)
		}
		if res[0].BlobsUploaded != testIndexBlobs {
			t.Errorf("Push(%s, WithInsecure) uploaded %d blobs, want %d", private, res[0].BlobsUploaded, testIndexBlobs)
		}
		for where, out := range map[string]string{"log": logs.String(), "progress": prog.String()} {
			if !strings.Contains(out, "plain HTTP allowed for "+private) || !strings.Contains(strings.ToLower(out), "warn") {
				t.Errorf("%s = %q, want a warning naming %s", where, out, private)
			}
		}
		if err := Verify(t.Context(), res[0].Refs[0], WithAuth(authn.Anonymous), WithTransport(rec), WithInsecure(private)); err != nil {
			t.Errorf("Verify(%s, WithInsecure) = %v", res[0].Refs[0], err)
		}
	})
}

func TestLoopbackNeedsNoWarning(t *testing.T) {
	host, _ := testRegistry(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	if err := Check(t.Context(), host+"/web", WithAuth(authn.Anonymous), WithLogger(logger), WithInsecure("127.0.0.1")); err != nil {
		t.Fatalf("Check(%s) = %v", host, err)
	}
	if strings.Contains(logs.String(), "plain HTTP") {
		t.Errorf("log = %q, want no insecure warning for loopback", logs.String())
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain path", in: "https://r.example/v2/web/blobs/sha256:ab", want: "https://r.example/v2/web/blobs/sha256:ab"},
		{name: "user info", in: "https://u:pw@r.example/v2/", want: "https://r.example/v2/"},
		{name: "upload state", in: "https://r.example/v2/web/blobs/uploads/1?_state=abc&digest=sha256:ab", want: "https://r.example/v2/web/blobs/uploads/1?_state=REDACTED&digest=sha256%3Aab"},
		{name: "token request", in: "https://auth.example/token?account=me&scope=repository:web:push&service=reg", want: "https://auth.example/token?account=REDACTED&scope=repository%3Aweb%3Apush&service=reg"},
		{name: "signed url", in: "https://s3.example/b?X-Amz-Signature=sig&X-Amz-Credential=cred", want: "https://s3.example/b?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := redactURL(u); got != tc.want {
				t.Errorf("redactURL(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestIsTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil, want: false},
		{name: "500", err: &transport.Error{StatusCode: 500}, want: true},
		{name: "502", err: &transport.Error{StatusCode: 502}, want: true},
		{name: "503", err: &transport.Error{StatusCode: 503}, want: true},
		{name: "429", err: &transport.Error{StatusCode: 429}, want: true},
		{name: "408", err: &transport.Error{StatusCode: 408}, want: true},
		{name: "401", err: &transport.Error{StatusCode: 401}, want: false},
		{name: "403", err: &transport.Error{StatusCode: 403}, want: false},
		{name: "404", err: &transport.Error{StatusCode: 404}, want: false},
		{name: "connection reset", err: &url.Error{Op: "Put", URL: "x", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, want: true},
		{name: "broken pipe", err: fmt.Errorf("write: %w", syscall.EPIPE), want: true},
		{name: "EOF", err: &url.Error{Op: "Head", URL: "x", Err: io.EOF}, want: true},
		{name: "unexpected EOF", err: io.ErrUnexpectedEOF, want: true},
		{name: "timeout", err: &net.OpError{Op: "read", Err: errTimeout{}}, want: true},
		{name: "connection refused", err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, want: false},
		{name: "cancelled", err: fmt.Errorf("x: %w", context.Canceled), want: false},
		{name: "deadline", err: context.DeadlineExceeded, want: false},
		{name: "plain http refused", err: &plainHTTPError{host: "10.0.0.1"}, want: false},
		{name: "other", err: errors.New("boom"), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := isTransient(tc.err); got != tc.want {
				t.Errorf("isTransient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	repo, err := name.NewRepository("registry.example.com/acme/web")
	if err != nil {
		t.Fatal(err)
	}
	nameUnknown := &transport.Error{StatusCode: 404, Errors: []transport.Diagnostic{{Code: transport.NameUnknownErrorCode, Message: "repository name not known"}}}
	tests := []struct {
		name string
		err  error
		is   error
		want string
	}{
		{name: "401", err: &transport.Error{StatusCode: 401}, is: ErrUnauthorized, want: "authentication failed (401): check `docker login registry.example.com` or the credentials helper"},
		{name: "403", err: &transport.Error{StatusCode: 403}, is: ErrForbidden, want: "permission denied (403)"},
		{name: "404 repo", err: nameUnknown, is: ErrNotFound, want: "repository registry.example.com/acme/web not found (404)"},
		{name: "404 other", err: &transport.Error{StatusCode: 404}, is: ErrNotFound, want: "not found (404)"},
		{name: "refused", err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, is: ErrUnreachable, want: "registry registry.example.com is unreachable: start it"},
		{name: "dns", err: &net.DNSError{Err: "no such host", Name: "registry.example.com", IsNotFound: true}, is: ErrUnreachable, want: "unreachable"},
		{name: "unknown CA", err: fmt.Errorf("ping: %w", x509.UnknownAuthorityError{}), is: ErrUntrustedCert, want: "not trusted"},
		{name: "hostname", err: x509.HostnameError{Certificate: &x509.Certificate{}, Host: "x"}, is: ErrUntrustedCert, want: "WithTransport"},
		{name: "already explained", err: &hintError{kind: ErrForbidden, hint: "kept", err: errors.New("x")}, is: ErrForbidden, want: "kept: x"},
		{name: "500 passes through", err: &transport.Error{StatusCode: 500}, want: "500"},
		{name: "cancel passes through", err: context.Canceled, is: context.Canceled, want: "canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := explain(tc.err, repo)
			if !strings.Contains(got.Error(), tc.want) {
				t.Errorf("explain(%v) = %q, want it to contain %q", tc.err, got, tc.want)
			}
			if tc.is != nil && !errors.Is(got, tc.is) {
				t.Errorf("errors.Is(explain(%v), %v) = false, want true", tc.err, tc.is)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("explain(%v) lost the original error", tc.err)
			}
		})
	}
	if explain(nil, repo) != nil {
		t.Error("explain(nil) != nil")
	}
}

func TestTransientResponse(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header string
		retry  bool
		after  time.Duration
	}{
		{name: "503 with seconds", status: 503, header: "7", retry: true, after: 7 * time.Second},
		{name: "429 without a hint", status: 429, retry: true},
		{name: "http date is ignored", status: 503, header: "Wed, 21 Oct 2015 07:28:00 GMT", retry: true},
		{name: "404 is final", status: 404},
		{name: "200 is fine", status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Status: http.StatusText(tc.status), Header: http.Header{}}
			if tc.header != "" {
				resp.Header.Set("Retry-After", tc.header)
			}
			cause, after := transientResponse(resp, nil)
			if (cause != nil) != tc.retry || after != tc.after {
				t.Errorf("transientResponse(%d, Retry-After %q) = %v, %v; want retry %v after %v", tc.status, tc.header, cause, after, tc.retry, tc.after)
			}
		})
	}
	if cause, _ := transientResponse(nil, syscall.ECONNRESET); cause == nil {
		t.Error("transientResponse(reset) = nil, want a retry")
	}
	h := &retryHints{}
	h.set(time.Minute)
	if w := h.wait(); w < 59*time.Second {
		t.Errorf("retryHints.wait() after a one-minute hint = %v", w)
	}
	if (*retryHints)(nil).wait() != 0 {
		t.Error("nil retryHints waits")
	}
}

// TestInsecureHostname pushes, tags, untags, checks and verifies through
// a plain-HTTP registry reached by a name that is not loopback (a test
// dialer maps it to the local listener): every step must keep speaking
// HTTP to it, the tag step included, whose digest reference once lost the
// permission and fell back to HTTPS.
func TestInsecureHostname(t *testing.T) {
	reg := httptest.NewServer(quietRegistry())
	t.Cleanup(reg.Close)
	const host = "registry.internal:5000"
	rt := redirectTransport(hostOf(t, reg.URL))
	opts := []Option{WithAuth(authn.Anonymous), WithTransport(rt), WithInsecure("registry.internal"), fastRetry}
	idx := testIndex(t, 601, 512)
	res, err := Push(t.Context(), idx, []Destination{{Repository: host + "/web"}}, opts...)
	if err != nil {
		t.Fatalf("Push(%s by digest) = %v", host, err)
	}
	d := res[0].Digest.String()
	states, err := TagAll(t.Context(), []string{host + "/web"}, d, []string{"1.0.0", "latest"}, nil, opts...)
	if err != nil || len(states) != 2 {
		t.Fatalf("TagAll(%s) = %v, %v; want two tags moved over plain HTTP", host, states, err)
	}
	if err := Untag(t.Context(), states, opts...); err != nil {
		t.Errorf("Untag(%s) = %v", host, err)
	}
	if err := Check(t.Context(), host+"/web", opts...); err != nil {
		t.Errorf("Check(%s) = %v", host, err)
	}
	if err := Verify(t.Context(), host+"/web@"+d, opts...); err != nil {
		t.Errorf("Verify(%s) = %v", host, err)
	}
	if _, err := AssembleIndex(t.Context(), host+"/web", []string{imageDigest(t, idx)}, []string{"merged"}, opts...); err != nil {
		t.Errorf("AssembleIndex(%s) = %v", host, err)
	}
}

// imageDigest is the digest of idx's first image.
func imageDigest(t *testing.T, idx interface {
	IndexManifest() (*v1.IndexManifest, error)
}) string {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Manifests[0].Digest.String()
}

func TestRedactedError(t *testing.T) {
	inner := fmt.Errorf("upload: %w", &url.Error{Op: "Patch", URL: "http://r.example/v2/web/blobs/uploads/1?_state=SECRET&digest=sha256:ab", Err: io.EOF})
	err := redact(inner)
	if strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "_state=REDACTED") || !strings.Contains(err.Error(), "digest=sha256") {
		t.Errorf("redact() = %q, want the session state hidden and the digest kept", err)
	}
	if !errors.Is(err, io.EOF) || redact(err) != err || redact(nil) != nil {
		t.Errorf("redact() loses the cause or wraps twice")
	}
}
