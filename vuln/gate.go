package vuln

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Allow accepts one vulnerability knowingly, for a while.
type Allow struct {
	// ID is the OSV identifier (GO-…), or one of its aliases (CVE-…,
	// GHSA-…).
	ID string
	// Reason says why it is acceptable, for whoever reviews the gate.
	Reason string
	// Until is the last day the exception holds; after it the gate fails
	// again. Required: an exception without an end is a decision nobody
	// revisits.
	Until time.Time
}

// ErrVulnerable means a vulnerable function is reachable from a released
// binary and no unexpired Allow entry accepts it.
var ErrVulnerable = errors.New("reachable vulnerability")

// Gate decides on r as of now: it fails on every Called finding that no
// Allow entry accepts and on every Allow entry that has expired or lacks a
// reason or an end date, and writes to w one block per finding: the ID and
// summary, the module with the found and fixed versions, the call path and
// the fix. Imported and Required findings are reported as notices only.
func (r *Report) Gate(out io.Writer, allow []Allow, now time.Time) error {
	// Whole lines in one write, for writers that prefix each line.
	var w strings.Builder
	defer func() { _, _ = io.WriteString(out, w.String()) }()
	var problems []string
	today := now.UTC().Truncate(24 * time.Hour)
	for _, a := range allow {
		switch {
		case a.ID == "":
			problems = append(problems, "an Allow entry names no ID: give the GO-… identifier it accepts")
		case a.Reason == "":
			problems = append(problems, fmt.Sprintf("Allow %s gives no Reason: say why it is acceptable", a.ID))
		case a.Until.IsZero():
			problems = append(problems, fmt.Sprintf("Allow %s has no Until date: give the day the exception ends", a.ID))
		case a.Until.UTC().Before(today):
			problems = append(problems, fmt.Sprintf("Allow %s expired on %s (%s): fix it or renew the exception with a new Until", a.ID, a.Until.Format(time.DateOnly), a.Reason))
		}
	}
	var called, accepted, notices int
	for _, f := range r.Findings {
		a, ok := allowed(allow, f, today)
		switch {
		case f.Level == Called && ok:
			accepted++
			fmt.Fprintf(&w, "accepted until %s (%s): ", a.Until.Format(time.DateOnly), a.Reason)
		case f.Level == Called:
			called++
			fmt.Fprint(&w, "VULNERABLE: ")
		default:
			notices++
			fmt.Fprintf(&w, "notice (%s, not reachable): ", f.Level)
		}
		writeFinding(&w, f)
	}
	fmt.Fprintf(&w, "%d reachable, %d accepted, %d only %s; database %s%s\n", called, accepted, notices, "imported or required", r.DB, modified(r.DBModified))
	if called > 0 {
		problems = append(problems, fmt.Sprintf("%d reachable %s: upgrade as shown above, or accept one knowingly with an Allow entry (ID, Reason, Until) in Vuln.Allow", called, plural(called, "vulnerability", "vulnerabilities")))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrVulnerable, strings.Join(problems, "; "))
}

func allowed(allow []Allow, f Finding, today time.Time) (Allow, bool) {
	for _, a := range allow {
		if a.Reason == "" || a.Until.IsZero() || a.Until.UTC().Before(today) {
			continue
		}
		if a.ID == f.ID {
			return a, true
		}
		for _, alias := range f.Aliases {
			if a.ID == alias {
				return a, true
			}
		}
	}
	return Allow{}, false
}

func writeFinding(w io.Writer, f Finding) {
	fmt.Fprintf(w, "%s", f.ID)
	if len(f.Aliases) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(f.Aliases, ", "))
	}
	if f.Summary != "" {
		fmt.Fprintf(w, ": %s", f.Summary)
	}
	fmt.Fprintln(w)
	fixed := f.Fixed
	if fixed == "" {
		fixed = "none yet"
	}
	fmt.Fprintf(w, "    module %s, found %s, fixed %s", f.Module, f.Found, fixed)
	if len(f.Platforms) > 0 {
		fmt.Fprintf(w, ", on %s", strings.Join(f.Platforms, ", "))
	}
	fmt.Fprintln(w)
	if len(f.Path) > 0 {
		steps := make([]string, len(f.Path))
		for i, fr := range f.Path {
			steps[i] = fr.String()
			if fr.Position != "" {
				steps[i] += " (" + fr.Position + ")"
			}
		}
		fmt.Fprintf(w, "    call path: %s\n", strings.Join(steps, " -> "))
	}
	fmt.Fprintf(w, "    fix: %s\n", f.Fix())
}

func modified(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ", updated " + t.UTC().Format(time.DateOnly)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
