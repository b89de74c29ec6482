package gobuild

import (
	"strings"
	"testing"
	"time"
)

func TestTestReport(t *testing.T) {
	var out strings.Builder
	r := newTestReport(&out, 3, time.Hour)
	stream := strings.Join([]string{
		`go: downloading example.com/x v1.0.0`,
		`{"Action":"start","Package":"example.com/a"}`,
		`{"Action":"start","Package":"example.com/b"}`,
		`{"Action":"run","Package":"example.com/a","Test":"TestA"}`,
		`{"Action":"output","Package":"example.com/a","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"output","Package":"example.com/a","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}`,
		`{"Action":"pass","Package":"example.com/a","Test":"TestA"}`,
		`{"Action":"output","Package":"example.com/a","Output":"ok  \texample.com/a\t0.012s\tcoverage: 85.0% of statements\n"}`,
		`{"Action":"pass","Package":"example.com/a","Elapsed":0.012}`,
		`{"Action":"output","Package":"example.com/b","Test":"TestB","Output":"    b_test.go:9: got 1, want 2\n"}`,
		`{"Action":"fail","Package":"example.com/b","Test":"TestB"}`,
		`{"Action":"output","Package":"example.com/b","Output":"FAIL\texample.com/b\t0.020s\n"}`,
		`{"Action":"fail","Package":"example.com/b","Elapsed":0.02}`,
		`{"ImportPath":"example.com/c","Action":"build-output","Output":"c.go:3:1: syntax error\n"}`,
		`{"ImportPath":"example.com/c","Action":"build-fail"}`,
		`{"Action":"skip","Package":"example.com/d","Elapsed":0}`,
	}, "\n")
	if err := r.consume(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"go: downloading example.com/x v1.0.0\n",
		"[1/3] ok  \texample.com/a\t0.012s\tcoverage: 85.0% of statements\n",
		"    b_test.go:9: got 1, want 2\n[2/3] FAIL\texample.com/b\t0.020s\n",
		"c.go:3:1: syntax error\n",
		"[3/3] ?   \texample.com/d\t0.000s\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "=== RUN") || strings.Contains(got, "--- PASS") {
		t.Errorf("a passing package's test output was shown:\n%s", got)
	}
	if !r.failed {
		t.Error("the report did not notice the failures")
	}
}

func TestTestReportHeartbeat(t *testing.T) {
	var out strings.Builder
	clock := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	r := newTestReport(&out, 31, 20*time.Millisecond)
	r.now = func() time.Time { return clock }
	r.event(testEvent{Action: "start", Package: "example.com/slow"})
	r.mu.Lock()
	r.last = clock
	clock = clock.Add(75 * time.Second)
	r.mu.Unlock()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { r.heartbeat(stop); close(done) }()
	deadline := time.After(2 * time.Second)
	for {
		r.mu.Lock()
		said := strings.Contains(out.String(), "[0/31] still running: example.com/slow (1m15s)")
		r.mu.Unlock()
		if said {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("no heartbeat:\n%s", out.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	close(stop)
	<-done
}
