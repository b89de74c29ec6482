package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/internal/atomicfile"
	"github.com/hoistdev/hoist/internal/lockfile"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/publish"
	"github.com/hoistdev/hoist/version"
)

// The journal is how a release survives being killed. It lives in the git
// directory (hoist/release-journal.json), not in the work tree, so that it
// never makes the tree dirty and travels with the repository rather than
// with dist/. The version stage creates it once the release commit is
// prepared, every stage updates it, and the manifest stage removes it.
// Its phase says what the next run does with a journal it finds:
//
//   - before "finishing", nothing in git or any registry tag has changed:
//     the next run drops the journal and releases again, which gives the
//     same commit and digests when nothing was committed meanwhile;
//   - from "finishing" on, the tag stage may have moved the branch or made
//     the tag: the next run finishes the same release, from the tag stage
//     on, with the commit, digest and tags the journal names;
//   - "rolling back" means a failure or an interruption was being undone:
//     the next run completes the rollback, then releases again.
const (
	journalFile = "hoist/release-journal.json"
	lockFile    = "hoist/release.lock"
	// journalFormat changes whenever the journal's meaning does.
	journalFormat = 1
)

// Phases of a release, as its journal records them.
const (
	phasePrepared    = "prepared"
	phaseFinishing   = "finishing"
	phaseRollingBack = "rolling back"
)

// journal is the durable record of one release in progress.
type journal struct {
	path string

	Format      int                `json:"format"`
	PID         int                `json:"pid"`
	Started     time.Time          `json:"started"`
	Phase       string             `json:"phase"`
	Txn         TxnState           `json:"txn"`
	Version     string             `json:"version"`
	Current     string             `json:"current"`
	Tag         string             `json:"tag"`
	PreviousTag string             `json:"previous_tag,omitempty"`
	Message     string             `json:"message"`
	Commit      string             `json:"commit"`
	Short       string             `json:"short"`
	Date        time.Time          `json:"date"`
	Digest      string             `json:"digest,omitempty"`
	Repos       []string           `json:"repos,omitempty"`
	Embedded    bool               `json:"embedded,omitempty"`
	Tags        []string           `json:"tags,omitempty"`
	TagStates   []publish.TagState `json:"tag_states,omitempty"`
	Attached    []publish.Attached `json:"attached,omitempty"`
	Stages      []StageRecord      `json:"stages"`
}

// gitPath resolves a path inside the repository's git directory (the
// common one, for a linked work tree).
func gitPath(ctx context.Context, dir, rel string) (string, error) {
	p, err := git(ctx, dir, "rev-parse", "--path-format=absolute", "--git-path", rel)
	if err != nil {
		return "", fmt.Errorf("find the git directory of %s: %w", dir, err)
	}
	return p, nil
}

// lockRelease takes the repository's release lock, so that two releases
// of one repository never run at once.
func lockRelease(ctx context.Context, dir string) (*lockfile.Lock, error) {
	path, err := gitPath(ctx, dir, lockFile)
	if err != nil {
		return nil, err
	}
	l, err := lockfile.Acquire(path, lockfile.Holder{PID: pid, What: "release"})
	var held *lockfile.HeldError
	if errors.As(err, &held) {
		return nil, fmt.Errorf("another hoist release (pid %d, since %s) is running in this repository: wait for it or stop it; nothing was changed", held.Holder.PID, held.Holder.Since.Format(time.RFC3339))
	}
	return l, err
}

// readJournal returns the journal a release left in dir's repository, or
// nil when there is none.
func readJournal(ctx context.Context, dir string) (*journal, error) {
	path, err := gitPath(ctx, dir, journalFile)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the release journal: %w", err)
	}
	j := &journal{path: path}
	if err := json.Unmarshal(data, j); err != nil || j.Format != journalFormat {
		return nil, fmt.Errorf("the release journal %s is damaged or from another version of hoist: look at what it says, repair the repository by hand (the branch, VERSION, the tag), then delete it", path)
	}
	return j, nil
}

// startJournal creates the journal of the release in st, once its commit
// is prepared.
func startJournal(ctx context.Context, st *State) error {
	path, err := gitPath(ctx, st.W.Cfg.Dir, journalFile)
	if err != nil {
		return err
	}
	d := st.Decision
	st.journal = &journal{
		path: path, Format: journalFormat, PID: pid, Started: now().UTC(), Phase: phasePrepared,
		Version: d.Next.String(), Current: d.Current.String(), Tag: d.Tag, PreviousTag: d.PreviousTag,
		Message: version.TagMessage(d.Tag, d.Commits),
	}
	return st.journal.save(st)
}

// save writes the journal with what st knows now. It syncs the file, since
// a journal lost in a crash is exactly the case it exists for. A nil
// journal (a snapshot, or a release before its commit exists) saves
// nothing.
func (j *journal) save(st *State) error {
	if j == nil {
		return nil
	}
	if st.txn != nil {
		j.Txn = st.txn.State()
	}
	j.Commit, j.Short, j.Date = st.Stamp.Rev.Commit, st.Stamp.Rev.Short, st.Stamp.Rev.Time
	j.Digest, j.Tags, j.TagStates, j.Attached = st.Digest, st.Tags, st.tagged, st.attached
	if st.tagMessage != "" {
		j.Message = st.tagMessage
	}
	if st.push != nil {
		j.Repos, j.Embedded = st.push.repos, st.push.emb != nil
	}
	j.Stages = st.rec.Stages()
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("write the release journal: %w", err)
	}
	if err := atomicfile.WriteBytes(context.Background(), j.path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the release journal %s: %w", j.path, err)
	}
	return nil
}

// setPhase records a new phase durably before the step it names.
func (j *journal) setPhase(st *State, phase string) error {
	if j == nil {
		return nil
	}
	j.Phase = phase
	return j.save(st)
}

// rollingBack records that st's release is being undone.
func (j *journal) rollingBack(st *State) error { return j.setPhase(st, phaseRollingBack) }

// remove deletes the journal: the release finished or was undone.
func (j *journal) remove() error {
	if j == nil {
		return nil
	}
	if err := os.Remove(j.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the release journal: %w", err)
	}
	return nil
}

func (j *journal) where() string {
	if j == nil {
		return "the git directory"
	}
	return j.path
}

// describe says in one line what the next release does with the journal,
// for the plan.
func (j *journal) describe() string {
	switch j.Phase {
	case phaseFinishing:
		return fmt.Sprintf("the release of %s (pid %d, %s) was interrupted in the tag stage: release finishes it with commit %s and index %s", j.Tag, j.PID, j.Started.Format(time.RFC3339), short(j.Commit), j.Digest)
	case phaseRollingBack:
		return fmt.Sprintf("the release of %s (pid %d, %s) was interrupted while it rolled back: release completes the rollback first", j.Tag, j.PID, j.Started.Format(time.RFC3339))
	}
	return fmt.Sprintf("the release of %s (pid %d, %s) was interrupted before it changed git: release drops its journal and starts again", j.Tag, j.PID, j.Started.Format(time.RFC3339))
}

// recover deals with a journal an earlier release left: it finishes that
// release (st is set up to resume at the tag stage), completes its
// rollback, or drops it when it had changed nothing, and says which.
func (w *Workspace) recover(ctx context.Context, st *State) error {
	j, err := readJournal(ctx, w.Cfg.Dir)
	if err != nil || j == nil {
		return err
	}
	name := st.Mode.String()
	if j.Phase != phaseFinishing && j.Phase != phaseRollingBack {
		w.Logf(name, "found the journal of an interrupted release of %s (pid %d, last stage %s): it had changed nothing in git, so it is dropped and the release runs again", j.Tag, j.PID, lastStage(j.Stages))
		return j.remove()
	}
	if err := j.restore(ctx, st); err != nil {
		return err
	}
	if j.Phase == phaseRollingBack {
		w.Logf(name, "found the journal of a release of %s (pid %d) that was interrupted while it rolled back: completing the rollback", j.Tag, j.PID)
		var errs []error
		if len(st.tagged) > 0 {
			errs = append(errs, imageTagsStage{}.Undo(ctx, st))
		}
		if len(st.attached) > 0 {
			errs = append(errs, signStage{}.Undo(ctx, st))
		}
		errs = append(errs, st.txn.Rollback(context.WithoutCancel(ctx)))
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("complete the rollback of %s: %w (the journal stays in %s)", j.Tag, err, j.path)
		}
		st.push.stop(ctx)
		*st = State{W: st.W, Mode: st.Mode, Gates: st.Gates, rec: NewRecorder()}
		w.Logf(name, "rolled back %s: the branch, VERSION, the git tag and the registry tags are as they were; releasing again", j.Tag)
		return j.remove()
	}
	w.Logf(name, "found the journal of a release of %s (pid %d) interrupted in its tag stage: finishing it with commit %s and index %s", j.Tag, j.PID, short(j.Commit), j.Digest)
	st.resumed = "tag"
	// A release whose tag reached the forge's remote is public: if
	// finishing it fails (a token missing this time, say), it must not be
	// undone either. Asking the remote needs no token.
	if remote := w.forgeRemote(); remote != "" {
		if on, err := remoteHasTag(ctx, w.Cfg.Dir, remote, j.Tag); err == nil && on {
			st.public = true
		}
	}
	return nil
}

// restore rebuilds st from the journal, for finishing or rolling back.
func (j *journal) restore(ctx context.Context, st *State) error {
	next, err := semver.NewVersion(j.Version)
	if err != nil {
		return fmt.Errorf("the release journal %s names version %q: %w; delete it after checking the repository by hand", j.path, j.Version, err)
	}
	cur, _ := semver.NewVersion(j.Current)
	st.Decision = version.Decision{Release: true, Current: cur, Next: next, Tag: j.Tag, PreviousTag: j.PreviousTag}
	st.Stamp = Stamp{Version: next, Rev: project.Revision{Commit: j.Commit, Short: j.Short, Time: j.Date}}
	st.Head = j.Txn.Head
	st.txn = ResumeTxn(j.Txn)
	st.Digest, st.Tags, st.tagged, st.attached = j.Digest, j.Tags, j.TagStates, j.Attached
	st.tagMessage = j.Message
	// The stages from the tag stage on run again; their records go.
	stages := j.Stages
	if i := slices.IndexFunc(stages, func(s StageRecord) bool { return s.Name == (tagStage{}).Name() }); i >= 0 {
		stages = stages[:i]
	}
	st.rec.restore(stages)
	st.journal = j
	if j.Digest == "" {
		return nil
	}
	st.push = &pushed{repos: j.Repos, digest: j.Digest}
	if j.Embedded {
		emb, err := st.W.StartEmbedded(ctx)
		if err != nil {
			return err
		}
		st.push.emb = emb
		st.push.repos = []string{emb.Host + "/" + st.W.ImageName()}
		// Tag states and attachments name the repository as the dead run
		// reached it, on a port of its own.
		for i := range st.tagged {
			st.tagged[i].Repository = st.push.repos[0]
		}
		for i := range st.attached {
			st.attached[i].Repository = st.push.repos[0]
			if f := st.attached[i].Fallback; f != nil {
				f.Repository = st.push.repos[0]
			}
		}
	}
	st.Repos = st.push.repos
	return nil
}

func lastStage(stages []StageRecord) string {
	if len(stages) == 0 {
		return "none"
	}
	return stages[len(stages)-1].Name
}

// journalPath is where the journal of dir's repository is, for messages
// and tests.
func journalPath(ctx context.Context, dir string) string {
	p, err := gitPath(ctx, dir, journalFile)
	if err != nil {
		return filepath.Join(dir, ".git", journalFile)
	}
	return p
}
