package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/publish"
	"github.com/hoistdev/hoist/sign"
	"github.com/hoistdev/hoist/version"
)

// Mode says which pipeline runs.
type Mode int

const (
	// ModeRelease bumps, builds, pushes and tags: `release`.
	ModeRelease Mode = iota
	// ModeSnapshot builds everything a release would as
	// <next>-snapshot.<sha> and pushes to the embedded registry only,
	// with no bump, commit or tag: `release:snapshot`.
	ModeSnapshot
)

func (m Mode) String() string {
	if m == ModeSnapshot {
		return "release:snapshot"
	}
	return "release"
}

// Gates are the quality gates a release runs after preflight: the same
// functions as the go:tidy (check mode), go:vet, go:test and go:vuln
// targets, which the mage layer passes in so that mage runs each at most
// once.
type Gates struct {
	Tidy, Vet, Test, Vuln func(context.Context) error
}

// Stage is one step of the release pipeline. The run and the plan are the
// same list asked different questions, so they cannot drift apart.
type Stage interface {
	// Name is the stage's name in logs, plans and release.json.
	Name() string
	// Skip says whether the stage is left out of this run, and why.
	Skip(st *State) (reason string, skip bool)
	// Plan says what Run would do, without side effects, and records in
	// st what later stages need to plan theirs: the version, the stamp,
	// which binaries change. It gives the same reason Run gives when
	// nothing changes between the two.
	Plan(ctx context.Context, st *State) (reason string, err error)
	// Run does the stage's work and says what it did, in the words Plan
	// uses, recording in st what later stages use.
	Run(ctx context.Context, st *State) (reason string, err error)
}

// Undoer is a stage with side effects that a later failure takes back.
// Undo runs with the caller's context detached from cancellation, and
// must be safe whether the stage finished, failed half-way or never ran.
type Undoer interface {
	Undo(ctx context.Context, st *State) error
}

// Pipeline is the release, in order. Each line says why it is where it is.
var Pipeline = []Stage{
	preflightStage{},  // refuses what would fail later, before anything is built
	gateStage{"tidy"}, // gates run before any work, so a red test costs nothing
	gateStage{"vet"},
	gateStage{"test"},
	gateStage{"vuln"},   // what the tests cannot see: known vulnerabilities the binaries can reach
	versionStage{},      // the release commit exists before the build, so binaries can name it
	buildStage{},        // compiled once; everything after reuses these binaries
	packageStage{},      // archives and SBOMs of exactly the binaries built
	changelogStage{},    // the notes the tag message carries
	imageStage{},        // from the same binaries, no second compile
	sizeStage{},         // measured against the last release before anything is published
	pushStage{},         // by digest only: nothing anyone pulls by name changes yet
	signStage{},         // signatures and attestations attach by digest too, before any name moves
	forgeDraftStage{},   // the forge release and its files exist, unpublished, before anything is public
	tagStage{},          // the branch and the tag move only once every push succeeded
	imageTagsStage{},    // registry tags follow the git tag, never lead it
	gitPushStage{},      // the point of no return: the commit and tag reach the forge's remote
	forgePublishStage{}, // the release page goes public only once its tag is there
	manifestStage{},     // the record of what happened, written last
}

// State is what one pass over the pipeline knows: its inputs, and what
// each stage decided or made, for the stages after it. Plan fills it with
// predictions, Run with results.
type State struct {
	// W is the workspace the pipeline works in.
	W *Workspace
	// Mode is a release or a snapshot.
	Mode Mode
	// Gates run the tidy, vet and test stages.
	Gates Gates

	// Decision is the version decision preflight made.
	Decision version.Decision
	// Head is HEAD when preflight decided.
	Head string
	// Stamp is what the build carries, set by the version stage.
	Stamp Stamp
	// Built are the build's results, or in a plan its decisions.
	Built []gobuild.Result
	// Digest is the image index digest, once known.
	Digest string
	// Repos are the repositories the image goes to, as records name them.
	Repos []string
	// Tags are the image tags of this run, the version tag first.
	Tags []string

	planning   bool
	refused    error  // preflight's refusal, in a plan
	tagMessage string // the annotated tag's message
	txn        *Txn
	push       *pushed
	tagged     []publish.TagState
	attached   []publish.Attached
	signer     sign.Signer // set by the sign stage when the run signs
	rec        *Recorder
	journal    *journal
	resumed    string // the stage a resumed release continues at
	public     bool   // the release commit and tag are on the remote: never undo
	forgePlan  *PlannedForge
	forgeURL   string // the published forge release's page
}

// compiled reports whether the build compiles (or would compile) any
// binary, and any linux binary: everything made from them changes too.
func (st *State) compiled() (any, linux bool) {
	for _, r := range st.Built {
		if !r.Skipped {
			any = true
			linux = linux || r.Platform.OS == "linux"
		}
	}
	return any, linux
}

// released reports whether this run releases anything: a snapshot always
// does, a release only when preflight found something to release.
func (st *State) released() bool {
	return st.Mode == ModeSnapshot || st.Decision.Release
}

// nothing is the skip reason of every stage after preflight when there is
// nothing to release, or when preflight refused in a plan.
func (st *State) nothing() (string, bool) {
	if st.refused != nil {
		return "preflight refuses the release: fix the problems it names", true
	}
	if !st.released() {
		return "nothing to release: " + st.Decision.Reason, true
	}
	return "", false
}

// Release runs the pipeline in mode m. A release that an earlier run left
// unfinished (killed, or interrupted while it rolled back) is first
// finished or rolled back, and the output says which and why. Nothing is
// written to git, dist/release.json or any registry tag until the stages
// that own them run; on a failure or a cancelled ctx every stage with side
// effects is undone, in reverse order.
func (w *Workspace) Release(ctx context.Context, m Mode, gates Gates) error {
	st := &State{W: w, Mode: m, Gates: gates, rec: NewRecorder()}
	if m == ModeRelease {
		lock, err := lockRelease(ctx, w.Cfg.Dir)
		if err != nil {
			return err
		}
		defer lock.Release()
		if err := w.recover(ctx, st); err != nil {
			return err
		}
	}
	unlock, err := w.lockDist()
	if err != nil {
		return err
	}
	defer unlock()
	return w.run(ctx, st, Pipeline)
}

// run carries out stages in order from st's resume point.
func (w *Workspace) run(ctx context.Context, st *State, stages []Stage) (err error) {
	defer func() { st.push.stop(ctx) }() // st.push is set by the push stage, later
	defer w.dropEarlyEmbedded(ctx)
	var ran []Stage
	defer func() {
		if err == nil || errors.Is(err, errAbandon) {
			return
		}
		if st.public {
			// Undoing now would delete a tag that others may have
			// fetched; the journal stays, and the next run finishes.
			w.Logf(st.Mode.String(), "the release commit and tag %s are public already, so nothing is rolled back: run release again to finish it (it resumes at the tag stage; the journal is in %s)", st.Decision.Tag, st.journal.where())
			return
		}
		w.undo(ctx, st, ran, err)
	}()
	skipping := st.resumed != ""
	for _, s := range stages {
		if skipping {
			if s.Name() != st.resumed {
				continue
			}
			skipping = false
		}
		if reason, skip := s.Skip(st); skip {
			st.rec.Skip(s.Name(), reason)
			if err := st.journal.save(st); err != nil {
				return err
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s interrupted before %s: %w", st.Mode, s.Name(), context.Cause(ctx))
		}
		ran = append(ran, s)
		done := st.rec.Stage(s.Name())
		killpoint("before " + s.Name())
		reason, err := s.Run(ctx, st)
		if err == nil {
			err = afterStage(s.Name())
		}
		done(reason, err)
		if err != nil {
			return err
		}
		if err := st.journal.save(st); err != nil {
			return err
		}
		killpoint("after " + s.Name())
		if s.Name() == "preflight" && !st.released() {
			w.Logf(st.Mode.String(), "nothing to release: %s", st.Decision.Reason)
			return nil
		}
	}
	return nil
}

// undo takes back what the stages in ran did, newest first, after cause
// ended the run. The journal records that a rollback is under way, so a
// rollback that is itself cut short is finished by the next run.
func (w *Workspace) undo(ctx context.Context, st *State, ran []Stage, cause error) {
	ctx = context.WithoutCancel(ctx)
	name := st.Mode.String()
	var undoers []Undoer
	for i := len(ran) - 1; i >= 0; i-- {
		if u, ok := ran[i].(Undoer); ok {
			undoers = append(undoers, u)
		}
	}
	if len(undoers) == 0 {
		if err := st.journal.remove(); err != nil {
			w.Logf(name, "the release journal stays: %v", err)
		}
		return
	}
	if err := st.journal.rollingBack(st); err != nil {
		w.Logf(name, "could not record the rollback in the journal: %v", err)
	}
	var errs []error
	for _, u := range undoers {
		if err := u.Undo(ctx, st); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		w.Logf(name, "ROLLBACK INCOMPLETE after %v: %v; the next `release` retries it (the journal is in %s)", cause, err, st.journal.where())
		return
	}
	if err := st.journal.remove(); err != nil {
		w.Logf(name, "rolled back, but the journal stays: %v", err)
	}
	w.Logf(name, "failed, and everything is back as it was: the branch, VERSION, the git tag and the registry tags")
}

// Plan is the dry run of mode m: the same stages asked to plan, in order.
// Preflight's refusals are part of the plan (Plan.Refused) rather than an
// error, so the plan shows everything a release would stop at.
func (w *Workspace) Plan(ctx context.Context, m Mode) (*Plan, error) {
	st := &State{W: w, Mode: m, planning: true}
	p := newPlan(w, m)
	if m == ModeRelease {
		j, err := readJournal(ctx, w.Cfg.Dir)
		if err != nil {
			return nil, err
		}
		if j != nil {
			p.Pending = j.describe()
		}
	}
	for _, s := range Pipeline {
		if reason, skip := s.Skip(st); skip {
			p.Steps = append(p.Steps, Step{Name: s.Name(), Run: false, Reason: reason})
			continue
		}
		reason, err := s.Plan(ctx, st)
		if err != nil {
			var pe *PreflightError
			if s.Name() != "preflight" || !errors.As(err, &pe) {
				return nil, fmt.Errorf("plan %s: %w", s.Name(), err)
			}
			st.refused = err
			p.Refused = err.Error()
			reason = "refuses the release: " + err.Error()
		}
		p.Steps = append(p.Steps, Step{Name: s.Name(), Run: true, Reason: reason})
	}
	p.fill(st)
	if m == ModeRelease {
		if _, scheme, err := w.tagPrefix(ctx); err == nil {
			p.TagScheme = scheme
		}
	}
	return p, nil
}

// afterStage, when a test sets it, runs after each stage and can fail it,
// to prove the rollback undoes a stage's real side effects.
var afterStage = func(string) error { return nil }

// errAbandon, returned by afterStage, stops the run where it is without
// undoing anything, the way a process killed there would leave it, so
// in-process tests can exercise the journal; e2e kills the real CLI.
var errAbandon = errors.New("abandoned by a test, as if killed")

// pid is this process's id, for lock holders.
var pid = os.Getpid()

// now is the clock the journal stamps, for tests.
var now = time.Now
