package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
)

// TestTxnPrepare writes the release commit up front without touching any
// ref, the index or the work tree, then Finish moves the branch to exactly
// that commit, and Rollback undoes it all.
func TestTxnPrepare(t *testing.T) {
	r := releaseRepo(t)
	ctx := context.Background()
	before := r.state()
	txn, err := Begin(ctx, r.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	commit, when, err := txn.Prepare(ctx, semver.MustParse("0.2.0"), "v0.2.0", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if commit == before.Head || when.IsZero() {
		t.Fatalf("Prepare() = %s at %v, want a new commit with a time", commit, when)
	}
	if headTime := r.git("log", "-1", "--format=%ct", before.Head); fmt.Sprint(when.Unix()) != headTime {
		t.Errorf("the release commit's time = %d, want HEAD's %s, not the clock", when.Unix(), headTime)
	}
	// Preparing again, as a rerun after a failure does, gives the same commit.
	again, err := Begin(ctx, r.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if c2, _, err := again.Prepare(ctx, semver.MustParse("0.2.0"), "v0.2.0", time.Time{}); err != nil || c2 != commit {
		t.Errorf("second Prepare() = %s, %v; want the same commit %s", c2, err, commit)
	}
	if got := r.state(); got != before {
		t.Fatalf("Prepare changed the repository:\n%+v\nwant\n%+v", got, before)
	}
	if got := r.git("show", commit+":VERSION"); got != "0.2.0" {
		t.Errorf("the prepared commit's VERSION = %q, want 0.2.0", got)
	}
	if got := r.git("rev-parse", commit+"^"); got != before.Head {
		t.Errorf("the prepared commit's parent = %s, want HEAD %s", got, before.Head)
	}
	if files := r.git("diff-tree", "--no-commit-id", "--name-only", "-r", commit); files != "VERSION" {
		t.Errorf("the prepared commit changes %q, want only VERSION", files)
	}

	got, err := txn.Finish(ctx, "v0.2.0", "Release v0.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if got != commit || r.git("rev-parse", "HEAD") != commit || r.git("rev-parse", "v0.2.0^{commit}") != commit {
		t.Errorf("Finish() = %s; HEAD and the tag must be the prepared %s", got, commit)
	}
	if v, _ := os.ReadFile(filepath.Join(r.dir, "VERSION")); string(v) != "0.2.0\n" {
		t.Errorf("VERSION after Finish = %q", v)
	}
	if st := r.git("status", "--porcelain", "--", "VERSION"); st != "" {
		t.Errorf("VERSION is not clean after Finish: %q", st)
	}
	if !strings.Contains(r.git("diff", "--cached", "--name-only"), "staged.txt") {
		t.Error("Finish lost the user's staged change")
	}

	if err := txn.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if after := r.state(); after != before {
		t.Errorf("after Rollback:\n%+v\nwant\n%+v", after, before)
	}
}

// TestTxnPrepareAsIs returns HEAD when VERSION already holds the version.
func TestTxnPrepareAsIs(t *testing.T) {
	r := newRepo(t, "1.0.0")
	ctx := context.Background()
	txn, err := Begin(ctx, r.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	head := r.git("rev-parse", "HEAD")
	commit, _, err := txn.Prepare(ctx, semver.MustParse("1.0.0"), "v1.0.0", time.Time{})
	if err != nil || commit != head {
		t.Fatalf("Prepare(as is) = %s, %v; want HEAD %s", commit, err, head)
	}
	if got, err := txn.Finish(ctx, "v1.0.0", "Release v1.0.0"); err != nil || got != head {
		t.Errorf("Finish() = %s, %v; want a tag on HEAD", got, err)
	}
}

// TestTxnFinishRefusesMovedHead refuses to move a branch that moved on.
func TestTxnFinishRefusesMovedHead(t *testing.T) {
	r := newRepo(t, "1.0.0")
	ctx := context.Background()
	txn, err := Begin(ctx, r.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := txn.Prepare(ctx, semver.MustParse("1.1.0"), "v1.1.0", time.Time{}); err != nil {
		t.Fatal(err)
	}
	moved := r.commit("fix: sneaked in")
	if _, err := txn.Finish(ctx, "v1.1.0", "x"); err == nil || !strings.Contains(err.Error(), "HEAD move") {
		t.Errorf("Finish after HEAD moved = %v, want a refusal", err)
	}
	if r.git("rev-parse", "HEAD") != moved {
		t.Error("Finish moved a branch that had moved on")
	}
}

// TestTxnPrepareSubdirectory releases a module that lives in a
// subdirectory of the repository, as a monorepo service does.
func TestTxnPrepareSubdirectory(t *testing.T) {
	r := newRepo(t, "9.9.9")
	r.write("svc/VERSION", "1.0.0\n")
	r.write("svc/go.mod", "module example.com/svc\n")
	r.git("add", "svc")
	r.git("commit", "-q", "-m", "feat: svc")
	ctx := context.Background()
	dir := filepath.Join(r.dir, "svc")
	txn, err := Begin(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	when := time.Unix(1700000000, 0)
	commit, got, err := txn.Prepare(ctx, semver.MustParse("1.1.0"), "svc/v1.1.0", when)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(when) {
		t.Errorf("Prepare(when) time = %v, want %v", got, when)
	}
	if files := r.git("diff-tree", "--no-commit-id", "--name-only", "-r", commit); files != "svc/VERSION" {
		t.Errorf("the prepared commit changes %q, want only svc/VERSION", files)
	}
	if _, err := txn.Finish(ctx, "svc/v1.1.0", "Release svc/v1.1.0"); err != nil {
		t.Fatal(err)
	}
	if v, _ := os.ReadFile(filepath.Join(dir, "VERSION")); string(v) != "1.1.0\n" {
		t.Errorf("svc/VERSION after Finish = %q", v)
	}
	if st := r.git("status", "--porcelain"); st != "" {
		t.Errorf("tree not clean after Finish: %q", st)
	}
	if err := txn.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := os.ReadFile(filepath.Join(dir, "VERSION")); string(v) != "1.0.0\n" {
		t.Errorf("svc/VERSION after Rollback = %q", v)
	}
	if st := r.git("status", "--porcelain"); st != "" {
		t.Errorf("tree not clean after Rollback: %q", st)
	}
}
