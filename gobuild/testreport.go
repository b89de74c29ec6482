package gobuild

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// testEvent is one line of `go test -json` (cmd/test2json), the fields
// the report reads.
type testEvent struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail events
	Test       string
	Elapsed    float64
	Output     string
}

// testReport turns `go test -json` into what a person reads while a long
// test run goes on: one line per package as it finishes, numbered against
// the packages to test ("[12/31] ok  pkg  1.2s  coverage: 85.0%"), the
// whole output of a failing package or test, build errors, and, when
// nothing has been said for a while, which packages are still running and
// for how long. Lines that are not JSON (the go command's own messages)
// pass through.
type testReport struct {
	w       io.Writer
	total   int
	quiet   time.Duration
	now     func() time.Time
	mu      sync.Mutex
	done    int
	last    time.Time
	wait    time.Duration // the silence before the next heartbeat
	started map[string]time.Time
	output  map[string][]string // package -> its output, kept until it ends
	failed  bool
	raced   bool // the race detector reported a data race
}

func newTestReport(w io.Writer, total int, quiet time.Duration) *testReport {
	r := &testReport{w: w, total: total, quiet: quiet, wait: quiet, now: time.Now, started: map[string]time.Time{}, output: map[string][]string{}}
	r.last = r.now()
	return r
}

// consume reads the JSON stream until it ends.
func (r *testReport) consume(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev testEvent
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			r.say(string(line))
			continue
		}
		r.event(ev)
	}
	return sc.Err()
}

// lines is an io.Writer for the go command's standard error: each whole
// line goes out through the report, so that it never interleaves with
// the report's own lines.
func (r *testReport) lines() io.WriteCloser {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			r.say(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return &pipeLines{pw: pw, done: done}
}

type pipeLines struct {
	pw   *io.PipeWriter
	done chan struct{}
}

func (p *pipeLines) Write(b []byte) (int, error) { return p.pw.Write(b) }

// Close flushes the last line and waits until it is written.
func (p *pipeLines) Close() error {
	err := p.pw.Close()
	<-p.done
	return err
}

// say writes one line and remembers when.
func (r *testReport) say(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sayLocked(line)
}

func (r *testReport) sayLocked(line string) {
	fmt.Fprintln(r.w, line)
	r.last, r.wait = r.now(), r.quiet
}

func (r *testReport) event(ev testEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev.Action {
	case "build-output":
		r.sayLocked(strings.TrimRight(ev.Output, "\n"))
	case "build-fail":
		r.failed = true
	case "start":
		r.started[ev.Package] = r.now()
	case "output":
		r.output[ev.Package] = append(r.output[ev.Package], strings.TrimRight(ev.Output, "\n"))
		r.raced = r.raced || strings.Contains(ev.Output, "WARNING: DATA RACE")
	case "pass", "fail", "skip":
		if ev.Test != "" {
			return
		}
		r.finish(ev)
	}
}

// finish reports a package that ended: its summary line, and everything
// it printed when it failed.
func (r *testReport) finish(ev testEvent) {
	out := r.output[ev.Package]
	delete(r.output, ev.Package)
	delete(r.started, ev.Package)
	r.done++
	summary := summaryLine(out, ev)
	if ev.Action == "fail" {
		r.failed = true
		for _, l := range out {
			if l != "" && l != summary {
				r.sayLocked(l)
			}
		}
	}
	r.sayLocked(fmt.Sprintf("[%d/%d] %s", r.done, max(r.total, r.done), summary))
}

// summaryLine is go test's own line for the package (ok, FAIL, ? or the
// coverage of a package without tests), made from the event when the
// output holds none.
func summaryLine(out []string, ev testEvent) string {
	for i := len(out) - 1; i >= 0; i-- {
		l := out[i]
		if strings.HasPrefix(l, "ok  ") || strings.HasPrefix(l, "FAIL\t") || strings.HasPrefix(l, "?   ") ||
			(strings.HasPrefix(l, "\t") && strings.Contains(l, "coverage:")) {
			return strings.TrimLeft(l, "\t")
		}
	}
	word := map[string]string{"pass": "ok  ", "fail": "FAIL", "skip": "?   "}[ev.Action]
	return fmt.Sprintf("%s\t%s\t%.3fs", word, ev.Package, ev.Elapsed)
}

// heartbeat says which packages are still running when nothing has been
// written for the quiet period, then after twice that, and so on up to a
// minute; it returns when stop closes.
func (r *testReport) heartbeat(stop <-chan struct{}) {
	tick := time.NewTicker(max(r.quiet/5, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		r.mu.Lock()
		if len(r.started) > 0 && r.now().Sub(r.last) >= r.wait {
			// Each heartbeat waits twice as long as the last, up to a
			// minute, so a long package does not flood a CI log.
			next := min(2*r.wait, max(time.Minute, r.quiet))
			r.sayLocked(r.runningLocked())
			r.wait = next
		}
		r.mu.Unlock()
	}
}

func (r *testReport) runningLocked() string {
	names := make([]string, 0, len(r.started))
	for p := range r.started {
		names = append(names, p)
	}
	sort.Slice(names, func(i, j int) bool { return r.started[names[i]].Before(r.started[names[j]]) })
	now := r.now()
	parts := make([]string, 0, len(names))
	for _, p := range names[:min(len(names), 4)] {
		parts = append(parts, fmt.Sprintf("%s (%s)", p, now.Sub(r.started[p]).Round(time.Second)))
	}
	if len(names) > 4 {
		parts = append(parts, fmt.Sprintf("and %d more", len(names)-4))
	}
	return fmt.Sprintf("[%d/%d] still running: %s", r.done, max(r.total, r.done), strings.Join(parts, ", "))
}
