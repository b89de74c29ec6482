//go:build mage

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/internal/benchcmp"
)

// Bench groups hoist's comparisons with its peers.
type Bench mg.Namespace

// Compare measures hoist against raw go build, ko and GoReleaser in alternating pairs, in mage's default mode and through the hoist command.
//
// It installs the pinned peers (ko, GoReleaser) from the Go module proxy
// into ~/.cache/hoist-tools the first time, clones HEAD as the sample
// service (cmd/web), starts a local registry both sides push to, and
// writes docs/bench/compare.md and docs/bench/compare.json, which
// docs/benchmarks.md quotes. Run it with nothing else on the machine.
//
// Env: BENCH_N (pairs per quick row, default 5; cold rows take half),
// BENCH_ROWS (only rows whose name contains it).
func (Bench) Compare(ctx context.Context) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("bench:compare: no cache directory for the peers: %w", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	o := benchcmp.Options{Root: root, Tools: filepath.Join(cache, "hoist-tools"), Rows: os.Getenv("BENCH_ROWS"), Log: os.Stdout}
	if v := os.Getenv("BENCH_N"); v != "" {
		if o.N, err = strconv.Atoi(v); err != nil || o.N < 1 {
			return fmt.Errorf("BENCH_N=%q: give a number of pairs, such as 5", v)
		}
	}
	n := o.N
	if n == 0 {
		n = 5
	}
	results, err := benchcmp.Compare(ctx, o)
	if o.Rows != "" {
		results = mergeResults(filepath.Join("docs", "bench", "compare.json"), results)
	}
	if len(results) > 0 {
		host, _ := os.Hostname()
		load, _ := os.ReadFile("/proc/loadavg")
		head := fmt.Sprintf("Measured %s on %s (%d CPUs, load %s at the end) with `BENCH_N=%d go tool mage bench:compare`.\n\n",
			time.Now().UTC().Format(time.DateOnly), host, numCPU(), strings.Join(strings.Fields(string(load))[:3], " "), n)
		if o.Rows != "" {
			head = fmt.Sprintf("Rows containing %q measured again %s with `BENCH_N=%d BENCH_ROWS=%q go tool mage bench:compare`; the others come from the run before (see compare.json).\n\n",
				o.Rows, time.Now().UTC().Format(time.DateOnly), n, o.Rows)
		}
		table := []byte(head + benchcmp.Markdown(results))
		if werr := os.WriteFile(filepath.Join("docs", "bench", "compare.md"), table, 0o644); werr != nil {
			return werr
		}
		docPath := filepath.Join("docs", "benchmarks.md")
		doc, rerr := os.ReadFile(docPath)
		if rerr != nil {
			return rerr
		}
		if doc, rerr = benchcmp.Splice(doc, table); rerr != nil {
			return fmt.Errorf("%s: %w", docPath, rerr)
		}
		if werr := os.WriteFile(docPath, doc, 0o644); werr != nil {
			return werr
		}
		data, jerr := benchcmp.JSON(results)
		if jerr != nil {
			return jerr
		}
		if werr := os.WriteFile(filepath.Join("docs", "bench", "compare.json"), data, 0o644); werr != nil {
			return werr
		}
		fmt.Print(benchcmp.Markdown(results))
	}
	return err
}

func numCPU() int { return runtime.NumCPU() }

// mergeResults puts the rows just measured in place of the same rows of
// the last full run, so that measuring some rows again keeps one table.
func mergeResults(path string, fresh []benchcmp.Result) []benchcmp.Result {
	var old []benchcmp.Result
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &old) != nil {
		return fresh
	}
	byName := map[string]benchcmp.Result{}
	for _, r := range fresh {
		byName[r.Row] = r
	}
	out := make([]benchcmp.Result, 0, len(old)+len(fresh))
	for _, r := range old {
		if n, ok := byName[r.Row]; ok {
			r = n
			delete(byName, r.Row)
		}
		out = append(out, r)
	}
	for _, r := range fresh {
		if _, ok := byName[r.Row]; ok {
			out = append(out, r)
		}
	}
	return out
}
