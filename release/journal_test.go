package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/registry"
)

// abandonAt makes the next run stop after stage as if it were killed there.
func abandonAt(t *testing.T, stage string) {
	t.Helper()
	afterStage = func(s string) error {
		if s == stage {
			return errAbandon
		}
		return nil
	}
	t.Cleanup(func() { afterStage = func(string) error { return nil } })
}

// TestJournalResumes abandons a release at several points, the way a kill
// leaves it, and checks that the plan names what is pending and that the
// next release ends where an uninterrupted one does. e2e does the same
// with SIGKILL through the real CLI.
func TestJournalResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs releases")
	}
	for _, tt := range []struct {
		stage, plan, run string
	}{
		{"build", "before it changed git", "it had changed nothing in git"},
		{"tag", "was interrupted in the tag stage", "finishing it with commit"},
		{"image tags", "was interrupted in the tag stage", "finishing it with commit"},
	} {
		t.Run(tt.stage, func(t *testing.T) {
			r := svcRepo(t)
			data := t.TempDir()
			rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64"},
				edit: func(c *config.Config) { c.Publish.Latest = true }}
			rl.embedded(data)
			abandonAt(t, tt.stage)
			if _, err := rl.run(ModeRelease, nil, okGates); !errors.Is(err, errAbandon) {
				t.Fatalf("abandoned release = %v", err)
			}
			afterStage = func(string) error { return nil }
			if p := rl.plan(ModeRelease, nil); !strings.Contains(p.Pending, tt.plan) {
				t.Errorf("plan after abandoning at %s: pending %q, want %q", tt.stage, p.Pending, tt.plan)
			}
			out, err := rl.run(ModeRelease, nil, okGates)
			if err != nil || !strings.Contains(out, tt.run) {
				t.Fatalf("rerun = %v, want it to say %q:\n%s", err, tt.run, out)
			}
			st := r.state()
			m := rl.manifest()
			if st.Version != "1.4.0\n" || !strings.Contains(st.Tags, "refs/tags/v1.4.0") || m.Tag != "v1.4.0" || len(m.Stages) != len(Pipeline) {
				t.Errorf("after the rerun: %+v, release.json %s with %d stages", st, m.Tag, len(m.Stages))
			}
			for _, s := range m.Stages {
				if s.Status == StatusFailed {
					t.Errorf("release.json keeps the failed stage %+v", s)
				}
			}
			if !registry.Holds(data, "svc", "latest", m.Images[0].Digest) || !registry.Holds(data, "svc", "1.4.0", m.Images[0].Digest) {
				t.Errorf("registry after the rerun lacks the tags of %s", m.Images[0].Digest)
			}
			if j, _ := readJournal(t.Context(), r.dir); j != nil {
				t.Errorf("a journal is left: %+v", j)
			}
		})
	}
}

// TestJournalCompletesRollback finds a journal that says a rollback was
// under way, as a process killed while undoing leaves it: the next release
// undoes the tag, the branch, VERSION and the registry tags, then releases
// again.
func TestJournalCompletesRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("runs releases")
	}
	r := svcRepo(t)
	data := t.TempDir()
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64"},
		edit: func(c *config.Config) { c.Publish.Latest = true }}
	rl.embedded(data)
	if _, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatal(err)
	}
	first := rl.manifest().Images[0].Digest
	r.change("feat: more")
	before := r.state()
	abandonAt(t, "image tags")
	if _, err := rl.run(ModeRelease, nil, okGates); !errors.Is(err, errAbandon) {
		t.Fatal(err)
	}
	afterStage = func(string) error { return nil }
	path := journalPath(t.Context(), r.dir)
	j, err := readJournal(t.Context(), r.dir)
	if err != nil || j == nil || len(j.TagStates) != 2 {
		t.Fatalf("journal = %+v, %v; want two recorded tag moves", j, err)
	}
	j.Phase = phaseRollingBack
	data2, _ := json.Marshal(j)
	os.WriteFile(path, data2, 0o644)
	if p := rl.plan(ModeRelease, nil); !strings.Contains(p.Pending, "completes the rollback") {
		t.Errorf("plan pending = %q, want the rollback named", p.Pending)
	}
	// Stop right after preflight to see the rolled-back state.
	abandonAt(t, "preflight")
	out, err := rl.run(ModeRelease, nil, okGates)
	if !errors.Is(err, errAbandon) || !strings.Contains(out, "completing the rollback") {
		t.Fatalf("run with a rollback pending = %v:\n%s", err, out)
	}
	if diff := gocmp.Diff(before, r.state()); diff != "" {
		t.Errorf("repository after the completed rollback (-before +after):\n%s", diff)
	}
	if !registry.Holds(data, "svc", "latest", first) || tagged(data, "svc", "1.5.0") {
		t.Error("registry tags were not put back: latest should be the first release's and 1.5.0 gone")
	}
}

func TestJournalDamaged(t *testing.T) {
	r := svcRepo(t)
	path := journalPath(context.Background(), r.dir)
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte("{"), 0o644)
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64", "REGISTRY": memRegistry(t)}}
	if _, err := rl.run(ModeRelease, nil, okGates); err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("release with a damaged journal = %v, want an error that says what to do", err)
	}
	w, _ := open(t, r.dir, map[string]string{"PLATFORMS": "linux/amd64"}, nil)
	if _, err := w.Plan(t.Context(), ModeRelease); err == nil {
		t.Error("plan with a damaged journal = nil error")
	}
}

func TestPrintPlan(t *testing.T) {
	r := svcRepo(t)
	host := memRegistry(t)
	w, out := open(t, r.dir, map[string]string{"PLATFORMS": "linux/amd64", "REGISTRY": host, "JSON": "1"}, nil)
	if err := w.PrintPlan(t.Context(), ModeRelease); err != nil {
		t.Fatal(err)
	}
	var p Plan
	if err := json.Unmarshal(out.Bytes(), &p); err != nil || p.Tag != "v1.4.0" || p.Commit == "" {
		t.Errorf("JSON plan = %+v, %v", p, err)
	}
	w.Env.JSON = false
	out.Reset()
	if err := w.PrintPlan(t.Context(), ModeSnapshot); err != nil || !strings.Contains(out.String(), "snapshot plan for svc") {
		t.Errorf("text snapshot plan = %v:\n%s", err, out)
	}
	r.write("README.md", "dirty\n")
	out.Reset()
	err := w.PrintPlan(t.Context(), ModeRelease)
	if err == nil || !strings.Contains(err.Error(), "would be refused") || !strings.Contains(out.String(), "refuses the release") {
		t.Errorf("plan of a dirty tree = %v:\n%s", err, out)
	}
}

func TestVerify(t *testing.T) {
	r := svcRepo(t)
	w, _ := open(t, r.dir, map[string]string{"PLATFORMS": "linux/amd64"}, nil)
	var out bytes.Buffer
	w.Out = &out
	if err := w.Verify(t.Context()); err != nil {
		t.Fatalf("Verify: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "OCI index") || strings.Contains(out.String(), "DIFF") {
		t.Errorf("verify report:\n%s", out.String())
	}
	if w.HasBinaries() {
		t.Error("HasBinaries() in a checkout nothing was built in = true")
	}
}
