package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

type fault int

const (
	pass fault = iota
	reset
	err500
	err503
	err429
	err403
	// lost: the registry does the work, but its reply never arrives.
	lost
)

// faultProxy sits in front of a real registry and breaks requests the way
// networks and overloaded registries do. Which requests break is decided by
// a rule over the request and its sequence number, so runs are repeatable.
// The registry behind it never sees a broken request.
type faultProxy struct {
	mu       sync.Mutex
	rule     func(n int, r *http.Request) fault
	n        int
	injected atomic.Int64
	proxy    *httputil.ReverseProxy
}

func (f *faultProxy) setRule(rule func(n int, r *http.Request) fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rule, f.n = rule, 0
}

func (f *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.n++
	what := pass
	if f.rule != nil {
		what = f.rule(f.n, r)
	}
	f.mu.Unlock()
	if what != pass {
		f.injected.Add(1)
	}
	switch what {
	case reset:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		// Linger 0 turns the close into a TCP RST: "connection reset by peer".
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		conn.Close()
	case lost:
		rec := httptest.NewRecorder()
		f.proxy.ServeHTTP(rec, r)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		conn.Close()
	case err500, err503, err429, err403:
		code := map[fault]int{err500: 500, err503: 503, err429: 429, err403: 403}[what]
		if what == err429 {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errors":[{"code":"UNKNOWN","message":"injected %d"}]}`, code)
	default:
		f.proxy.ServeHTTP(w, r)
	}
}

// startFaultProxy returns the host of the proxy and of the registry behind
// it (for checking results without faults).
func startFaultProxy(t *testing.T) (proxyHost, backendHost string, f *faultProxy, l *requestLog) {
	t.Helper()
	l = &requestLog{}
	backend := httptest.NewServer(counting(quietRegistry(), l))
	t.Cleanup(backend.Close)
	u, err := url.Parse(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	f = &faultProxy{proxy: rp}
	front := httptest.NewServer(f)
	t.Cleanup(front.Close)
	return hostOf(t, front.URL), u.Host, f, l
}

func isManifestPut(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/")
}

func isTagPut(r *http.Request) bool {
	return isManifestPut(r) && !strings.Contains(r.URL.Path, "/manifests/sha256:")
}

// retryHard allows enough attempts that seeded faults cannot plausibly
// exhaust them, with millisecond waits.
var retryHard = WithRetry(10, time.Millisecond, 4*time.Millisecond)

func TestPushRetriesTransientFaults(t *testing.T) {
	tests := []struct {
		name string
		rule func(n int, r *http.Request) fault
	}{
		{name: "reset every 3rd request", rule: func(n int, _ *http.Request) fault {
			return map[bool]fault{true: reset}[n%3 == 0]
		}},
		{name: "503 every 3rd request", rule: func(n int, _ *http.Request) fault {
			return map[bool]fault{true: err503}[n%3 == 0]
		}},
		{name: "500 every 4th request", rule: func(n int, _ *http.Request) fault {
			return map[bool]fault{true: err500}[n%4 == 0]
		}},
		{name: "429 with Retry-After every 5th request", rule: func(n int, _ *http.Request) fault {
			return map[bool]fault{true: err429}[n%5 == 0]
		}},
		{name: "seeded mix on 15% of requests", rule: func() func(int, *http.Request) fault {
			rng := rand.New(rand.NewPCG(42, 42))
			kinds := []fault{reset, err500, err503, err429}
			return func(int, *http.Request) fault {
				if rng.Float64() < 0.15 {
					return kinds[rng.IntN(len(kinds))]
				}
				return pass
			}
		}()},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			front, back, f, _ := startFaultProxy(t)
			f.setRule(tc.rule)
			idx := testIndex(t, uint64(100+i), 16<<10)
			res, err := Push(t.Context(), idx, []Destination{{Repository: front + "/web", Tags: []string{"v1"}}},
				WithAuth(authn.Anonymous), retryHard)
			if err != nil {
				t.Fatalf("Push() through faults = %v, want success after retries", err)
			}
			if f.injected.Load() == 0 {
				t.Fatal("no fault was injected; the test proves nothing")
			}
			if r := res[0]; r.BlobsUploaded != testIndexBlobs || r.BlobsSkipped != 0 {
				t.Errorf("Push() counts = uploaded %d skipped %d, want %d 0", r.BlobsUploaded, r.BlobsSkipped, testIndexBlobs)
			}
			want := digestOf(t, idx)
			checkPulled(t, back+"/web:v1", want)
			if err := Verify(t.Context(), back+"/web@"+want.String(), WithAuth(authn.Anonymous), WithFullVerify()); err != nil {
				t.Errorf("Verify() = %v, want nil", err)
			}
		})
	}
}

func TestPushFailureLeavesNoDanglingTag(t *testing.T) {
	tests := []struct {
		name string
		// rule builds a fresh fault rule (with its own counters).
		rule func() func(int, *http.Request) fault
		// indexStored says whether the index may exist by digest afterwards.
		indexStored bool
	}{
		{name: "every manifest PUT after the first fails", rule: func() func(int, *http.Request) fault {
			var puts int
			return func(_ int, r *http.Request) fault {
				if isManifestPut(r) {
					if puts++; puts > 1 {
						return err500
					}
				}
				return pass
			}
		}},
		{name: "connection reset on every tag PUT", rule: func() func(int, *http.Request) fault {
			return func(_ int, r *http.Request) fault {
				if isTagPut(r) {
					return reset
				}
				return pass
			}
		}, indexStored: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			front, back, f, _ := startFaultProxy(t)
			old := testIndex(t, uint64(200+i), 1<<10)
			oldDigest := digestOf(t, old)
			dest := []Destination{{Repository: front + "/web", Tags: []string{"latest", "v2"}}}
			if _, err := Push(t.Context(), old, []Destination{{Repository: front + "/web", Tags: []string{"latest"}}},
				WithAuth(authn.Anonymous)); err != nil {
				t.Fatalf("Push(old) without faults = %v", err)
			}

			f.setRule(tc.rule())
			next := testIndex(t, uint64(300+i), 1<<10)
			nextDigest := digestOf(t, next)
			res, err := Push(t.Context(), next, dest, WithAuth(authn.Anonymous), WithRetry(3, time.Millisecond, 2*time.Millisecond))
			if err == nil {
				t.Fatal("Push(next) with persistent faults = nil error, want failure")
			}
			if !strings.Contains(err.Error(), "gave up after 3 attempts") {
				t.Errorf("Push(next) error = %q, want it to say it gave up after 3 attempts", err)
			}
			for _, ref := range res[0].Refs {
				if strings.Contains(ref, ":latest") || strings.Contains(ref, ":v2") {
					t.Errorf("Result.Refs = %v, want no tag refs after a failed push", res[0].Refs)
				}
			}

			// No tag points at the new index, and the old tag still resolves
			// to an index the registry holds in full.
			if got, err := headRef(t, back+"/web:latest"); err != nil || got != oldDigest {
				t.Errorf("latest -> %s (%v), want unchanged %s", got, err, oldDigest)
			}
			if err := Verify(t.Context(), back+"/web@"+oldDigest.String(), WithAuth(authn.Anonymous)); err != nil {
				t.Errorf("Verify(old) = %v, want nil", err)
			}
			if _, err := headRef(t, back+"/web:v2"); err == nil {
				t.Error("tag v2 exists after a failed push, want none")
			}
			_, err = headRef(t, back+"/web@"+nextDigest.String())
			if stored := err == nil; stored != tc.indexStored {
				t.Errorf("new index stored by digest = %v, want %v", stored, tc.indexStored)
			}

			// A rerun without faults converges.
			f.setRule(nil)
			if _, err := Push(t.Context(), next, dest, WithAuth(authn.Anonymous)); err != nil {
				t.Fatalf("rerun Push(next) = %v", err)
			}
			if got, err := headRef(t, back+"/web:latest"); err != nil || got != nextDigest {
				t.Errorf("after rerun latest -> %s (%v), want %s", got, err, nextDigest)
			}
		})
	}
}

func TestPushDoesNotRetryPermanentErrors(t *testing.T) {
	front, back, f, _ := startFaultProxy(t)
	var posts atomic.Int64
	f.setRule(func(_ int, r *http.Request) fault {
		if r.Method == http.MethodPost {
			posts.Add(1)
			return err403
		}
		return pass
	})
	_, err := Push(t.Context(), testIndex(t, 400, 512), []Destination{{Repository: front + "/web", Tags: []string{"v1"}}},
		WithAuth(authn.Anonymous), WithJobs(1))
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("Push() against a 403 = %v, want ErrForbidden", err)
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("registry saw %d upload POSTs, want exactly 1 (403 is not retried)", n)
	}
	if _, err := headRef(t, back+"/web:v1"); err == nil {
		t.Error("tag v1 exists after a failed push, want none")
	}
}

func TestRetryGivesUpAfterAttempts(t *testing.T) {
	front, _, f, _ := startFaultProxy(t)
	var heads atomic.Int64
	f.setRule(func(_ int, r *http.Request) fault {
		if r.Method == http.MethodHead {
			heads.Add(1)
			return reset
		}
		return pass
	})
	_, err := Push(t.Context(), testIndex(t, 500, 512), []Destination{{Repository: front + "/web"}},
		WithAuth(authn.Anonymous), WithJobs(1), WithRetry(3, time.Millisecond, time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("Push() with every HEAD reset = %v, want a give-up error", err)
	}
	// net/http may itself replay an idempotent HEAD once on a reused
	// connection, so allow up to two tries per attempt.
	if n := heads.Load(); n < 3 || n > 6 {
		t.Errorf("registry saw %d HEADs, want 3..6 for 3 attempts", n)
	}
}

func TestRetrierHonoursContext(t *testing.T) {
	r := retrier{attempts: 5, first: time.Hour, max: time.Hour}
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	done := make(chan error, 1)
	go func() {
		done <- r.do(ctx, "test", func() error {
			calls++
			return &net.OpError{Op: "read", Err: errTimeout{}}
		})
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil || calls != 1 {
			t.Errorf("retrier.do() after cancel = %v with %d calls, want the last error and 1 call", err, calls)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("retrier.do() kept waiting after its context was cancelled")
	}
}

type errTimeout struct{}

func (errTimeout) Error() string   { return "i/o timeout" }
func (errTimeout) Timeout() bool   { return true }
func (errTimeout) Temporary() bool { return true }

// isWrite is a request that changes the registry.
func isWrite(r *http.Request) bool {
	return r.Method == http.MethodPut || r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodDelete
}

// TestPushThroughHarshFaults is the mix a flaky network and an overloaded
// registry make together: 503 on every 7th request, a connection reset on
// every 3rd blob upload, and the reply to every 11th write lost after the
// registry did the work. With the default retry policy (only the waits
// shortened) 20 pushes of fresh content out of 20 must complete, every
// retry must be reported, and no tag may ever name a manifest the registry
// lacks.
func TestPushThroughHarshFaults(t *testing.T) {
	front, back, f, _ := startFaultProxy(t)
	var mu sync.Mutex
	var blobs, writes int
	f.setRule(func(n int, r *http.Request) fault {
		mu.Lock()
		defer mu.Unlock()
		if n%7 == 0 {
			return err503
		}
		if r.Method == http.MethodPatch {
			if blobs++; blobs%3 == 0 {
				return reset
			}
		}
		if isWrite(r) {
			if writes++; writes%11 == 0 {
				return lost
			}
		}
		return pass
	})
	var out syncBuffer
	for i := range 20 {
		idx := testIndex(t, uint64(1000+i), 8<<10)
		tag := fmt.Sprintf("v%d", i)
		_, err := Push(t.Context(), idx, []Destination{{Repository: front + "/web", Tags: []string{tag}}},
			WithAuth(authn.Anonymous), WithRetry(defaultAttempts, time.Millisecond, 8*time.Millisecond), WithProgress(&out, false))
		if err != nil {
			t.Fatalf("push %d of 20 through the fault mix = %v\n%s", i+1, err, out.String())
		}
		checkPulled(t, back+"/web:"+tag, digestOf(t, idx))
	}
	if f.injected.Load() < 20 {
		t.Fatalf("only %d faults were injected; the mix is not harsh", f.injected.Load())
	}
	retries := strings.Count(out.String(), "retrying ")
	if retries == 0 || !strings.Contains(out.String(), "of 8 failed; next in") {
		t.Errorf("%d faults injected, %d retry lines; want every retry reported with its attempt and wait:\n%s", f.injected.Load(), retries, out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a push.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
