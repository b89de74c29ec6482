package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/version"
)

// Txn makes the git side of a release all-or-nothing. It is begun before
// VERSION is bumped and remembers HEAD and VERSION's exact bytes and mode;
// Finish commits and tags once everything else succeeded, and Rollback puts
// the repository back the way Begin found it, whatever stage failed.
//
// A Txn is not safe for concurrent use; a release drives it from one
// goroutine.
type Txn struct {
	dir     string // the module root git runs in
	file    string // absolute path of VERSION
	rel     string // VERSION relative to dir, for git pathspecs
	top     string // VERSION relative to the repository root, for tree paths
	head    string // HEAD at Begin
	orig    []byte
	mode    fs.FileMode
	commit  string // the release commit this Txn made, if any
	tag     string // the tag this Txn created, if any
	tagObj  string // what the tag pointed at when created
	written bool   // Finish changed VERSION in the work tree
	// prepared is the release commit Prepare wrote to the object store,
	// which no ref points at until Finish.
	prepared string
}

// Begin starts a release transaction in the module root dir for the
// VERSION file versionFile (relative to dir or absolute; "" means
// "VERSION"). VERSION must exist and have no staged change, which
// Preflight's clean-tree check guarantees.
func Begin(ctx context.Context, dir, versionFile string) (*Txn, error) {
	if versionFile == "" {
		versionFile = "VERSION"
	}
	file := versionFile
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	rel, err := filepath.Rel(dir, file)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("begin release in %s: VERSION file %s is outside the module; keep it in the module root", dir, file)
	}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("begin release in %s: %w (create it with a first version, e.g. `echo 0.1.0 > %s`)", dir, err, file)
	}
	orig, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("begin release in %s: %w", dir, err)
	}
	head, err := git(ctx, dir, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return nil, fmt.Errorf("begin release in %s (the repository needs at least one commit): %w", dir, err)
	}
	rel = filepath.ToSlash(rel)
	// Tree paths (update-index --cacheinfo, rev:path) are relative to the
	// repository root, not to dir, in a module that lives in a subdirectory.
	prefix, err := git(ctx, dir, "rev-parse", "--show-prefix")
	if err != nil {
		return nil, fmt.Errorf("begin release in %s: %w", dir, err)
	}
	// A staged VERSION would be swept into the release commit and could not
	// be told apart from the bump on rollback.
	if _, err := git(ctx, dir, "diff", "--cached", "--quiet", "--", rel); err != nil {
		return nil, fmt.Errorf("begin release in %s: %s has staged changes; commit them or unstage them with `git restore --staged %s`", dir, rel, rel)
	}
	return &Txn{dir: dir, file: file, rel: rel, top: prefix + rel, head: head, orig: orig, mode: fi.Mode().Perm()}, nil
}

// Head returns the commit HEAD pointed at when the transaction began.
func (t *Txn) Head() string { return t.head }

// Commit returns the release commit Finish made, or "" when there was none
// (VERSION was released as is, or Finish has not run).
func (t *Txn) Commit() string { return t.commit }

// Prepare writes the release commit, HEAD's tree with VERSION set to v,
// into git's object store without moving any ref or touching the work tree
// or the index, and returns it with its commit time. The build stamps that
// commit and time, so that the binaries, the image and the tag all name the
// same commit and checking out the tag rebuilds the same bytes; Finish then
// moves the branch to it. When VERSION already holds v (a version released
// as is) the release commit is HEAD itself. Until Finish, nothing in the
// repository has changed: an interrupted release leaves only an unreachable
// object that git gc removes.
//
// The release commit carries HEAD's commit time (or when, if not zero, as a
// SOURCE_DATE_EPOCH gives), not the clock: a rerun after a failure writes
// the very same commit, so the binaries and the image get the same digests
// and the registry converges instead of collecting new ones.
func (t *Txn) Prepare(ctx context.Context, v *semver.Version, tagName string, when time.Time) (string, time.Time, error) {
	if v == nil {
		return "", time.Time{}, fmt.Errorf("prepare release %s: no version given", tagName)
	}
	content := []byte(v.String() + "\n")
	commit := t.head
	if !bytes.Equal(bytes.TrimRight(t.orig, "\r\n"), bytes.TrimRight(content, "\n")) {
		if when.IsZero() {
			var err error
			if when, err = version.CommitTime(ctx, t.dir, t.head); err != nil {
				return "", time.Time{}, fmt.Errorf("prepare release %s: %w", tagName, err)
			}
		}
		c, err := t.writeCommit(ctx, content, "release: "+tagName, when)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("prepare release %s: %w", tagName, err)
		}
		commit = c
		t.prepared = c
	}
	ct, err := version.CommitTime(ctx, t.dir, commit)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("prepare release %s: %w", tagName, err)
	}
	return commit, ct, nil
}

// writeCommit stores a commit whose tree is HEAD's with VERSION replaced by
// content, using a private index so that the user's index stays as it is.
func (t *Txn) writeCommit(ctx context.Context, content []byte, message string, when time.Time) (string, error) {
	blob, err := gitIn(ctx, t.dir, nil, content, "hash-object", "-w", "--stdin")
	if err != nil {
		return "", err
	}
	mode := "100644"
	if entry, err := git(ctx, t.dir, "ls-tree", t.head, "--", t.rel); err == nil && strings.HasPrefix(entry, "100755") {
		mode = "100755"
	}
	idx, err := os.CreateTemp("", "hoist-release-index-*")
	if err != nil {
		return "", err
	}
	idx.Close()
	defer os.Remove(idx.Name())
	env := []string{"GIT_INDEX_FILE=" + idx.Name()}
	if _, err := gitIn(ctx, t.dir, env, nil, "read-tree", t.head); err != nil {
		return "", err
	}
	if _, err := gitIn(ctx, t.dir, env, nil, "update-index", "--add", "--cacheinfo", mode+","+blob+","+t.top); err != nil {
		return "", err
	}
	tree, err := gitIn(ctx, t.dir, env, nil, "write-tree")
	if err != nil {
		return "", err
	}
	date := fmt.Sprintf("@%d +0000", when.Unix())
	return gitIn(ctx, t.dir, []string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}, nil, "commit-tree", tree, "-p", t.head, "-m", message)
}

// Finish records the release in git: it moves the branch to the commit
// Prepare wrote (a compare-and-swap that refuses if HEAD moved), updates
// VERSION in the work tree and index, keeping the file's mode, and creates
// the annotated tag tagName with tagMessage on the release commit, or on
// HEAD for a version released as is. It returns the commit the tag points
// at. When it fails half-way, Rollback still undoes whatever part
// succeeded, and calling Finish again tags the same commit.
func (t *Txn) Finish(ctx context.Context, tagName, tagMessage string) (string, error) {
	// The few git commands of Finish run to completion even when ctx ends:
	// a git killed half-way leaves lock files that would block the rollback.
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("finish release %s: %w", tagName, err)
	}
	ctx = context.WithoutCancel(ctx)
	if t.tag != "" {
		return "", fmt.Errorf("finish release %s: this transaction already created tag %s", tagName, t.tag)
	}
	if t.prepared != "" && t.commit == "" {
		if _, err := git(ctx, t.dir, "update-ref", "-m", "release: "+tagName, "HEAD", t.prepared, t.head); err != nil {
			return "", fmt.Errorf("finish release %s: move the branch to the release commit (did HEAD move during the release?): %w", tagName, err)
		}
		t.commit, t.written = t.prepared, true
		if _, err := git(ctx, t.dir, "checkout", t.prepared, "--", t.rel); err != nil {
			return "", fmt.Errorf("finish release %s: write %s: %w", tagName, t.rel, err)
		}
		if err := os.Chmod(t.file, t.mode); err != nil {
			return "", fmt.Errorf("finish release %s: %w", tagName, err)
		}
	}
	target := t.head
	if t.commit != "" {
		target = t.commit
	}
	if err := version.CreateAnnotatedTag(ctx, t.dir, tagName, tagMessage, target); err != nil {
		return "", fmt.Errorf("finish release %s: %w", tagName, err)
	}
	t.tag = tagName
	obj, err := git(ctx, t.dir, "rev-parse", "--verify", "refs/tags/"+tagName)
	if err != nil {
		return "", fmt.Errorf("finish release %s: read back the new tag: %w", tagName, err)
	}
	t.tagObj = obj
	return target, nil
}

// Rollback undoes what the transaction did, in reverse: it deletes the tag
// it created, moves the branch back to the commit HEAD had at Begin when it
// committed (keeping every other file and staged change as it is), and
// restores VERSION byte for byte with its mode. It is safe to call at any
// point, several times, and after a Finish that failed half-way. It also
// undoes a successful Finish, for a caller whose later step failed.
//
// Rollback refuses to move a branch or delete a tag that changed since this
// transaction made them, rather than lose someone else's work.
func (t *Txn) Rollback(ctx context.Context) error {
	var errs []error
	if t.tag != "" {
		obj, err := git(ctx, t.dir, "rev-parse", "--verify", "-q", "refs/tags/"+t.tag)
		switch {
		case err != nil: // already gone
			t.tag = ""
		case obj != t.tagObj:
			errs = append(errs, fmt.Errorf("roll back tag %s: it now points at %s, not at the release; check it and delete it by hand with `git tag -d %s` if it is stale", t.tag, obj, t.tag))
		default:
			if err := version.DeleteTag(ctx, t.dir, t.tag); err != nil {
				errs = append(errs, fmt.Errorf("roll back: %w", err))
			} else {
				t.tag = ""
			}
		}
	}
	if t.commit != "" && len(errs) == 0 {
		head, err := git(ctx, t.dir, "rev-parse", "--verify", "HEAD^{commit}")
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("roll back release commit: %w", err))
		case head != t.commit:
			errs = append(errs, fmt.Errorf("roll back release commit %s: HEAD moved on to %s since; reset by hand with `git reset --soft %s` if the release commit should go", short(t.commit), short(head), short(t.head)))
		default:
			if err := version.ResetSoft(ctx, t.dir, t.head); err != nil {
				errs = append(errs, fmt.Errorf("roll back release commit: %w", err))
			} else {
				t.commit = ""
			}
		}
	}
	if t.written && len(errs) == 0 {
		if err := t.restoreVersion(ctx); err != nil {
			errs = append(errs, err)
		} else {
			t.written = false
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("roll back release in %s: %w", t.dir, err)
	}
	return nil
}

// restoreVersion puts VERSION back in the index (where a failed commit may
// have staged it) and in the work tree, then rewrites the remembered bytes
// and mode in case they differed from what HEAD holds.
func (t *Txn) restoreVersion(ctx context.Context) error {
	if _, err := git(ctx, t.dir, "cat-file", "-e", t.head+":"+t.top); err == nil {
		if err := version.RestoreFiles(ctx, t.dir, t.head, t.rel); err != nil {
			return fmt.Errorf("restore %s: %w", t.rel, err)
		}
	}
	cur, err := os.ReadFile(t.file)
	if err == nil && bytes.Equal(cur, t.orig) {
		if fi, err := os.Stat(t.file); err == nil && fi.Mode().Perm() == t.mode {
			return nil
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(t.file), "."+filepath.Base(t.file)+".restore*")
	if err != nil {
		return fmt.Errorf("restore %s: %w", t.rel, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(t.orig)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), t.mode)); err != nil {
		return fmt.Errorf("restore %s: %w", t.rel, err)
	}
	if err := os.Rename(tmp.Name(), t.file); err != nil {
		return fmt.Errorf("restore %s: %w", t.rel, err)
	}
	return nil
}

// short abbreviates a commit hash for messages.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
