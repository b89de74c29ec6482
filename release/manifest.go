package release

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/internal/atomicfile"
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
	// Referrers are the signatures and attestations attached to the
	// pushed images, each with where it was pushed and what it is about.
	// Signed files (checksums.txt.sig, the provenance) are Artifacts.
	Referrers []ReferrerRef `json:"referrers"`
	// Stages are the pipeline's stages in order, each with the reason the
	// plan gives it.
	Stages []StageRecord `json:"stages"`
	// ForgeRelease is the web page of the release published on the forge,
	// when one was.
	ForgeRelease string `json:"forge_release,omitempty"`
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

// ReferrerRef is one signature or attestation attached to a pushed image.
type ReferrerRef struct {
	// Ref is the referrer manifest, repository@sha256:….
	Ref string `json:"ref"`
	// Kind is signature, sbom or provenance.
	Kind string `json:"kind"`
	// Subject is the digest of the manifest it is attached to.
	Subject string `json:"subject"`
	// Platform is the platform of that manifest, empty for the index.
	Platform string `json:"platform,omitempty"`
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
func (m *Manifest) WriteManifest(ctx context.Context, path string) error {
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
	c.Referrers = slices.Clone(m.Referrers)
	slices.SortStableFunc(c.Referrers, func(a, b ReferrerRef) int { return cmp.Compare(a.Ref, b.Ref) })
	if c.Referrers == nil {
		c.Referrers = []ReferrerRef{}
	}
	if c.Stages == nil {
		c.Stages = []StageRecord{}
	}
	c.Date = c.Date.UTC()
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("write release manifest: %w", err)
	}
	if err := atomicfile.WriteBytes(ctx, path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write release manifest: %w", err)
	}
	return nil
}

// Status is how a stage ended.
type Status string

// The statuses a stage can end with.
const (
	StatusOK      Status = "ok"
	StatusSkipped Status = "skipped"
	StatusFailed  Status = "failed"
)

// StageRecord is one stage of the pipeline as it ran, with the same name
// and reason a plan gives it.
type StageRecord struct {
	// Name is the stage, such as "build" or "push".
	Name string `json:"name"`
	// Status is ok, skipped or failed.
	Status Status `json:"status"`
	// Reason says what the stage did, or why it was skipped, in the words
	// of the plan.
	Reason string `json:"reason,omitempty"`
	// DurationMS is the wall time of the stage in milliseconds.
	DurationMS int64 `json:"duration_ms"`
	// Error says how a failed stage failed.
	Error string `json:"error,omitempty"`
}

// Recorder times the stages of a release for the manifest. It is safe for
// concurrent use. The zero value is ready and uses the wall clock.
type Recorder struct {
	mu     sync.Mutex
	stages []StageRecord
	now    func() time.Time
}

// NewRecorder returns an empty Recorder that uses the wall clock. Stage
// durations are the only clock reading in a release; they never reach an
// artifact.
func NewRecorder() *Recorder { return &Recorder{now: time.Now} }

// Stage starts timing the stage name and returns the function that ends
// it with the stage's reason and its error: nil records ok, any other
// error records failed. The stage appears in the order Stage was called;
// calling the returned function again has no effect.
func (r *Recorder) Stage(name string) func(reason string, err error) {
	r.mu.Lock()
	i := len(r.stages)
	r.stages = append(r.stages, StageRecord{Name: name, Status: StatusFailed, Error: "did not finish"})
	start := r.clock()
	r.mu.Unlock()
	var once sync.Once
	return func(reason string, err error) {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			s := &r.stages[i]
			s.DurationMS = r.clock().Sub(start).Milliseconds()
			s.Reason = reason
			if err == nil {
				s.Status, s.Error = StatusOK, ""
			} else {
				s.Status, s.Error = StatusFailed, err.Error()
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

// Skip records a stage that did not run at all, with the reason.
func (r *Recorder) Skip(name, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stages = append(r.stages, StageRecord{Name: name, Status: StatusSkipped, Reason: reason})
}

// restore puts back the stages an interrupted run recorded, for the run
// that finishes it.
func (r *Recorder) restore(stages []StageRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stages = slices.Clone(stages)
}

// Stages returns a copy of the stages recorded so far, for Manifest.Stages.
func (r *Recorder) Stages() []StageRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.stages)
}

// Failed reports whether any recorded stage failed, or never finished.
func (r *Recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.stages, func(s StageRecord) bool { return s.Status == StatusFailed })
}
