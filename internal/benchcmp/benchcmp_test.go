package benchcmp

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// fixed is a side whose runs take the given wall times in turn, with CPU
// equal to twice the wall, and counts its prepares.
func fixed(name string, walls []time.Duration, prepared *int) Side {
	i := 0
	return Side{
		Name:    name,
		Prepare: func(context.Context, int) error { *prepared++; return nil },
		Run: func(context.Context, int) (Sample, error) {
			w := walls[i%len(walls)]
			i++
			return Sample{Wall: w, CPU: 2 * w, MaxRSS: int64(i) << 20}, nil
		},
	}
}

func TestRunStatistics(t *testing.T) {
	ms := time.Millisecond
	var pa, pb int
	// The first call of each side is the warm-up; then five pairs.
	a := fixed("hoist", []time.Duration{999 * ms, 100 * ms, 110 * ms, 90 * ms, 120 * ms, 100 * ms}, &pa)
	b := fixed("raw", []time.Duration{999 * ms, 200 * ms, 200 * ms, 200 * ms, 100 * ms, 400 * ms}, &pb)
	res, err := Run(t.Context(), Row{Name: "build", A: a, B: b, N: 5, Goal: 0.6}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if pa != 6 || pb != 6 {
		t.Errorf("prepares: %d and %d, want 6 each (one warm-up, five pairs)", pa, pb)
	}
	// Pair ratios: 0.5, 0.55, 0.45, 1.2, 0.25 → median 0.5, range 0.25–1.2.
	if res.Ratio != 0.5 || res.RatioMin != 0.25 || res.RatioMax != 1.2 {
		t.Errorf("ratio %.3f (%.3f–%.3f), want 0.5 (0.25–1.2)", res.Ratio, res.RatioMin, res.RatioMax)
	}
	if res.A.MedianWall != 100*ms || res.B.MedianWall != 200*ms {
		t.Errorf("medians %s and %s, want 100ms and 200ms", res.A.MedianWall, res.B.MedianWall)
	}
	if want := float64(520) / 1100; res.CPURatio < want-1e-9 || res.CPURatio > want+1e-9 {
		t.Errorf("CPU ratio %.4f, want %.4f", res.CPURatio, want)
	}
	if res.A.PeakRSS != 6<<20 || !res.Met() {
		t.Errorf("peak RSS %d, goal met %v; want 6 MiB and met", res.A.PeakRSS, res.Met())
	}
	md := Markdown([]Result{res})
	for _, want := range []string{"| build | 5 | hoist | 100 ms | raw | 200 ms | 0.50× (0.25–1.20) | ≤ 0.60× ✓ |"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	if data, err := JSON([]Result{res}); err != nil || !strings.Contains(string(data), `"ratio": 0.5`) {
		t.Errorf("JSON = %s, %v", data, err)
	}
}

func TestCommandAndParallel(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	run := Command(func(ctx context.Context, _ int) *exec.Cmd {
		return exec.CommandContext(ctx, sh, "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done")
	})
	s, err := run(t.Context(), 0)
	if err != nil || s.Wall <= 0 || s.CPU <= 0 {
		t.Fatalf("Command: %+v, %v; want a wall time and CPU time", s, err)
	}
	fail := Command(func(ctx context.Context, _ int) *exec.Cmd {
		return exec.CommandContext(ctx, sh, "-c", "echo broken >&2; exit 3")
	})
	if _, err := fail(t.Context(), 0); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("a failing command: %v, want its output in the error", err)
	}
	par := Parallel(2, func(ctx context.Context, _ int) []*exec.Cmd {
		var cmds []*exec.Cmd
		for range 3 {
			cmds = append(cmds, exec.CommandContext(ctx, sh, "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"))
		}
		return cmds
	})
	p, err := par(t.Context(), 0)
	if err != nil || p.CPU < 2*s.CPU/2 {
		t.Errorf("Parallel of three: %+v, %v; want about three times one command's CPU (%s)", p, err, s.CPU)
	}
}

func TestSplice(t *testing.T) {
	doc := []byte("# B\n\n" + DocBegin + "\nold\n" + DocEnd + "\n\nafter\n")
	out, err := Splice(doc, []byte("| new |\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := Spliced(out); !ok || got != "| new |" || !strings.HasSuffix(string(out), DocEnd+"\n\nafter\n") || !strings.HasPrefix(string(out), "# B\n\n") {
		t.Fatalf("spliced:\n%s", out)
	}
	if _, err := Splice([]byte("no markers"), nil); err == nil {
		t.Fatal("Splice without markers succeeded")
	}
}

// TestDocsQuoteLastOutput keeps docs/benchmarks.md equal to the last
// output of bench:compare, docs/bench/compare.md, which the target writes
// into both: a hand edit of either figure fails here.
func TestDocsQuoteLastOutput(t *testing.T) {
	doc, err := os.ReadFile("../../docs/benchmarks.md")
	if err != nil {
		t.Fatal(err)
	}
	table, err := os.ReadFile("../../docs/bench/compare.md")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := Spliced(doc)
	if !ok {
		t.Fatalf("docs/benchmarks.md has no bench:compare block (%s)", DocBegin)
	}
	if got != strings.TrimSpace(string(table)) {
		t.Errorf("docs/benchmarks.md's bench:compare block differs from docs/bench/compare.md: run go tool mage bench:compare, or copy the file in")
	}
}
