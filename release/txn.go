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

	"github.com/hoistdev/hoist/internal/atomicfile"
	"github.com/hoistdev/hoist/version"
)

// Txn makes the git side of a release all-or-nothing. It is begun before
// VERSION is bumped and remembers HEAD and VERSION's exact bytes and mode;
// Finish commits and tags once everything else succeeded, and Rollback puts
// the repository back the way Begin found it, whatever stage failed.
//
// Finish and Rollback look at the repository rather than trust what this
// process remembers doing, so both also complete the work of a process that
// was killed half-way: the release journal keeps a Txn's TxnState, and the
// next run rebuilds the Txn from it with ResumeTxn.
//
// A Txn is not safe for concurrent use; a release drives it from one
// goroutine.
type Txn struct {
	s   TxnState
	env []string // extra git environment, for a dry run's object directory
}

// TxnState is what a Txn knows, in a form the release journal stores.
type TxnState struct {
	// Dir is the module root git runs in.
	Dir string `json:"dir"`
	// File is VERSION's absolute path.
	File string `json:"file"`
	// Rel is VERSION relative to Dir, for git pathspecs.
	Rel string `json:"rel"`
	// Top is VERSION relative to the repository root, for tree paths.
	Top string `json:"top"`
	// Head is HEAD at Begin.
	Head string `json:"head"`
	// Orig is VERSION's content at Begin, byte for byte.
	Orig []byte `json:"orig"`
	// Mode is VERSION's permission bits at Begin.
	Mode fs.FileMode `json:"mode"`
	// Prepared is the release commit Prepare wrote, or "" for a version
	// released as is from HEAD.
	Prepared string `json:"prepared,omitempty"`
	// Tag is the tag Finish creates.
	Tag string `json:"tag,omitempty"`
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
	return &Txn{s: TxnState{Dir: dir, File: file, Rel: rel, Top: prefix + rel, Head: head, Orig: orig, Mode: fi.Mode().Perm()}}, nil
}

// ResumeTxn rebuilds the transaction of an earlier process from its state,
// so that its Finish or Rollback can be completed.
func ResumeTxn(s TxnState) *Txn { return &Txn{s: s} }

// State returns what the transaction knows, for the release journal.
func (t *Txn) State() TxnState { return t.s }

// Head returns the commit HEAD pointed at when the transaction began.
func (t *Txn) Head() string { return t.s.Head }

// target is the commit the tag points at: the release commit, or HEAD for
// a version released as is.
func (t *Txn) target() string {
	if t.s.Prepared != "" {
		return t.s.Prepared
	}
	return t.s.Head
}

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
	t.s.Tag = tagName
	content := []byte(v.String() + "\n")
	if bytes.Equal(bytes.TrimRight(t.s.Orig, "\r\n"), bytes.TrimRight(content, "\n")) {
		ct, err := version.CommitTime(ctx, t.s.Dir, t.s.Head)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("prepare release %s: %w", tagName, err)
		}
		return t.s.Head, ct, nil
	}
	if when.IsZero() {
		var err error
		if when, err = version.CommitTime(ctx, t.s.Dir, t.s.Head); err != nil {
			return "", time.Time{}, fmt.Errorf("prepare release %s: %w", tagName, err)
		}
	}
	c, err := t.writeCommit(ctx, content, "release: "+tagName, when)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("prepare release %s: %w", tagName, err)
	}
	t.s.Prepared = c
	return c, when.UTC(), nil
}

// PlanCommit returns the release commit Prepare would write for v, and its
// time, without writing anything to the repository: git hashes the commit
// into a throwaway object directory that can read the real one. A plan
// stamps what the run will stamp this way.
func PlanCommit(ctx context.Context, dir, versionFile string, v *semver.Version, tagName string, when time.Time) (string, time.Time, error) {
	t, err := Begin(ctx, dir, versionFile)
	if err != nil {
		return "", time.Time{}, err
	}
	objects, err := git(ctx, dir, "rev-parse", "--path-format=absolute", "--git-path", "objects")
	if err != nil {
		return "", time.Time{}, fmt.Errorf("plan the release commit: %w", err)
	}
	tmp, err := os.MkdirTemp("", "hoist-plan-objects-")
	if err != nil {
		return "", time.Time{}, fmt.Errorf("plan the release commit: %w", err)
	}
	defer os.RemoveAll(tmp)
	t.env = []string{"GIT_OBJECT_DIRECTORY=" + tmp, "GIT_ALTERNATE_OBJECT_DIRECTORIES=" + objects}
	return t.Prepare(ctx, v, tagName, when)
}

// writeCommit stores a commit whose tree is HEAD's with VERSION replaced by
// content, using a private index so that the user's index stays as it is.
func (t *Txn) writeCommit(ctx context.Context, content []byte, message string, when time.Time) (string, error) {
	blob, err := gitIn(ctx, t.s.Dir, t.env, content, "hash-object", "-w", "--stdin")
	if err != nil {
		return "", err
	}
	mode := "100644"
	if entry, err := gitIn(ctx, t.s.Dir, t.env, nil, "ls-tree", t.s.Head, "--", t.s.Rel); err == nil && strings.HasPrefix(entry, "100755") {
		mode = "100755"
	}
	idx, err := os.CreateTemp("", "hoist-release-index-*")
	if err != nil {
		return "", err
	}
	idx.Close()
	defer os.Remove(idx.Name())
	env := append([]string{"GIT_INDEX_FILE=" + idx.Name()}, t.env...)
	if _, err := gitIn(ctx, t.s.Dir, env, nil, "read-tree", t.s.Head); err != nil {
		return "", err
	}
	if _, err := gitIn(ctx, t.s.Dir, env, nil, "update-index", "--add", "--cacheinfo", mode+","+blob+","+t.s.Top); err != nil {
		return "", err
	}
	tree, err := gitIn(ctx, t.s.Dir, env, nil, "write-tree")
	if err != nil {
		return "", err
	}
	date := fmt.Sprintf("@%d +0000", when.Unix())
	return gitIn(ctx, t.s.Dir, append([]string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}, t.env...), nil, "commit-tree", tree, "-p", t.s.Head, "-m", message)
}

// Finish records the release in git: it moves the branch to the commit
// Prepare wrote (a compare-and-swap that refuses if HEAD moved), updates
// VERSION in the work tree and index, keeping the file's mode, and creates
// the annotated tag tagName with tagMessage on the release commit, or on
// HEAD for a version released as is. It returns the commit the tag points
// at. Each step first looks whether it is already done, so calling Finish
// again, in this process or a later one that resumed the transaction,
// completes what an interruption left half-way.
func (t *Txn) Finish(ctx context.Context, tagName, tagMessage string) (string, error) {
	// The few git commands of Finish run to completion even when ctx ends:
	// a git killed half-way leaves lock files that would block the rollback.
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("finish release %s: %w", tagName, err)
	}
	ctx = context.WithoutCancel(ctx)
	t.s.Tag = tagName
	if t.s.Prepared != "" {
		head, err := git(ctx, t.s.Dir, "rev-parse", "--verify", "HEAD^{commit}")
		if err != nil {
			return "", fmt.Errorf("finish release %s: %w", tagName, err)
		}
		if head != t.s.Prepared {
			if _, err := git(ctx, t.s.Dir, "update-ref", "-m", "release: "+tagName, "HEAD", t.s.Prepared, t.s.Head); err != nil {
				return "", fmt.Errorf("finish release %s: move the branch to the release commit (did HEAD move during the release?): %w", tagName, err)
			}
		}
		killpoint("finish: branch moved")
		if err := t.writeVersion(ctx); err != nil {
			return "", fmt.Errorf("finish release %s: %w", tagName, err)
		}
		killpoint("finish: VERSION written")
	}
	target := t.target()
	switch obj, err := t.tagCommit(ctx); {
	case err != nil:
		return "", fmt.Errorf("finish release %s: %w", tagName, err)
	case obj == "":
		if err := version.CreateAnnotatedTag(ctx, t.s.Dir, tagName, tagMessage, target); err != nil {
			return "", fmt.Errorf("finish release %s: %w", tagName, err)
		}
	case obj != target:
		return "", fmt.Errorf("finish release %s: tag %s already exists on %s, not on the release commit %s; delete it with `git tag -d %s` if it is stale", tagName, tagName, short(obj), short(target), tagName)
	}
	killpoint("finish: tagged")
	return target, nil
}

// writeVersion puts the release commit's VERSION in the index and the work
// tree, with the file's original mode, unless it is there already.
func (t *Txn) writeVersion(ctx context.Context) error {
	want, err := git(ctx, t.s.Dir, "rev-parse", t.s.Prepared+":"+t.s.Top)
	if err != nil {
		return fmt.Errorf("read %s of the release commit: %w", t.s.Rel, err)
	}
	staged, _ := git(ctx, t.s.Dir, "rev-parse", ":"+t.s.Top)
	onDisk, _ := gitIn(ctx, t.s.Dir, nil, nil, "hash-object", "--", t.s.Rel)
	if staged != want || onDisk != want {
		if _, err := git(ctx, t.s.Dir, "checkout", t.s.Prepared, "--", t.s.Rel); err != nil {
			return fmt.Errorf("write %s: %w", t.s.Rel, err)
		}
	}
	if err := os.Chmod(t.s.File, t.s.Mode); err != nil {
		return fmt.Errorf("write %s: %w", t.s.Rel, err)
	}
	return nil
}

// tagCommit returns the commit the transaction's tag points at, or "" when
// there is no such tag.
func (t *Txn) tagCommit(ctx context.Context) (string, error) {
	if t.s.Tag == "" {
		return "", nil
	}
	if _, err := git(ctx, t.s.Dir, "rev-parse", "--verify", "-q", "refs/tags/"+t.s.Tag); err != nil {
		return "", nil
	}
	obj, err := git(ctx, t.s.Dir, "rev-parse", "--verify", "refs/tags/"+t.s.Tag+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("read tag %s: %w", t.s.Tag, err)
	}
	return obj, nil
}

// Rollback undoes what the transaction did, in reverse: it deletes the tag
// it created, moves the branch back to the commit HEAD had at Begin
// (keeping every other file and staged change as it is), and restores
// VERSION byte for byte with its mode. It looks at the repository to see
// what is done, so it is safe at any point, several times, after a Finish
// that failed half-way, and in a later process that resumed the
// transaction. It also undoes a successful Finish, for a caller whose later
// step failed.
//
// Rollback refuses to move a branch or delete a tag that is not where this
// transaction put them, rather than lose someone else's work.
func (t *Txn) Rollback(ctx context.Context) error {
	var errs []error
	target := t.target()
	if obj, err := t.tagCommit(ctx); err != nil {
		errs = append(errs, fmt.Errorf("roll back: %w", err))
	} else if obj != "" {
		if obj != target {
			errs = append(errs, fmt.Errorf("roll back tag %s: it points at %s, not at the release commit %s; check it and delete it by hand with `git tag -d %s` if it is stale", t.s.Tag, short(obj), short(target), t.s.Tag))
		} else if err := version.DeleteTag(ctx, t.s.Dir, t.s.Tag); err != nil {
			errs = append(errs, fmt.Errorf("roll back: %w", err))
		}
	}
	if t.s.Prepared != "" && len(errs) == 0 {
		head, err := git(ctx, t.s.Dir, "rev-parse", "--verify", "HEAD^{commit}")
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("roll back release commit: %w", err))
		case head == t.s.Prepared:
			if _, err := git(ctx, t.s.Dir, "update-ref", "-m", "release rolled back", "HEAD", t.s.Head, t.s.Prepared); err != nil {
				errs = append(errs, fmt.Errorf("roll back release commit: %w", err))
			}
		case head != t.s.Head:
			errs = append(errs, fmt.Errorf("roll back release commit %s: HEAD moved on to %s since; reset by hand with `git reset --soft %s` if the release commit should go", short(t.s.Prepared), short(head), short(t.s.Head)))
		}
	}
	if len(errs) == 0 {
		if err := t.restoreVersion(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("roll back release in %s: %w", t.s.Dir, err)
	}
	return nil
}

// restoreVersion puts VERSION back in the index as HEAD has it (a killed
// Finish may have moved the branch before writing the index) and in the
// work tree with the remembered bytes and mode.
func (t *Txn) restoreVersion(ctx context.Context) error {
	if t.s.Prepared == "" {
		return nil // nothing was written
	}
	if want, err := git(ctx, t.s.Dir, "rev-parse", t.s.Head+":"+t.s.Top); err == nil {
		if staged, _ := git(ctx, t.s.Dir, "rev-parse", ":"+t.s.Top); staged != want {
			if _, err := git(ctx, t.s.Dir, "restore", "--source="+t.s.Head, "--staged", "--", t.s.Rel); err != nil {
				return fmt.Errorf("restore %s: %w", t.s.Rel, err)
			}
		}
	}
	cur, err := os.ReadFile(t.s.File)
	if err == nil && bytes.Equal(cur, t.s.Orig) {
		if fi, err := os.Stat(t.s.File); err == nil && fi.Mode().Perm() == t.s.Mode {
			return nil
		}
	}
	if err := atomicfile.WriteBytes(ctx, t.s.File, t.s.Orig, t.s.Mode); err != nil {
		return fmt.Errorf("restore %s: %w", t.s.Rel, err)
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
