package release

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hoistdev/hoist/artifact"
)

// ManifestFile is the name of the release manifest in dist.
const ManifestFile = "release.json"

// Manifest is dist/release.json: what a release (or snapshot) produced, with
// digests, and how long each stage took. It is the record a CI job or a
// later audit reads instead of parsing logs.
type Manifest struct {
	// Version is the released version, without the tag prefix.
	Version string `json:"version"`
	// Tag is the git tag created; empty for a snapshot.
	Tag string `json:"tag,omitempty"`
	// PreviousTag is the release before this one; empty for a first release.
	PreviousTag string `json:"previous_tag,omitempty"`
	// Commit is the full hash of the commit released.
	Commit string `json:"commit"`
	// Date is the commit time, the same time stamped into the artifacts.
	Date time.Time `json:"date"`
	// Snapshot is true for a release:snapshot, which bumps, tags and pushes
	// to no remote.
	Snapshot bool `json:"snapshot"`
	// Artifacts are the files produced, in a stable order.
	Artifacts []ManifestArtifact `json:"artifacts"`
	// Images are the pushed references with the digest each resolves to.
	Images []ImageRef `json:"images"`
	// Stages are the pipeline's steps in the order they ran.
	Stages []Stage `json:"stages"`
}

// ManifestArtifact is one file of the release.
type ManifestArtifact struct {
	// Type is the artifact type: binary, archive, sbom, checksums, ...
	Type artifact.Type `json:"type"`
	// Name is the artifact's logical name (a binary name or a file name).
	Name string `json:"name"`
	// Path is slash-separated and relative to the project root.
	Path string `json:"path,omitempty"`
	// Platform is os/arch[/variant] for per-platform artifacts.
	Platform string `json:"platform,omitempty"`
	// SHA256 is the lowercase hex digest, without an algorithm prefix,
	// the form sha256sum prints.
	SHA256 string `json:"sha256,omitempty"`
	// Size is in bytes.
	Size int64 `json:"size,omitempty"`
}

// ImageRef is one pushed image reference and its digest.
type ImageRef struct {
	// Ref is the reference pushed, such as localhost:5000/web:1.2.3.
	Ref string `json:"ref"`
	// Digest is the digest of the index (or manifest) the ref points at.
	Digest string `json:"digest"`
}

// AddArtifacts appends artifacts from the typed list, dropping the
// "sha256:" prefix of their digests.
func (m *Manifest) AddArtifacts(as ...artifact.Artifact) {
	for _, a := range as {
		m.Artifacts = append(m.Artifacts, ManifestArtifact{
			Type:     a.Type,
			Name:     a.Name,
			Path:     a.Path,
			Platform: a.Platform,
			SHA256:   strings.TrimPrefix(a.Digest, "sha256:"),
			Size:     a.Size,
		})
	}
}

// WriteManifest writes m as indented JSON to path, atomically. Artifacts
// and images are sorted first so that equal releases give equal files;
// stages keep the order they ran in.
func (m *Manifest) WriteManifest(path string) error {
	c := *m
	c.Artifacts = slices.Clone(m.Artifacts)
	slices.SortStableFunc(c.Artifacts, func(a, b ManifestArtifact) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Platform, b.Platform), cmp.Compare(a.Path, b.Path))
	})
	c.Images = slices.Clone(m.Images)
	slices.SortStableFunc(c.Images, func(a, b ImageRef) int { return cmp.Compare(a.Ref, b.Ref) })
	if c.Artifacts == nil {
		c.Artifacts = []ManifestArtifact{}
	}
	if c.Images == nil {
		c.Images = []ImageRef{}
	}
	if c.Stages == nil {
		c.Stages = []Stage{}
	}
	c.Date = c.Date.UTC()
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("write release manifest: %w", err)
	}
	if err := artifact.WriteFileAtomic(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write release manifest: %w", err)
	}
	return nil
}

// ReadManifest reads a manifest written by WriteManifest, for a later
// target (or a test) that checks what a release produced.
func ReadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read release manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read release manifest %s: %w (rerun the release to rewrite it)", path, err)
	}
	return &m, nil
}

// Status is how a stage ended.
type Status string

// The statuses a stage can end with.
const (
	StatusOK      Status = "ok"
	StatusSkipped Status = "skipped"
	StatusFailed  Status = "failed"
)

// Stage is one step of the pipeline as it ran.
type Stage struct {
	// Name is the step, such as "build" or "push".
	Name string `json:"name"`
	// Status is ok, skipped or failed.
	Status Status `json:"status"`
	// DurationMS is the wall time of the step in milliseconds.
	DurationMS int64 `json:"duration_ms"`
	// Note says why a step was skipped or how it failed.
	Note string `json:"note,omitempty"`
}

// skipError marks a stage that decided it had nothing to do.
type skipError struct{ note string }

func (e *skipError) Error() string { return "skipped: " + e.note }

// Skipped returns an error a stage function gives back to Recorder.Run to
// say it skipped (for example because its inputs were unchanged); Run
// records the stage as skipped with note and returns nil.
func Skipped(note string) error { return &skipError{note: note} }

// Recorder times the stages of a release for the manifest. It is safe for
// concurrent use, so stages running in parallel can report. The zero value
// is ready and uses the wall clock.
type Recorder struct {
	mu     sync.Mutex
	stages []Stage
	now    func() time.Time
}

// NewRecorder returns an empty Recorder that uses the wall clock. Stage
// durations are the only clock reading in a release; they never reach an
// artifact.
func NewRecorder() *Recorder { return &Recorder{now: time.Now} }

// Stage starts timing the stage name and returns the function that ends it:
// nil records ok, an error from Skipped records skipped, any other error
// records failed with the error as note. The stage appears in the order
// Stage was called; calling the returned function again has no effect.
func (r *Recorder) Stage(name string) func(err error) {
	r.mu.Lock()
	i := len(r.stages)
	r.stages = append(r.stages, Stage{Name: name, Status: StatusFailed, Note: "did not finish"})
	start := r.clock()
	r.mu.Unlock()
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			s := &r.stages[i]
			s.DurationMS = r.clock().Sub(start).Milliseconds()
			var skip *skipError
			switch {
			case err == nil:
				s.Status, s.Note = StatusOK, ""
			case errors.As(err, &skip):
				s.Status, s.Note = StatusSkipped, skip.note
			default:
				s.Status, s.Note = StatusFailed, err.Error()
			}
		})
	}
}

// clock lets tests pin durations; the zero Recorder reads the wall clock.
func (r *Recorder) clock() time.Time {
	if r.now == nil {
		return time.Now()
	}
	return r.now()
}

// Run times fn as the stage name and returns its error, except that an
// error from Skipped is recorded and turned into nil.
func (r *Recorder) Run(name string, fn func() error) error {
	done := r.Stage(name)
	err := fn()
	done(err)
	var skip *skipError
	if errors.As(err, &skip) {
		return nil
	}
	return err
}

// Skip records a stage that did not run at all, with the reason.
func (r *Recorder) Skip(name, note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stages = append(r.stages, Stage{Name: name, Status: StatusSkipped, Note: note})
}

// Stages returns a copy of the stages recorded so far, for Manifest.Stages.
func (r *Recorder) Stages() []Stage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.stages)
}

// Failed reports whether any recorded stage failed, or never finished.
func (r *Recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.stages, func(s Stage) bool { return s.Status == StatusFailed })
}
