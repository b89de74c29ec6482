package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/hoistdev/hoist/internal/atomicfile"
)

// coverageTrailer starts the line of a release tag's message that records
// the total test coverage the release was made with, for the next
// release's ratchet. Like the size record, it travels with every clone.
const coverageTrailer = "hoist-coverage: "

// coverageFile is where go:test leaves the total it measured, with the
// commit it measured, for the tag stage to record.
const coverageFile = ".hoist/coverage.json"

type coverageRecord struct {
	Commit string  `json:"commit"`
	Total  float64 `json:"total"`
}

// CoverageGate is the total coverage go:test requires, and a line that
// says where it comes from. CoverageMin above zero is a fixed gate and
// below zero none. Zero, the default, is a ratchet: at least what the
// last release recorded in its tag (to a tenth of a percent), and no gate
// before a release has recorded one; that release records its own.
func (w *Workspace) CoverageGate(ctx context.Context) (float64, string) {
	switch min := w.Cfg.CoverageMin; {
	case min > 0:
		return min, fmt.Sprintf("at least %g%% (CoverageMin, COVERAGE_MIN)", min)
	case min < 0:
		return -1, "no coverage gate (CoverageMin < 0, COVERAGE_MIN=-1)"
	}
	tag, rec, ok := w.lastCoverage(ctx)
	if !ok {
		what := "no release tag yet"
		if tag != "" {
			what = tag + " recorded none"
		}
		return -1, fmt.Sprintf("coverage ratchet: %s, so no gate; the next release records this coverage and later ones may not go below it (a fixed gate: CoverageMin or COVERAGE_MIN)", what)
	}
	return rec, fmt.Sprintf("coverage ratchet: at least %.1f%%, what %s recorded (a fixed gate instead: CoverageMin or COVERAGE_MIN)", rec, tag)
}

// lastCoverage reads the coverage record of the newest release tag
// reachable from HEAD that has one, so that a release made without
// measuring (its gates skipped) does not reset the ratchet; tag is the
// newest release tag when none has a record.
func (w *Workspace) lastCoverage(ctx context.Context) (tag string, v float64, ok bool) {
	prefix, _, err := w.tagPrefix(ctx)
	if err != nil {
		return "", 0, false
	}
	out, err := git(ctx, w.Cfg.Dir, "for-each-ref", "--merged", "HEAD", "--sort=-v:refname", "--count=50",
		"--format=%(refname:short)%00%(contents)%00", "refs/tags/"+prefix+"[0-9]*")
	if err != nil || out == "" {
		return "", 0, false
	}
	fields := strings.Split(out, "\x00")
	for i := 0; i+1 < len(fields); i += 2 {
		name := strings.TrimSpace(fields[i])
		if tag == "" {
			tag = name
		}
		if v, ok := coverageFromMessage(fields[i+1]); ok {
			return name, v, true
		}
	}
	return tag, 0, false
}

// coverageFromMessage reads the coverage record of a tag message.
func coverageFromMessage(msg string) (float64, bool) {
	for _, line := range strings.Split(msg, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), coverageTrailer); ok {
			v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), "%"), 64)
			if err == nil && v >= 0 && v <= 100 {
				return v, true
			}
		}
	}
	return 0, false
}

// RecordCoverage keeps the total coverage go:test measured at HEAD, for
// the release tag to record.
func (w *Workspace) RecordCoverage(ctx context.Context, total float64) error {
	rev, err := w.headRevision(ctx)
	if err != nil {
		return nil // not a git checkout: there is no release to record it in
	}
	data, err := json.Marshal(coverageRecord{Commit: rev.Commit, Total: math.Round(total*10) / 10})
	if err != nil {
		return err
	}
	if err := atomicfile.ReplaceBytes(ctx, w.Dist(coverageFile), data, 0o644); err != nil {
		return fmt.Errorf("record the coverage: %w", err)
	}
	return nil
}

// withCoverage adds the coverage record to a release tag's message when
// go:test measured the commit the release was made from.
func (w *Workspace) withCoverage(msg, head string) string {
	if _, ok := coverageFromMessage(msg); ok {
		return msg
	}
	data, err := os.ReadFile(w.Dist(coverageFile))
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return msg
	}
	var rec coverageRecord
	if json.Unmarshal(data, &rec) != nil || rec.Commit != head {
		return msg
	}
	return strings.TrimRight(msg, "\n") + "\n" + coverageTrailer + strconv.FormatFloat(rec.Total, 'f', 1, 64) + "\n"
}
