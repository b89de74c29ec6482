package release

import (
	"context"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/config"
)

// TestCoverageRatchet: before any release there is no gate; a release
// records the coverage go:test measured at its commit in the tag; the
// next gate is that figure; a fixed CoverageMin or none replace it.
func TestCoverageRatchet(t *testing.T) {
	r := svcRepo(t)
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64"}, edit: func(c *config.Config) { c.Image.Skip = true }}
	w, _ := open(t, r.dir, nil, nil)
	if min, how := w.CoverageGate(t.Context()); min >= 0 || !strings.Contains(how, "no release tag yet") {
		t.Fatalf("gate before any release = %v, %q", min, how)
	}
	// The test gate measures 63.24% at HEAD, as go:test would record it.
	gates := okGates
	gates.Test = func(ctx context.Context) error {
		ws, _ := open(t, r.dir, nil, nil)
		return ws.RecordCoverage(ctx, 63.24)
	}
	if out, err := rl.run(ModeRelease, nil, gates); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	if msg := r.git("tag", "-l", "--format=%(contents)", "v1.4.0"); !strings.Contains(msg, "hoist-coverage: 63.2") {
		t.Fatalf("the tag does not record the coverage:\n%s", msg)
	}
	w, _ = open(t, r.dir, nil, nil)
	if min, how := w.CoverageGate(t.Context()); min != 63.2 || !strings.Contains(how, "v1.4.0 recorded") {
		t.Fatalf("gate after the release = %v, %q", min, how)
	}
	for _, c := range []struct {
		env  string
		want float64
	}{{"80", 80}, {"-1", -1}, {"0", -1}, {"ratchet", 63.2}} {
		w, _ := open(t, r.dir, map[string]string{"COVERAGE_MIN": c.env}, nil)
		if min, _ := w.CoverageGate(t.Context()); min != c.want {
			t.Errorf("COVERAGE_MIN=%s: gate %v, want %v", c.env, min, c.want)
		}
	}

	// A record from another commit is not this release's: nothing is
	// recorded rather than a wrong figure.
	r.change("feat: more")
	gates.Test = noGate
	if out, err := rl.run(ModeRelease, nil, gates); err != nil {
		t.Fatalf("second release: %v\n%s", err, out)
	}
	if msg := r.git("tag", "-l", "--format=%(contents)", "v1.5.0"); strings.Contains(msg, "hoist-coverage") {
		t.Fatalf("v1.5.0 records a coverage its tests did not measure:\n%s", msg)
	}
	// That release does not reset the ratchet.
	w, _ = open(t, r.dir, nil, nil)
	if min, how := w.CoverageGate(t.Context()); min != 63.2 || !strings.Contains(how, "v1.4.0 recorded") {
		t.Fatalf("gate after a release without a record = %v, %q", min, how)
	}
}
