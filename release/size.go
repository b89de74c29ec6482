package release

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/version"
)

// sizeTrailer starts the line of a release tag's message that records the
// release's artifact sizes, for the next release to compare with. The tag
// travels with every clone, so a fresh CI runner finds the record where
// dist/ is long gone.
const sizeTrailer = "hoist-sizes: "

// Sizes maps an artifact key ("binary web linux/amd64", "archive
// linux/amd64", "image linux/amd64") to its size in bytes.
type Sizes map[string]int64

// measure reads the sizes of what this release built from the artifact
// list: binaries, archives and each platform image's compressed layers.
func (w *Workspace) measure() Sizes {
	s := Sizes{}
	for _, a := range w.Arts.All() {
		switch a.Type {
		case artifact.Binary:
			s["binary "+a.Name+" "+a.Platform] = a.Size
		case artifact.Archive:
			s["archive "+a.Platform] = a.Size
		case artifact.Image:
			s["image "+a.Platform] = a.Size
		}
	}
	return s
}

// trailer is the record as the tag message's last line.
func (s Sizes) trailer() string {
	data, _ := json.Marshal(map[string]int64(s)) // a map of strings to ints always encodes
	return sizeTrailer + string(data)
}

// sizesFromMessage reads the record from a tag message, or nil.
func sizesFromMessage(msg string) Sizes {
	for _, line := range strings.Split(msg, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), sizeTrailer); ok {
			var s Sizes
			if json.Unmarshal([]byte(rest), &s) == nil {
				return s
			}
		}
	}
	return nil
}

// previousSizes reads the record in the previous release's tag; ok is
// false when that tag holds none (it was not made by hoist, or by a hoist
// without size records).
func (w *Workspace) previousSizes(ctx context.Context, tag string) (Sizes, bool, error) {
	msg, err := git(ctx, w.Cfg.Dir, "tag", "-l", "--format=%(contents)", tag)
	if err != nil {
		return nil, false, fmt.Errorf("read the message of tag %s: %w", tag, err)
	}
	s := sizesFromMessage(msg)
	return s, s != nil, nil
}

// budgetFor is the growth allowed for key, in percent: HOIST_SIZE_BUDGET
// when set (it overrides everything for one run), else the first pattern
// of Size.Budgets (in sorted order) that matches, else Size.Budget, else
// the default.
func (w *Workspace) budgetFor(key string) float64 {
	if w.Env.SizeBudget != nil {
		return *w.Env.SizeBudget
	}
	pats := make([]string, 0, len(w.Cfg.Size.Budgets))
	for p := range w.Cfg.Size.Budgets {
		pats = append(pats, p)
	}
	sort.Strings(pats)
	for _, p := range pats {
		if globMatch(p, key) {
			return w.Cfg.Size.Budgets[p]
		}
	}
	if w.Cfg.Size.Budget != 0 {
		return w.Cfg.Size.Budget
	}
	return config.DefaultSizeBudget
}

// globMatch matches s against a pattern where * stands for any text.
func globMatch(pattern, s string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	ok, _ := regexp.MatchString(re, s)
	return ok
}

// sizeRow is one artifact compared with the previous release.
type sizeRow struct {
	key       string
	prev, now int64
	budget    float64
	over      bool
}

// compareSizes compares now with prev, artifact by artifact. Artifacts new
// in this release, or gone from it, have nothing to be compared with.
func (w *Workspace) compareSizes(prev, now Sizes) []sizeRow {
	var rows []sizeRow
	for _, k := range slices.Sorted(mapsKeys(now)) {
		p, ok := prev[k]
		if !ok || p <= 0 {
			continue
		}
		r := sizeRow{key: k, prev: p, now: now[k], budget: w.budgetFor(k)}
		r.over = float64(r.now) > float64(r.prev)*(1+r.budget/100)
		rows = append(rows, r)
	}
	return rows
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// writeSizeTable prints the comparison: artifact, previous, now, change,
// budget, and which are over.
func writeSizeTable(out io.Writer, prevTag string, rows []sizeRow) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "artifact\t%s\tnow\tchange\tbudget\t\n", prevTag)
	for _, r := range rows {
		mark := ""
		if r.over {
			mark = "OVER BUDGET"
		}
		change := 100 * (float64(r.now) - float64(r.prev)) / float64(r.prev)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%+.1f%%\t+%g%%\t%s\n", r.key, humanBytes(r.prev), humanBytes(r.now), change, r.budget, mark)
	}
	_ = tw.Flush()
	_, _ = io.WriteString(out, b.String())
}

// sizeStage compares what this release built with the previous release's
// record, before anything is published, and makes the record for the next.
type sizeStage struct{}

func (sizeStage) Name() string { return "size" }

func (sizeStage) Skip(st *State) (string, bool) {
	if reason, skip := st.nothing(); skip {
		return reason, true
	}
	if st.Mode == ModeSnapshot {
		return "snapshots are not compared; releases record and compare their sizes", true
	}
	if st.W.Cfg.Size.Off {
		return "skipped on purpose: HOIST_SIZE_BUDGET=off (Size.Off)", true
	}
	return "", false
}

func (s sizeStage) Plan(ctx context.Context, st *State) (string, error) {
	w, prevTag := st.W, st.Decision.PreviousTag
	budget := fmt.Sprintf("+%g%%", w.budgetFor(""))
	if len(w.Cfg.Size.Budgets) > 0 {
		budget += " (other budgets by pattern)"
	}
	if prevTag == "" {
		return "first release: records the size of every binary, archive and image in the tag, for the next release to compare with", nil
	}
	if _, ok, err := w.previousSizes(ctx, prevTag); err != nil {
		return "", err
	} else if !ok {
		return fmt.Sprintf("%s holds no size record (not released by hoist): records this release's sizes in the tag, for the next release to compare with", prevTag), nil
	}
	return fmt.Sprintf("compares every binary, archive and image with %s's sizes, budget %s, before anything is published; records the sizes in the tag", prevTag, budget), nil
}

func (s sizeStage) Run(ctx context.Context, st *State) (string, error) {
	reason, err := s.Plan(ctx, st)
	if err != nil {
		return "", err
	}
	w := st.W
	now := w.measure()
	msg := st.tagMessage
	if msg == "" {
		msg = tagMessageOf(st)
	}
	st.tagMessage = strings.TrimRight(msg, "\n") + "\n\n" + now.trailer() + "\n"
	prevTag := st.Decision.PreviousTag
	if prevTag == "" {
		return reason, nil
	}
	prev, ok, err := w.previousSizes(ctx, prevTag)
	if err != nil || !ok {
		if !ok {
			w.Logf("size", "%s has no size record: this release's sizes are recorded for the next one", prevTag)
		}
		return reason, err
	}
	err = w.timeGate("size", reason, func() error {
		rows := w.compareSizes(prev, now)
		writeSizeTable(w.Writer("size"), prevTag, rows)
		var over []string
		for _, r := range rows {
			if r.over {
				over = append(over, r.key)
			}
		}
		if len(over) > 0 {
			return fmt.Errorf("%s grew past the size budget over %s (see the table): make it smaller, or allow more with HOIST_SIZE_BUDGET (percent, for this run) or Size.Budget / Size.Budgets in the magefile", strings.Join(over, ", "), prevTag)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return reason, nil
}

// tagMessageOf is the release tag's message before the size record: the
// changelog of the release.
func tagMessageOf(st *State) string {
	return version.TagMessage(st.Decision.Tag, st.Decision.Commits)
}
