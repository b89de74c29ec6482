package dockerengine

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// testEngine connects to the daemon the environment names (DOCKER_HOST or
// the default socket). Without one the test is skipped, unless
// HOIST_REQUIRE_DOCKER=1 says a daemon must be there.
func testEngine(t *testing.T, opts ...Option) *Engine {
	t.Helper()
	opts = append([]Option{WithClientOpts(client.FromEnv)}, opts...)
	e, err := New(t.Context(), opts...)
	if err != nil {
		if os.Getenv("HOIST_REQUIRE_DOCKER") == "1" {
			t.Fatalf("New() = %v, want a reachable Docker Engine (HOIST_REQUIRE_DOCKER=1)", err)
		}
		t.Skipf("no Docker Engine: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestNewUnreachable(t *testing.T) {
	missing := "unix://" + filepath.Join(t.TempDir(), "docker.sock")
	tests := []struct {
		name string
		host string
		want []string
	}{
		{
			name: "refused tcp port",
			host: "tcp://127.0.0.1:1",
			want: []string{"cannot reach the Docker Engine at tcp://127.0.0.1:1", "connection refused", "start the daemon or set DOCKER_HOST"},
		},
		{
			name: "socket that does not exist",
			host: missing,
			want: []string{"cannot reach the Docker Engine at " + missing, "no such file or directory", "start the daemon or set DOCKER_HOST"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(t.Context(), WithHost(tc.host))
			if err == nil {
				e.Close()
				t.Fatalf("New(WithHost(%q)) = nil error, want an unreachable error", tc.host)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New(WithHost(%q)) = %q, want it to contain %q", tc.host, err, w)
				}
			}
		})
	}
}

// A server that speaks HTTP but is not a usable daemon must not be
// reported as "not running": the advice would send the user the wrong way.
func TestNewNotADaemon(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{
			name: "web server",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "not here", http.StatusNotFound)
			},
			want: "cannot use the Docker Engine",
		},
		{
			name: "daemon too old",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Api-Version", "1.24")
				w.WriteHeader(http.StatusOK)
			},
			want: "API 1.40 or newer",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			host := "tcp://" + strings.TrimPrefix(srv.URL, "http://")
			_, err := New(t.Context(), WithHost(host))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(WithHost(%q)) = %v, want an error containing %q", host, err, tc.want)
			}
		})
	}
}

func TestNewCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := New(ctx, WithHost("tcp://127.0.0.1:1"))
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("New(cancelled ctx) = %v, want a context canceled error", err)
	}
}

func TestMakeOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string // "" means no error
	}{
		{name: "defaults", opts: nil},
		{name: "nil option ignored", opts: []Option{nil}},
		{name: "explicit host", opts: []Option{WithHost("unix:///run/docker.sock")}},
		{name: "malformed host", opts: []Option{WithHost("docker.sock")}, want: "use unix:///path/to/docker.sock or tcp://host:port"},
		{name: "nil output", opts: []Option{WithOutput(nil)}, want: "pass io.Discard"},
		{name: "zero ping timeout", opts: []Option{WithPingTimeout(0)}, want: "must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := makeOptions(tc.opts...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("makeOptions() = %v, want nil error", err)
				}
				if o.out != io.Discard || o.pingTimeout != 10*time.Second {
					t.Errorf("makeOptions() = out %v, ping %s; want io.Discard, 10s", o.out, o.pingTimeout)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("makeOptions() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// An explicit WithHost must win over whatever client options set,
// including client.FromEnv reading DOCKER_HOST at the edge.
func TestWithHostWinsOverClientOpts(t *testing.T) {
	_, err := New(t.Context(),
		WithClientOpts(client.WithHost("tcp://127.0.0.1:2")),
		WithHost("tcp://127.0.0.1:1"))
	if err == nil || !strings.Contains(err.Error(), "tcp://127.0.0.1:1") {
		t.Errorf("New(client host :2, WithHost :1) = %v, want an error naming tcp://127.0.0.1:1", err)
	}
}

func TestEngineInfo(t *testing.T) {
	e := testEngine(t)
	if e.Host() == "" {
		t.Errorf("Host() = %q, want the daemon address", e.Host())
	}
	if v := e.APIVersion(); v == "" || v < "1.40" {
		t.Errorf("APIVersion() = %q, want a negotiated version of at least 1.40", v)
	}
}
