package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/version"
)

// ManifestType is the artifact type plans give dist/release.json, which the
// artifact list itself never holds since the manifest is written last.
const ManifestType artifact.Type = "manifest"

// Plan is the dry run of a release: what it would be called, what every
// stage would do or why it would be skipped, and every artifact it would
// produce. The run records the same names, reasons and paths in
// dist/release.json. Field names are stable JSON for scripts.
type Plan struct {
	// Project is the project name.
	Project string `json:"project"`
	// Release is false when there is nothing to release; Reason says why.
	Release bool `json:"release"`
	// Snapshot is true for a release:snapshot plan.
	Snapshot bool `json:"snapshot"`
	// Version is the version the build would carry.
	Version string `json:"version"`
	// Current is what VERSION holds today.
	Current string `json:"current"`
	// Level is the bump applied: none, patch, minor, major or prerelease.
	Level string `json:"level"`
	// Tag is the git tag that would be created; empty for snapshots and
	// when nothing is released.
	Tag string `json:"tag,omitempty"`
	// PreviousTag is the latest release tag; empty before the first.
	PreviousTag string `json:"previous_tag,omitempty"`
	// TagScheme says which tag prefix releases use, and where that came
	// from: the configuration, or the repository's newest version tag.
	TagScheme string `json:"tag_scheme,omitempty"`
	// Reason explains the version decision.
	Reason string `json:"reason"`
	// Commits is how many commits since PreviousTag were weighed.
	Commits int `json:"commits"`
	// Commit is the commit the binaries would be stamped with: the release
	// commit the run will write, computed without writing it.
	Commit string `json:"commit,omitempty"`
	// Date is the build date the binaries would carry.
	Date *time.Time `json:"date,omitempty"`
	// Platforms are the build targets, os/arch[/variant].
	Platforms []string `json:"platforms"`
	// ImagePlatforms are the platforms that go into the image index.
	ImagePlatforms []string `json:"image_platforms"`
	// Images are the references that would be pushed.
	Images []string `json:"images"`
	// Steps are the pipeline's stages in order.
	Steps []Step `json:"steps"`
	// Artifacts are every file that would be produced.
	Artifacts []PlannedArtifact `json:"artifacts"`
	// Signer names the key that would sign, empty when nothing is signed.
	Signer string `json:"signer,omitempty"`
	// Referrers are the signatures and attestations that would be
	// attached to the pushed images.
	Referrers []PlannedReferrer `json:"referrers"`
	// Refused is preflight's refusal: the release would stop there.
	Refused string `json:"refused,omitempty"`
	// Pending says what the release would first do with an earlier,
	// interrupted release it finds.
	Pending string `json:"pending,omitempty"`
	// Forge is the forge release that would be published, when one is
	// configured.
	Forge *PlannedForge `json:"forge,omitempty"`
}

// PlannedForge is the release a run would publish on the forge.
type PlannedForge struct {
	// Kind is github, gitlab or gitea.
	Kind string `json:"kind"`
	// Repository is host/OWNER/NAME.
	Repository string `json:"repository"`
	// Remote is the git remote the commit and tag are pushed to.
	Remote string `json:"remote"`
	// Name is the release's title; Tag its tag.
	Name string `json:"name"`
	Tag  string `json:"tag"`
	// Prerelease, Latest and Draft are the flags it would get.
	Prerelease bool `json:"prerelease"`
	Latest     bool `json:"latest"`
	Draft      bool `json:"draft"`
	// Assets are the file names it would carry.
	Assets []string `json:"assets"`
}

// Step is one pipeline stage in a plan.
type Step struct {
	// Name is the stage, as in release.json.
	Name string `json:"name"`
	// Run is whether the stage would run.
	Run bool `json:"run"`
	// Reason says what the stage would do, or why it would be skipped.
	Reason string `json:"reason"`
}

// PlannedReferrer is one signature or attestation a release would attach
// to a pushed image.
type PlannedReferrer struct {
	// Repository is where it would be pushed.
	Repository string `json:"repository"`
	// Kind is signature, sbom or provenance.
	Kind string `json:"kind"`
	// Platform is the platform manifest it would be attached to, empty
	// for the index.
	Platform string `json:"platform,omitempty"`
}

// PlannedArtifact is one artifact a release would produce.
type PlannedArtifact struct {
	// Type is the artifact type, as in dist/artifacts.json.
	Type artifact.Type `json:"type"`
	// Name is the binary name, the file name or the image name.
	Name string `json:"name"`
	// Path is where it would be written, slash-separated and relative to
	// the project root.
	Path string `json:"path,omitempty"`
	// Platform is os/arch[/variant] for per-platform artifacts.
	Platform string `json:"platform,omitempty"`
}

func newPlan(w *Workspace, m Mode) *Plan {
	p := &Plan{Project: w.Proj.Name, Snapshot: m == ModeSnapshot, Steps: []Step{}, Artifacts: []PlannedArtifact{}, Images: []string{}, ImagePlatforms: []string{}, Referrers: []PlannedReferrer{}}
	if platforms, err := w.Cfg.ParsedPlatforms(); err == nil {
		for _, pl := range platforms {
			p.Platforms = append(p.Platforms, pl.String())
			if pl.OS == "linux" {
				p.ImagePlatforms = append(p.ImagePlatforms, pl.String())
			}
		}
	}
	return p
}

// fill copies what the stages planned into p.
func (p *Plan) fill(st *State) {
	d := st.Decision
	p.Release = d.Release && st.refused == nil
	p.Level, p.PreviousTag, p.Reason, p.Commits = d.Level.String(), d.PreviousTag, d.Reason, len(d.Commits)
	if d.Current != nil {
		p.Current = d.Current.String()
		p.Version = p.Current
	}
	if st.refused != nil || !st.released() {
		return
	}
	if st.Mode == ModeRelease {
		p.Tag = d.Tag
	}
	w := st.W
	if st.Stamp.Version != nil {
		p.Version = st.Stamp.Version.String()
		p.Commit = st.Stamp.Rev.Commit
		date := st.Stamp.Rev.Time.UTC()
		p.Date = &date
	}
	add := func(t artifact.Type, name, file, plat string) {
		p.Artifacts = append(p.Artifacts, PlannedArtifact{Type: t, Name: name, Path: file, Platform: plat})
	}
	dist := filepath.ToSlash(w.Cfg.Dist)
	var archived []string
	for _, r := range st.Built {
		add(artifact.Binary, r.Name, w.Rel(r.Path), r.Platform.String())
		b := w.Cfg.Binaries[r.Name]
		if b.NoArchive {
			continue
		}
		archiveName := w.Proj.Name
		if b.OwnArchive {
			archiveName = r.Name
		}
		a := filepath.ToSlash(archivePath(dist, archiveName, p.Version, r.Platform, w.Cfg.Release.ArchiveName))
		if !slices.Contains(archived, a) {
			archived = append(archived, a)
			add(artifact.Archive, filepath.Base(a), a, r.Platform.String())
		}
		s := filepath.ToSlash(SBOMPath(dist, r.Name, p.Version, r.Platform))
		add(artifact.SBOM, filepath.Base(s), s, r.Platform.String())
	}
	if w.Cfg.Release.SourceArchive {
		a := filepath.ToSlash(SourceArchivePath(dist, w.Proj.Name, p.Version))
		add(artifact.Archive, filepath.Base(a), a, "")
		s := strings.TrimSuffix(a, ".tar.gz") + ".spdx.json"
		add(artifact.SBOM, filepath.Base(s), s, "")
	}
	sums := w.checksumsName(p.Version)
	add(artifact.Checksums, sums, distPath(w, sums), "")
	add(artifact.Changelog, "CHANGELOG.md", distPath(w, "CHANGELOG.md"), "")
	if _, skip := imageSkip(st); !skip {
		add(artifact.ImageIndex, w.ImageName(), distPath(w, "image"), "")
		for _, pl := range p.ImagePlatforms {
			add(artifact.Image, w.ImageName(), "", pl)
		}
		for _, repo := range st.Repos {
			for _, t := range st.Tags {
				p.Images = append(p.Images, repo+":"+t)
			}
			if w.Cfg.Publish.ArchTags {
				for _, pl := range p.ImagePlatforms {
					if ip, err := platform.Parse(pl); err == nil {
						for _, t := range st.Tags {
							p.Images = append(p.Images, repo+":"+ArchTag(t, ip))
						}
					}
				}
			}
		}
	}
	add(artifact.Provenance, ProvenanceFile, distPath(w, ProvenanceFile), "")
	if st.signer != nil {
		p.Signer = st.signer.String()
		add(artifact.Signature, sums+".sig", distPath(w, sums+".sig"), "")
		add(artifact.Signature, sums+".sigstore.json", distPath(w, sums+".sigstore.json"), "")
		add(artifact.Provenance, ProvenanceBundle, distPath(w, ProvenanceBundle), "")
		add(artifact.PublicKey, PublicKeyFile, distPath(w, PublicKeyFile), "")
		if _, skip := imageSkip(st); !skip {
			for _, repo := range st.Repos {
				for _, pl := range append([]string{""}, p.ImagePlatforms...) {
					for _, k := range []string{KindSignature, KindSBOM, KindProvenance} {
						p.Referrers = append(p.Referrers, PlannedReferrer{Repository: repo, Kind: k, Platform: pl})
					}
				}
			}
		}
	}
	add(ManifestType, ManifestFile, distPath(w, ManifestFile), "")
	if st.forgePlan != nil {
		p.Forge = st.forgePlan
		for _, a := range p.Artifacts {
			if slices.Contains(forgeAssetTypes, a.Type) && a.Path != "" {
				p.Forge.Assets = append(p.Forge.Assets, filepath.Base(a.Path))
			}
		}
		slices.Sort(p.Forge.Assets)
	}
}

// SnapshotVersion names a snapshot build of d: <next>-snapshot.<shortSHA>,
// where next is the version the release would get, or the next patch when
// there is nothing to release, so a snapshot never sorts below the version
// already tagged.
func SnapshotVersion(d version.Decision, shortSHA string) (*semver.Version, error) {
	next := d.Next
	if !d.Release {
		if d.Current == nil {
			return nil, errors.New("snapshot version: the decision has no current version; run the version decision first")
		}
		var err error
		if next, err = version.Bump(d.Current, version.Patch, ""); err != nil {
			return nil, fmt.Errorf("snapshot version: %w", err)
		}
	}
	if next == nil {
		return nil, errors.New("snapshot version: the decision has no next version; run the version decision first")
	}
	return version.Snapshot(next, shortSHA), nil
}

// count renders n with the right noun form for plan text.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// WriteText prints the plan for a person: the version line, the stages
// with run or skip and why, the artifacts and the image references.
func (p *Plan) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	kind := "release"
	if p.Snapshot {
		kind = "snapshot"
	}
	fmt.Fprintf(tw, "%s plan for %s\n", kind, p.Project)
	if p.Pending != "" {
		fmt.Fprintf(tw, "  first\t%s\n", p.Pending)
	}
	switch {
	case p.Refused != "":
		fmt.Fprintf(tw, "  version\t%s (refused, see preflight)\n", p.Current)
	case !p.Release && !p.Snapshot:
		fmt.Fprintf(tw, "  version\t%s (nothing to release)\n", p.Current)
	case p.Version == p.Current:
		fmt.Fprintf(tw, "  version\t%s (released as is)\n", p.Version)
	default:
		fmt.Fprintf(tw, "  version\t%s (from %s, %s)\n", p.Version, p.Current, p.Level)
	}
	if p.Tag != "" {
		fmt.Fprintf(tw, "  tag\t%s\n", p.Tag)
	}
	if p.PreviousTag != "" {
		fmt.Fprintf(tw, "  previous tag\t%s\n", p.PreviousTag)
	}
	if p.TagScheme != "" {
		fmt.Fprintf(tw, "  tag scheme\t%s\n", p.TagScheme)
	}
	if p.Commit != "" {
		fmt.Fprintf(tw, "  commit\t%s\n", p.Commit)
	}
	if p.Reason != "" {
		fmt.Fprintf(tw, "  reason\t%s\n", p.Reason)
	}
	fmt.Fprintf(tw, "  platforms\t%s\n", strings.Join(p.Platforms, ", "))
	fmt.Fprintln(tw, "stages")
	for _, s := range p.Steps {
		verb := "run"
		if !s.Run {
			verb = "skip"
		}
		fmt.Fprintf(tw, "  %-4s  %s\t%s\n", verb, s.Name, s.Reason)
	}
	if len(p.Artifacts) > 0 {
		fmt.Fprintln(tw, "artifacts")
		for _, a := range p.Artifacts {
			where := a.Path
			if where == "" {
				where = a.Name
			}
			if a.Platform == "" {
				fmt.Fprintf(tw, "  %s\t%s\n", a.Type, where)
			} else {
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", a.Type, where, a.Platform)
			}
		}
	}
	if len(p.Images) > 0 {
		fmt.Fprintln(tw, "images")
		for _, ref := range p.Images {
			fmt.Fprintf(tw, "  %s\n", ref)
		}
	}
	if p.Signer != "" {
		fmt.Fprintf(tw, "signed with\n  %s\n", p.Signer)
	}
	if f := p.Forge; f != nil {
		state := "published"
		if f.Draft {
			state = "left a draft"
		}
		fmt.Fprintf(tw, "forge release\n  %s\t%q of %s, %s after a push to %s\n", f.Repository, f.Name, f.Tag, state, f.Remote)
		for _, a := range f.Assets {
			fmt.Fprintf(tw, "  asset\t%s\n", a)
		}
	}
	if len(p.Referrers) > 0 {
		fmt.Fprintln(tw, "attached to the images")
		for _, r := range p.Referrers {
			on := "index"
			if r.Platform != "" {
				on = r.Platform
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.Kind, on, r.Repository)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// PrintPlan writes the plan of mode m to w.Out, as JSON when JSON=1. A plan
// whose preflight refuses the release is printed and then returned as an
// error, so a CI step that plans first stops there.
func (w *Workspace) PrintPlan(ctx context.Context, m Mode) error {
	p, err := w.Plan(ctx, m)
	if err != nil {
		return err
	}
	if w.Env.JSON {
		enc := json.NewEncoder(w.Out)
		enc.SetIndent("", "  ")
		err = enc.Encode(p)
	} else {
		err = p.WriteText(w.Out)
	}
	if err != nil {
		return err
	}
	if p.Refused != "" {
		return fmt.Errorf("%s would be refused: %s", m, p.Refused)
	}
	return nil
}
