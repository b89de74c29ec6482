package release

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	commit, when, err := txn.Prepare(ctx, semver.MustParse("0.2.0"), "v0.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if commit == before.Head || when.IsZero() {
		t.Fatalf("Prepare() = %s at %v, want a new commit with a time", commit, when)
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
	after := r.state()
	after.Mode = before.Mode // git checkout writes VERSION with git's mode; the bytes are what matter
	if after != before {
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
	commit, _, err := txn.Prepare(ctx, semver.MustParse("1.0.0"), "v1.0.0")
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
	if _, _, err := txn.Prepare(ctx, semver.MustParse("1.1.0"), "v1.1.0"); err != nil {
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
