package release

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"
)

var errBoom = errors.New("boom")

// releaseRepo is a repository with a release v0.1.0 behind it, a feat
// commit since, VERSION in CRLF form with an unusual mode, and unrelated
// work in progress (a staged file and an unstaged edit) that a release must
// neither commit nor disturb.
func releaseRepo(t *testing.T) *testRepo {
	t.Helper()
	r := newRepo(t, "0.1.0")
	r.write("VERSION", "0.1.0\r\n")
	if err := os.Chmod(filepath.Join(r.dir, "VERSION"), 0o640); err != nil {
		t.Fatal(err)
	}
	r.git("commit", "-q", "-am", "chore: crlf")
	r.git("tag", "-a", "-m", "Release v0.1.0", "v0.1.0")
	r.commit("feat: shiny")
	r.write("staged.txt", "staged\n")
	r.git("add", "staged.txt")
	r.write("file1.txt", "edited, not staged\n")
	r.write("dist/old.txt", "ignored output\n")
	return r
}

// TestTxnEachStageFails runs a release-shaped pipeline through a Recorder
// and a Txn, makes each stage fail in turn (the commit and the tag for real,
// through a hook and a ref lock), rolls back and checks that the repository
// is exactly as it was.
func TestTxnEachStageFails(t *testing.T) {
	stages := []string{"bump", "build", "package", "image", "push", "commit", "tag", "manifest"}
	for _, fail := range append(stages, "") {
		name := fail
		if name == "" {
			name = "none"
		}
		t.Run(name, func(t *testing.T) {
			r := releaseRepo(t)
			switch fail {
			case "commit":
				// A held lock on the branch makes git refuse to move it.
				lock := filepath.Join(r.dir, ".git", "refs", "heads", "main.lock")
				if err := os.WriteFile(lock, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			case "tag":
				lock := filepath.Join(r.dir, ".git", "refs", "tags", "v0.2.0.lock")
				if err := os.WriteFile(lock, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := r.state()
			ctx := t.Context()
			rec := &Recorder{}
			step := func(name string, fn func() error) error {
				done := rec.Stage(name)
				err := fn()
				if name == fail && fail != "commit" && fail != "tag" {
					err = errBoom
				}
				done("", err)
				return err
			}
			write := func(p string) func() error {
				return func() error {
					return os.WriteFile(filepath.Join(r.dir, "dist", p), []byte(p), 0o644)
				}
			}
			txn, err := Begin(ctx, r.dir, "")
			if err != nil {
				t.Fatalf("Begin() = %v", err)
			}
			run := func() error {
				if err := step("bump", func() error {
					_, _, err := txn.Prepare(ctx, semver.MustParse("0.2.0"), "v0.2.0", time.Time{})
					return err
				}); err != nil {
					return err
				}
				for _, s := range []string{"build", "package", "image", "push"} {
					if err := step(s, write(s)); err != nil {
						return err
					}
				}
				if err := step("commit", func() error {
					_, err := txn.Finish(ctx, "v0.2.0", "Release v0.2.0\n\nFeatures:\n- shiny\n")
					return err
				}); err != nil {
					return err
				}
				// The tag was created by Finish above; its stage reports
				// the outcome for the test's table.
				if err := step("tag", func() error { return nil }); err != nil {
					return err
				}
				return step("manifest", func() error { return nil })
			}
			err = run()
			if fail == "" {
				if err != nil {
					t.Fatalf("release pipeline = %v, want success", err)
				}
				if got := r.git("cat-file", "-t", "v0.2.0"); got != "tag" {
					t.Errorf("v0.2.0 is a %q object, want an annotated tag", got)
				}
				if got := r.git("log", "-1", "--format=%s"); got != "release: v0.2.0" {
					t.Errorf("release commit subject = %q, want %q", got, "release: v0.2.0")
				}
				if got := r.git("show", "--format=", "--name-only", "HEAD"); got != "VERSION" {
					t.Errorf("release commit touches %q, want only VERSION", got)
				}
				after := r.state()
				if after.Version != "0.2.0\n" || after.Mode.Perm() != 0o640 {
					t.Errorf("VERSION after release = %q mode %v, want %q mode 0640", after.Version, after.Mode.Perm(), "0.2.0\n")
				}
				if after.Status != before.Status {
					t.Errorf("git status after release = %q, want the work in progress untouched: %q", after.Status, before.Status)
				}
				if txn.State().Prepared != after.Head {
					t.Errorf("the prepared commit = %s, want HEAD %s", txn.State().Prepared, after.Head)
				}
				return
			}
			if err == nil {
				t.Fatalf("release pipeline with %s failing = nil, want an error", fail)
			}
			if fail == "commit" || fail == "tag" {
				if errors.Is(err, errBoom) {
					t.Fatalf("stage %s failed with the injected error, want a real git failure", fail)
				}
			}
			for i := 0; i < 2; i++ { // Rollback must be idempotent
				if err := txn.Rollback(ctx); err != nil {
					t.Fatalf("Rollback() #%d = %v, want nil", i+1, err)
				}
			}
			if diff := cmp.Diff(before, r.state()); diff != "" {
				t.Errorf("repository after failing %s and rolling back differs (-before +after):\n%s", fail, diff)
			}
			got := rec.Stages()
			wantStage := fail
			if fail == "tag" {
				wantStage = "commit" // Finish does both
			}
			last := got[len(got)-1]
			if last.Name != wantStage || last.Status != StatusFailed || last.Error == "" {
				t.Errorf("last recorded stage = %+v, want %s failed with a note", last, wantStage)
			}
			if !rec.Failed() {
				t.Errorf("Recorder.Failed() = false, want true")
			}
		})
	}
}

func TestTxnReleasedAsIs(t *testing.T) {
	r := newRepo(t, "0.1.0")
	before := r.state()
	txn, err := Begin(t.Context(), r.dir, "VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if c, _, err := txn.Prepare(t.Context(), semver.MustParse("0.1.0"), "v0.1.0", time.Time{}); err != nil || c != before.Head {
		t.Fatalf("Prepare(as is) = %s, %v; want HEAD", c, err)
	}
	target, err := txn.Finish(t.Context(), "v0.1.0", "Release v0.1.0")
	if err != nil {
		t.Fatalf("Finish() = %v", err)
	}
	if target != before.Head || txn.State().Prepared != "" {
		t.Errorf("Finish() = %s with commit %q, want the tag on HEAD %s and no commit", target, txn.State().Prepared, before.Head)
	}
	if txn.Head() != before.Head {
		t.Errorf("Head() = %s, want %s", txn.Head(), before.Head)
	}
	// Finishing again, as a run that resumes an interrupted one does,
	// finds the work done.
	if again, err := txn.Finish(t.Context(), "v0.1.0", ""); err != nil || again != target {
		t.Errorf("second Finish() = %s, %v; want %s, nil", again, err, target)
	}
	if err := txn.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, r.state()); diff != "" {
		t.Errorf("after Rollback (-before +after):\n%s", diff)
	}
}

func TestTxnFinishRetryAfterTagFailure(t *testing.T) {
	r := releaseRepo(t)
	lock := filepath.Join(r.dir, ".git", "refs", "tags", "v0.2.0.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	txn, err := Begin(t.Context(), r.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := txn.Prepare(t.Context(), semver.MustParse("0.2.0"), "v0.2.0", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Finish(t.Context(), "v0.2.0", "msg"); err == nil {
		t.Fatal("Finish() with a locked tag ref = nil, want an error")
	}
	commit := txn.State().Prepared
	if commit == "" {
		t.Fatal("Commit() after a failed tag = empty, want the release commit")
	}
	os.Remove(lock)
	target, err := txn.Finish(t.Context(), "v0.2.0", "msg")
	if err != nil {
		t.Fatalf("Finish() retry = %v", err)
	}
	if target != commit || r.git("rev-parse", "v0.2.0^{commit}") != commit {
		t.Errorf("Finish() retry tagged %s, want the first release commit %s", target, commit)
	}
	if n := r.git("rev-list", "--count", "v0.1.0..HEAD"); n != "2" {
		t.Errorf("commits since v0.1.0 = %s, want 2 (feat + one release commit)", n)
	}
}

func TestTxnRollbackRefuses(t *testing.T) {
	tests := []struct {
		name  string
		after func(r *testRepo)
		want  string
		tag   bool // whether the tag is expected to survive
	}{
		{
			name:  "HEAD moved on",
			after: func(r *testRepo) { r.commit("fix: later") },
			want:  "HEAD moved",
		},
		{
			name: "tag replaced",
			after: func(r *testRepo) {
				r.git("tag", "-f", "-a", "-m", "someone else", "v0.2.0", "HEAD~1")
			},
			want: "not at the release commit",
			tag:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t, "0.1.0")
			r.git("tag", "-a", "-m", "v0.1.0", "v0.1.0")
			r.commit("feat: x")
			txn, err := Begin(t.Context(), r.dir, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := txn.Prepare(t.Context(), semver.MustParse("0.2.0"), "v0.2.0", time.Time{}); err != nil {
				t.Fatal(err)
			}
			if _, err := txn.Finish(t.Context(), "v0.2.0", "msg"); err != nil {
				t.Fatal(err)
			}
			tt.after(r)
			head := r.git("rev-parse", "HEAD")
			err = txn.Rollback(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Rollback() = %v, want an error mentioning %q", err, tt.want)
			}
			if got := r.git("rev-parse", "HEAD"); got != head {
				t.Errorf("HEAD after refused Rollback = %s, want it left at %s", got, head)
			}
			hasTag := r.git("tag", "-l", "v0.2.0") != ""
			if hasTag != tt.tag {
				t.Errorf("tag v0.2.0 exists after Rollback = %v, want %v", hasTag, tt.tag)
			}
		})
	}
}

func TestBeginErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(r *testRepo) (dir, file string)
		want  string
	}{
		{
			name:  "missing VERSION",
			setup: func(r *testRepo) (string, string) { return r.dir, "NOPE" },
			want:  "echo 0.1.0",
		},
		{
			name:  "outside the module",
			setup: func(r *testRepo) (string, string) { return r.dir, "../VERSION" },
			want:  "outside the module",
		},
		{
			name: "staged VERSION",
			setup: func(r *testRepo) (string, string) {
				r.write("VERSION", "0.9.0\n")
				r.git("add", "VERSION")
				return r.dir, ""
			},
			want: "staged changes",
		},
		{
			name: "no commits",
			setup: func(r *testRepo) (string, string) {
				dir := t.TempDir()
				e := &testRepo{t: t, dir: dir}
				e.git("init", "-q")
				e.write("VERSION", "0.1.0\n")
				return dir, ""
			},
			want: "at least one commit",
		},
		{
			name: "unreadable VERSION",
			setup: func(r *testRepo) (string, string) {
				if err := os.Mkdir(filepath.Join(r.dir, "VDIR"), 0o755); err != nil {
					t.Fatal(err)
				}
				return r.dir, "VDIR"
			},
			want: "VDIR",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t, "0.1.0")
			dir, file := tt.setup(r)
			_, err := Begin(t.Context(), dir, file)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Begin(%s, %q) = %v, want an error mentioning %q", dir, file, err, tt.want)
			}
		})
	}
}

func TestTxnPrepareNilVersion(t *testing.T) {
	r := newRepo(t, "0.1.0")
	txn, err := Begin(t.Context(), r.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := txn.Prepare(t.Context(), nil, "v1", time.Time{}); err == nil {
		t.Errorf("Prepare(nil) = nil error, want one")
	}
	if err := txn.Rollback(t.Context()); err != nil {
		t.Errorf("Rollback() = %v", err)
	}
}
