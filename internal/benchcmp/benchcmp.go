// Package benchcmp measures one command against another the way a skeptic
// accepts: in alternating pairs (A B A B …) after untimed warm-ups, so that
// load drift hits both sides alike, reporting per row the medians, the
// median of the per-pair wall ratios with its range, the CPU ratio of the
// process trees, the peak RSS and the load average before and after.
package benchcmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sample is one timed run of a side.
type Sample struct {
	// Wall is the elapsed time.
	Wall time.Duration `json:"wall_ns"`
	// CPU is user plus system time of the process tree.
	CPU time.Duration `json:"cpu_ns"`
	// MaxRSS is the largest resident set of any process of the tree, in
	// bytes.
	MaxRSS int64 `json:"max_rss"`
}

// Side is one of the two things a row compares.
type Side struct {
	// Name labels the side in the report, such as "hoist go:build".
	Name string
	// Prepare runs before every run of this side, untimed: delete dist/,
	// pick a new repository. Optional.
	Prepare func(ctx context.Context, run int) error
	// Run does the timed work and says what it cost; see Command and
	// Parallel.
	Run func(ctx context.Context, run int) (Sample, error)
}

// Row is one comparison.
type Row struct {
	// Name says what is compared, such as "no-op 4-platform build".
	Name string
	// A is hoist's side, B the yardstick; ratios are A over B.
	A, B Side
	// Warmup runs of each side precede the measured pairs. Default 1;
	// negative for none (a cold run has nothing to warm).
	Warmup int
	// N is the number of measured pairs. Default 5.
	N int
	// Goal, when set, is the ratio A/B the row should stay under, shown
	// with the result.
	Goal float64
}

// SideResult summarises one side's measured runs.
type SideResult struct {
	Name       string        `json:"name"`
	MedianWall time.Duration `json:"median_wall_ns"`
	MedianCPU  time.Duration `json:"median_cpu_ns"`
	PeakRSS    int64         `json:"peak_rss"`
	Samples    []Sample      `json:"samples"`
}

// Result is a measured row.
type Result struct {
	Row string     `json:"row"`
	N   int        `json:"n"`
	A   SideResult `json:"a"`
	B   SideResult `json:"b"`
	// Ratio is the median of the per-pair wall ratios A/B, with the
	// smallest and largest.
	Ratio    float64 `json:"ratio"`
	RatioMin float64 `json:"ratio_min"`
	RatioMax float64 `json:"ratio_max"`
	// CPURatio is A's total CPU over B's.
	CPURatio   float64    `json:"cpu_ratio"`
	Goal       float64    `json:"goal,omitempty"`
	LoadBefore [3]float64 `json:"load_before"`
	LoadAfter  [3]float64 `json:"load_after"`
}

// Met reports whether the row has a goal and the median ratio meets it.
func (r Result) Met() bool { return r.Goal > 0 && r.Ratio <= r.Goal }

// Run measures row: Warmup runs of each side, then N alternating pairs,
// the side that goes first alternating too. Progress goes to log.
func Run(ctx context.Context, row Row, log io.Writer) (Result, error) {
	switch {
	case row.Warmup == 0:
		row.Warmup = 1
	case row.Warmup < 0:
		row.Warmup = 0
	}
	if row.N == 0 {
		row.N = 5
	}
	res := Result{Row: row.Name, N: row.N, Goal: row.Goal, A: SideResult{Name: row.A.Name}, B: SideResult{Name: row.B.Name}}
	one := func(s Side, run int) (Sample, error) {
		if s.Prepare != nil {
			if err := s.Prepare(ctx, run); err != nil {
				return Sample{}, fmt.Errorf("%s: prepare: %w", s.Name, err)
			}
		}
		smp, err := s.Run(ctx, run)
		if err != nil {
			return Sample{}, fmt.Errorf("%s: %w", s.Name, err)
		}
		return smp, nil
	}
	for i := range row.Warmup {
		for _, s := range []Side{row.A, row.B} {
			if _, err := one(s, -1-i); err != nil {
				return res, fmt.Errorf("%s: warm-up: %w", row.Name, err)
			}
		}
	}
	res.LoadBefore = loadavg()
	var ratios []float64
	var cpuA, cpuB time.Duration
	for i := range row.N {
		order := []*SideResult{&res.A, &res.B}
		sides := []Side{row.A, row.B}
		if i%2 == 1 {
			order[0], order[1], sides[0], sides[1] = order[1], order[0], sides[1], sides[0]
		}
		for k, s := range sides {
			smp, err := one(s, i)
			if err != nil {
				return res, fmt.Errorf("%s: pair %d: %w", row.Name, i+1, err)
			}
			order[k].Samples = append(order[k].Samples, smp)
		}
		a, b := res.A.Samples[i], res.B.Samples[i]
		ratios = append(ratios, float64(a.Wall)/float64(b.Wall))
		cpuA += a.CPU
		cpuB += b.CPU
		fmt.Fprintf(log, "%s: pair %d/%d: %s %s, %s %s\n", row.Name, i+1, row.N, row.A.Name, a.Wall.Round(time.Millisecond), row.B.Name, b.Wall.Round(time.Millisecond))
	}
	res.LoadAfter = loadavg()
	for _, s := range []*SideResult{&res.A, &res.B} {
		s.MedianWall = median(s.Samples, func(x Sample) time.Duration { return x.Wall })
		s.MedianCPU = median(s.Samples, func(x Sample) time.Duration { return x.CPU })
		for _, x := range s.Samples {
			s.PeakRSS = max(s.PeakRSS, x.MaxRSS)
		}
	}
	slices.Sort(ratios)
	res.Ratio, res.RatioMin, res.RatioMax = medianFloat(ratios), ratios[0], ratios[len(ratios)-1]
	if cpuB > 0 {
		res.CPURatio = float64(cpuA) / float64(cpuB)
	}
	return res, nil
}

func median(xs []Sample, f func(Sample) time.Duration) time.Duration {
	v := make([]time.Duration, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func medianFloat(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// loadavg reads the 1, 5 and 15 minute load averages; zeros where the
// system does not offer /proc/loadavg.
func loadavg() [3]float64 {
	var l [3]float64
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(data))
	for i := 0; i < 3 && i < len(f); i++ {
		fmt.Sscan(f[i], &l[i])
	}
	return l
}

// Command returns a Run that starts the command make builds for each run
// and measures it: wall time, and the CPU time and peak RSS of its
// process tree (the waited-for descendants included, as the kernel
// accounts them to the child).
func Command(build func(ctx context.Context, run int) *exec.Cmd) func(ctx context.Context, run int) (Sample, error) {
	return func(ctx context.Context, run int) (Sample, error) {
		cmd := build(ctx, run)
		var out strings.Builder
		if cmd.Stdout == nil {
			cmd.Stdout = &out
		}
		if cmd.Stderr == nil {
			cmd.Stderr = &out
		}
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		if err != nil {
			return Sample{}, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, tail(out.String(), 2000))
		}
		return sampleOf(cmd.ProcessState, wall), nil
	}
}

// Parallel returns a Run that starts the commands make builds for each
// run, at most jobs at once, and measures them as one: the wall time of
// the whole, their CPU times summed, the largest RSS.
func Parallel(jobs int, build func(ctx context.Context, run int) []*exec.Cmd) func(ctx context.Context, run int) (Sample, error) {
	return func(ctx context.Context, run int) (Sample, error) {
		cmds := build(ctx, run)
		sem := make(chan struct{}, max(jobs, 1))
		var mu sync.Mutex
		var total Sample
		var errs []error
		var wg sync.WaitGroup
		start := time.Now()
		for _, cmd := range cmds {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				out, err := cmd.CombinedOutput()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, tail(string(out), 2000)))
					return
				}
				s := sampleOf(cmd.ProcessState, 0)
				total.CPU += s.CPU
				total.MaxRSS = max(total.MaxRSS, s.MaxRSS)
			}()
		}
		wg.Wait()
		total.Wall = time.Since(start)
		return total, errors.Join(errs...)
	}
}

func sampleOf(ps *os.ProcessState, wall time.Duration) Sample {
	return Sample{Wall: wall, CPU: ps.UserTime() + ps.SystemTime(), MaxRSS: maxRSS(ps)}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// Markdown renders results as the table docs/benchmarks.md quotes.
func Markdown(results []Result) string {
	var b strings.Builder
	b.WriteString("| row | n | A | median A | B | median B | A/B median (min–max) | goal | CPU A/B | peak RSS A / B | load before → after |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		goal := ""
		if r.Goal > 0 {
			mark := "✗"
			if r.Met() {
				mark = "✓"
			}
			goal = fmt.Sprintf("≤ %.2f× %s", r.Goal, mark)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %.2f× (%.2f–%.2f) | %s | %.2f× | %s / %s | %.2f → %.2f |\n",
			r.Row, r.N, r.A.Name, dur(r.A.MedianWall), r.B.Name, dur(r.B.MedianWall), r.Ratio, r.RatioMin, r.RatioMax,
			goal, r.CPURatio, mib(r.A.PeakRSS), mib(r.B.PeakRSS), r.LoadBefore[0], r.LoadAfter[0])
	}
	return b.String()
}

// JSON renders results for machines.
func JSON(results []Result) ([]byte, error) {
	data, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode comparison results: %w", err)
	}
	return append(data, '\n'), nil
}

func dur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%d ms", int64(math.Round(float64(d)/float64(time.Millisecond))))
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// The markers around the part of docs/benchmarks.md that bench:compare
// writes: the last output, as compare.md holds it.
const (
	DocBegin = "<!-- bench:compare output begins: written by go tool mage bench:compare, do not edit -->"
	DocEnd   = "<!-- bench:compare output ends -->"
)

// Splice puts table between the markers of doc, replacing what was there.
func Splice(doc, table []byte) ([]byte, error) {
	s := string(doc)
	i, j := strings.Index(s, DocBegin), strings.Index(s, DocEnd)
	if i < 0 || j < i {
		return nil, fmt.Errorf("the document has no %q … %q block for bench:compare's table", DocBegin, DocEnd)
	}
	return []byte(s[:i+len(DocBegin)] + "\n\n" + strings.TrimSpace(string(table)) + "\n\n" + s[j:]), nil
}

// Spliced returns what lies between the markers of doc.
func Spliced(doc []byte) (string, bool) {
	s := string(doc)
	i, j := strings.Index(s, DocBegin), strings.Index(s, DocEnd)
	if i < 0 || j < i {
		return "", false
	}
	return strings.TrimSpace(s[i+len(DocBegin) : j]), true
}
