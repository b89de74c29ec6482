package release

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/version"
)

// DefaultEmbeddedAddr is where the embedded registry serves when no
// registry is configured.
const DefaultEmbeddedAddr = "localhost:5000"

// ManifestType is the artifact type plans give dist/release.json, which the
// artifact list itself never holds since the manifest is written last.
const ManifestType artifact.Type = "manifest"

// PlanOptions is everything BuildPlan needs to describe a release. It holds
// values only, so building a plan can have no side effect.
type PlanOptions struct {
	// Decision is the version decision, from Preflight or version.Plan.
	// Required.
	Decision version.Decision
	// Snapshot plans a release:snapshot: no bump, commit, tag or remote
	// push, and a snapshot version.
	Snapshot bool
	// SnapshotChecks runs the tidy, vet and test gates in a snapshot too
	// (HOIST_SNAPSHOT_CHECKS=1). Default: snapshots skip them.
	SnapshotChecks bool
	// ShortCommit is HEAD's abbreviated hash; it names snapshot versions.
	ShortCommit string
	// Project names the archives and is the default image name. Required.
	Project string
	// Dist is the output directory as shown in paths. Default: "dist".
	Dist string
	// Platforms are the build targets. Required.
	Platforms []platform.Platform
	// Binaries are the names of the binaries built. Required.
	Binaries []string
	// Image describes the image and where it goes.
	Image ImagePlan
}

// ImagePlan is the image part of PlanOptions.
type ImagePlan struct {
	// Skip leaves the image and push steps out.
	Skip bool
	// Name is the repository name appended to each registry. Default: the
	// project name.
	Name string
	// Registries are repository prefixes such as ghcr.io/acme. Default:
	// none, meaning the embedded registry.
	Registries []string
	// EmbeddedAddr is the embedded registry's address. Default:
	// DefaultEmbeddedAddr.
	EmbeddedAddr string
	// Latest also tags "latest" on releases that are not prereleases.
	Latest bool
	// MinorTag also tags MAJOR.MINOR on releases that are not prereleases.
	MinorTag bool
	// LayoutDir is the OCI layout directory. Default: <Dist>/image.
	LayoutDir string
}

// Plan is the dry run of a release: what it would be called, what every
// step would do or why it would be skipped, and every artifact it would
// produce. Field names are stable JSON for scripts.
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
	// Reason explains the version decision.
	Reason string `json:"reason"`
	// Commits is how many commits since PreviousTag were weighed.
	Commits int `json:"commits"`
	// Platforms are the build targets, os/arch[/variant].
	Platforms []string `json:"platforms"`
	// ImagePlatforms are the platforms that go into the image index.
	ImagePlatforms []string `json:"image_platforms"`
	// Images are the references that would be pushed.
	Images []string `json:"images"`
	// Steps are the pipeline's steps in order.
	Steps []Step `json:"steps"`
	// Artifacts are every file and reference that would be produced.
	Artifacts []PlannedArtifact `json:"artifacts"`
}

// Step is one pipeline step in a plan.
type Step struct {
	// Name is the step, matching the stage names of the manifest.
	Name string `json:"name"`
	// Run is whether the step would run.
	Run bool `json:"run"`
	// Reason says what the step would do, or why it would be skipped.
	Reason string `json:"reason"`
}

// PlannedArtifact is one artifact a release would produce.
type PlannedArtifact struct {
	// Type is the artifact type, as in dist/artifacts.json.
	Type artifact.Type `json:"type"`
	// Name is the binary name, the file name or the image reference.
	Name string `json:"name"`
	// Path is where it would be written, slash-separated and relative to
	// the project root; empty for image references.
	Path string `json:"path,omitempty"`
	// Platform is os/arch[/variant] for per-platform artifacts.
	Platform string `json:"platform,omitempty"`
}

// Tags returns the image tags for v: always the version without "v"
// ("1.2.3"), plus "1.2" when minor and "latest" when latest, both only for
// versions that are not prereleases, so a candidate never moves a tag users
// pull by habit. Build metadata is written with "_" instead of "+", which
// image tags do not allow. A nil v has no tags.
func Tags(v *semver.Version, latest, minor bool) []string {
	if v == nil {
		return nil
	}
	tags := []string{strings.ReplaceAll(v.String(), "+", "_")}
	if v.Prerelease() != "" {
		return tags
	}
	if minor {
		tags = append(tags, fmt.Sprintf("%d.%d", v.Major(), v.Minor()))
	}
	if latest {
		tags = append(tags, "latest")
	}
	return tags
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

// BuildPlan describes the release o would run, without touching anything.
func BuildPlan(o PlanOptions) (*Plan, error) {
	var problems []string
	d := o.Decision
	if d.Current == nil || (d.Release && d.Next == nil) {
		problems = append(problems, "no version decision given; run Preflight or version.Plan first")
	}
	if o.Project == "" {
		problems = append(problems, "no project name given")
	}
	if len(o.Platforms) == 0 {
		problems = append(problems, "no platforms given; configure at least one, such as linux/amd64")
	}
	if len(o.Binaries) == 0 {
		problems = append(problems, "no binaries given; the project needs a main package (cmd/<name> or the module root)")
	}
	if o.Snapshot && o.ShortCommit == "" {
		problems = append(problems, "no commit given for the snapshot version")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("plan release: %s", strings.Join(problems, "; "))
	}
	dist := filepath.ToSlash(o.Dist)
	if dist == "" {
		dist = "dist"
	}
	img := o.Image
	if img.Name == "" {
		img.Name = o.Project
	}
	if img.EmbeddedAddr == "" {
		img.EmbeddedAddr = DefaultEmbeddedAddr
	}
	if img.LayoutDir == "" {
		img.LayoutDir = path.Join(dist, "image")
	}

	p := &Plan{
		Project:     o.Project,
		Release:     d.Release,
		Snapshot:    o.Snapshot,
		Current:     d.Current.String(),
		Level:       d.Level.String(),
		PreviousTag: d.PreviousTag,
		Reason:      d.Reason,
		Commits:     len(d.Commits),
		Steps:       []Step{},
		Artifacts:   []PlannedArtifact{},
		Images:      []string{},
	}
	v := d.Next
	if !d.Release {
		v = d.Current
	}
	if o.Snapshot {
		sv, err := SnapshotVersion(d, o.ShortCommit)
		if err != nil {
			return nil, fmt.Errorf("plan release: %w", err)
		}
		v = sv
	} else if d.Release {
		p.Tag = d.Tag
	}
	p.Version = v.String()
	for _, pl := range o.Platforms {
		p.Platforms = append(p.Platforms, pl.String())
		if pl.OS == "linux" {
			p.ImagePlatforms = append(p.ImagePlatforms, pl.String())
		}
	}
	if p.ImagePlatforms == nil {
		p.ImagePlatforms = []string{}
	}
	step := func(name string, run bool, format string, args ...any) {
		p.Steps = append(p.Steps, Step{Name: name, Run: run, Reason: fmt.Sprintf(format, args...)})
	}

	if !d.Release && !o.Snapshot {
		step("preflight", true, "checks the git identity, a clean tree, the branch, the tags and the version")
		for _, name := range []string{"tidy", "vet", "test", "bump", "build", "package", "changelog", "image", "push", "tag", "manifest"} {
			step(name, false, "nothing to release: %s", d.Reason)
		}
		return p, nil
	}

	imageRun, imageWhy := !img.Skip && len(p.ImagePlatforms) > 0, ""
	switch {
	case img.Skip:
		imageWhy = "Image.Skip is set"
	case len(p.ImagePlatforms) == 0:
		imageWhy = "no linux platform is built, and images run linux binaries"
	default:
		imageWhy = fmt.Sprintf("%s index for %s into %s, from the binaries already built", p.Version, strings.Join(p.ImagePlatforms, ", "), img.LayoutDir)
	}
	var prefixes []string
	pushWhy := ""
	switch {
	case !imageRun:
		pushWhy = "no image to push: " + imageWhy
	case o.Snapshot:
		prefixes = []string{img.EmbeddedAddr}
		pushWhy = fmt.Sprintf("snapshot: remote registries are left alone; the image goes to the embedded registry at %s, started if needed", img.EmbeddedAddr)
	case len(img.Registries) == 0:
		prefixes = []string{img.EmbeddedAddr}
		pushWhy = fmt.Sprintf("no registry configured: the embedded registry at %s will be started and receive the image", img.EmbeddedAddr)
	default:
		prefixes = img.Registries
		pushWhy = "pushes missing blobs, then the index, to " + strings.Join(img.Registries, ", ")
	}
	for _, pre := range prefixes {
		for _, t := range Tags(v, img.Latest && !o.Snapshot, img.MinorTag && !o.Snapshot) {
			p.Images = append(p.Images, strings.TrimSuffix(pre, "/")+"/"+img.Name+":"+t)
		}
	}

	if o.Snapshot {
		step("preflight", false, "snapshot: nothing is committed or tagged, so the tree may be dirty")
	} else {
		step("preflight", true, "checks the git identity, a clean tree, the branch, the tags and the version; the registry is checked before anything is built")
	}
	gates := !o.Snapshot || o.SnapshotChecks
	gateWhy := func(why string) string {
		if gates {
			return why
		}
		return "snapshots skip the gates; HOIST_SNAPSHOT_CHECKS=1 runs them"
	}
	step("tidy", gates, "%s", gateWhy("go.mod and go.sum must already be tidy"))
	step("vet", gates, "%s", gateWhy("go vet"))
	step("test", gates, "%s", gateWhy("go test with the coverage gate"))
	switch {
	case o.Snapshot:
		step("version", false, "snapshot: VERSION stays %s; the build is called %s", d.Current, p.Version)
	case d.Next.Equal(d.Current):
		step("version", true, "VERSION already holds %s, which no tag has yet: released as is, from HEAD", d.Current)
	default:
		step("version", true, "VERSION %s -> %s (%s), in a release commit that stays off the branch until the tag step", d.Current, d.Next, d.Level)
	}
	step("build", true, "%s x %s with version %s", count(len(o.Binaries), "binary", "binaries"), count(len(o.Platforms), "platform", "platforms"), p.Version)
	step("package", true, "archives, SBOMs and %s; skipped at run time when nothing changed", ChecksumsFile)
	step("changelog", true, "%s since %s", count(len(d.Commits), "commit", "commits"), cmpOr(d.PreviousTag, "the first commit"))
	step("image", imageRun, "%s", imageWhy)
	step("push", imageRun, "%s", pushWhy)
	if o.Snapshot {
		step("tag", false, "snapshot: no commit and no tag")
	} else {
		step("tag", true, "move the branch to the release commit (\"release: %s\") and create the annotated tag %s, after every push succeeded", d.Tag, d.Tag)
		step("image tags", imageRun, "point %s at the pushed index only once the git tag exists", strings.Join(Tags(v, img.Latest, img.MinorTag), ", "))
	}
	step("manifest", true, "records every artifact, image digest and stage time")

	add := func(t artifact.Type, name, p2, plat string) {
		p.Artifacts = append(p.Artifacts, PlannedArtifact{Type: t, Name: name, Path: p2, Platform: plat})
	}
	for _, pl := range o.Platforms {
		for _, b := range o.Binaries {
			add(artifact.Binary, b, filepath.ToSlash(gobuild.OutputPath(dist, b, pl)), pl.String())
		}
	}
	for _, pl := range o.Platforms {
		a := filepath.ToSlash(ArchivePath(dist, o.Project, p.Version, pl))
		add(artifact.Archive, path.Base(a), a, pl.String())
	}
	for _, pl := range o.Platforms {
		for _, b := range o.Binaries {
			s := filepath.ToSlash(SBOMPath(dist, b, p.Version, pl))
			add(artifact.SBOM, path.Base(s), s, pl.String())
		}
	}
	add(artifact.Checksums, ChecksumsFile, path.Join(dist, ChecksumsFile), "")
	add(artifact.Changelog, "CHANGELOG.md", path.Join(dist, "CHANGELOG.md"), "")
	if imageRun {
		add(artifact.ImageLayout, path.Base(img.LayoutDir), img.LayoutDir, "")
		for _, ref := range p.Images {
			add(artifact.ImagePush, ref, "", "")
		}
	}
	add(ManifestType, ManifestFile, path.Join(dist, ManifestFile), "")
	return p, nil
}

// count renders n with the right noun form for plan text.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// WriteText prints the plan for a person: the version line, the steps with
// run or skip and why, the artifacts and the image references.
func (p *Plan) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	kind := "release"
	if p.Snapshot {
		kind = "snapshot"
	}
	fmt.Fprintf(tw, "%s plan for %s\n", kind, p.Project)
	switch {
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
	fmt.Fprintf(tw, "  reason\t%s\n", p.Reason)
	fmt.Fprintf(tw, "  platforms\t%s\n", strings.Join(p.Platforms, ", "))
	fmt.Fprintln(tw, "steps")
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
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}
