package release

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/version"
)

func TestTags(t *testing.T) {
	tests := []struct {
		name          string
		v             string
		latest, minor bool
		want          []string
	}{
		{name: "plain", v: "1.2.3", want: []string{"1.2.3"}},
		{name: "all", v: "1.2.3", latest: true, minor: true, want: []string{"1.2.3", "1.2", "latest"}},
		{name: "latest only", v: "0.1.0", latest: true, want: []string{"0.1.0", "latest"}},
		{name: "prerelease moves nothing", v: "1.2.3-rc.1", latest: true, minor: true, want: []string{"1.2.3-rc.1"}},
		{name: "metadata", v: "1.2.3+build.7", minor: true, want: []string{"1.2.3_build.7", "1.2"}},
		{name: "leading v dropped", v: "v2.0.0", want: []string{"2.0.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Tags(semver.MustParse(tt.v), tt.latest, tt.minor)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Tags(%s, %v, %v) (-want +got):\n%s", tt.v, tt.latest, tt.minor, diff)
			}
		})
	}
	if got := Tags(nil, true, true); got != nil {
		t.Errorf("Tags(nil) = %v, want nil", got)
	}
}

// decision runs the real decision rules on a made-up history.
func decision(t *testing.T, current, latest string, explicit version.Level, messages ...string) version.Decision {
	t.Helper()
	var tag *version.Tag
	if latest != "" {
		tag = &version.Tag{Name: "v" + latest, Version: semver.MustParse(latest)}
	}
	var commits []version.Commit
	for i, m := range messages {
		commits = append(commits, version.ParseCommit(strings.Repeat(string(rune('a'+i)), 40), m))
	}
	d, err := version.Decide(semver.MustParse(current), tag, commits, explicit, "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var planPlatforms = []platform.Platform{{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"}, {OS: "windows", Arch: "amd64"}}

func stepMap(p *Plan) map[string]Step {
	m := map[string]Step{}
	for _, s := range p.Steps {
		m[s.Name] = s
	}
	return m
}

func TestBuildPlan(t *testing.T) {
	tests := []struct {
		name     string
		o        PlanOptions
		version  string
		tag      string
		images   []string
		run      []string // steps that run
		reasons  map[string]string
		nFiles   int // artifacts with a path
		noImages bool
	}{
		{
			name: "minor release to the embedded registry",
			o: PlanOptions{
				Decision: decision(t, "0.1.0", "0.1.0", version.None, "feat: a"),
				Image:    ImagePlan{Latest: true, MinorTag: true},
			},
			version: "0.2.0",
			tag:     "v0.2.0",
			images:  []string{"localhost:5000/web:0.2.0", "localhost:5000/web:0.2", "localhost:5000/web:latest"},
			run:     []string{"preflight", "tidy", "vet", "test", "version", "build", "package", "changelog", "image", "push", "tag", "image tags", "manifest"},
			reasons: map[string]string{
				"push":    "no registry configured: the embedded registry at localhost:5000 will be started",
				"version": "VERSION 0.1.0 -> 0.2.0 (minor)",
			},
			// 6 binaries, 3 archives, 6 SBOMs, checksums, changelog, layout, manifest
			nFiles: 19,
		},
		{
			name: "first release as is to two registries",
			o: PlanOptions{
				Decision: decision(t, "0.1.0", "", version.None, "chore: init"),
				Image:    ImagePlan{Name: "svc", Registries: []string{"ghcr.io/acme/", "registry.example.com:5000/team"}, Latest: true},
			},
			version: "0.1.0",
			tag:     "v0.1.0",
			images:  []string{"ghcr.io/acme/svc:0.1.0", "ghcr.io/acme/svc:latest", "registry.example.com:5000/team/svc:0.1.0", "registry.example.com:5000/team/svc:latest"},
			run:     []string{"preflight", "tidy", "vet", "test", "version", "build", "package", "changelog", "image", "push", "tag", "image tags", "manifest"},
			reasons: map[string]string{
				"version": "released as is",
				"push":    "ghcr.io/acme/, registry.example.com:5000/team",
			},
			nFiles: 19,
		},
		{
			name: "nothing to release",
			o: PlanOptions{
				Decision: decision(t, "0.1.0", "0.1.0", version.None, "docs: words"),
			},
			version:  "0.1.0",
			run:      []string{"preflight"},
			reasons:  map[string]string{"build": "nothing to release: "},
			noImages: true,
		},
		{
			name: "snapshot",
			o: PlanOptions{
				Decision:    decision(t, "0.1.0", "0.1.0", version.None, "fix: a"),
				Snapshot:    true,
				ShortCommit: "abc1234",
				Image:       ImagePlan{Registries: []string{"ghcr.io/acme"}, Latest: true, MinorTag: true},
			},
			version: "0.1.1-snapshot.abc1234",
			images:  []string{"localhost:5000/web:0.1.1-snapshot.abc1234"},
			run:     []string{"build", "package", "changelog", "image", "push", "manifest"},
			reasons: map[string]string{
				"version": "snapshot: VERSION stays 0.1.0",
				"push":    "remote registries are left alone",
				"tag":     "snapshot",
			},
			nFiles: 19,
		},
		{
			name: "snapshot with nothing to release",
			o: PlanOptions{
				Decision:    decision(t, "0.1.0", "0.1.0", version.None, "docs: a"),
				Snapshot:    true,
				ShortCommit: "0123456",
				Image:       ImagePlan{EmbeddedAddr: "127.0.0.1:5999"},
			},
			version: "0.1.1-snapshot.g0123456",
			images:  []string{"127.0.0.1:5999/web:0.1.1-snapshot.g0123456"},
			run:     []string{"build", "package", "changelog", "image", "push", "manifest"},
			nFiles:  19,
		},
		{
			name: "image skipped",
			o: PlanOptions{
				Decision: decision(t, "1.0.0", "1.0.0", version.Patch),
				Image:    ImagePlan{Skip: true},
			},
			version:  "1.0.1",
			tag:      "v1.0.1",
			run:      []string{"preflight", "tidy", "vet", "test", "version", "build", "package", "changelog", "tag", "manifest"},
			reasons:  map[string]string{"image": "Image.Skip is set", "push": "no image to push: Image.Skip is set"},
			nFiles:   18,
			noImages: true,
		},
		{
			name: "no linux platform",
			o: PlanOptions{
				Decision:  decision(t, "1.0.0", "1.0.0", version.Prerelease),
				Platforms: []platform.Platform{{OS: "darwin", Arch: "arm64"}},
			},
			version:  "1.0.1-rc.1",
			tag:      "v1.0.1-rc.1",
			run:      []string{"preflight", "tidy", "vet", "test", "version", "build", "package", "changelog", "tag", "manifest"},
			reasons:  map[string]string{"image": "no linux platform"},
			nFiles:   8, // 2 binaries, 1 archive, 2 SBOMs, checksums, changelog, manifest
			noImages: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.Project = "web"
			o.Binaries = []string{"web", "worker"}
			if o.Platforms == nil {
				o.Platforms = planPlatforms
			}
			dist := filepath.Join(t.TempDir(), "dist")
			o.Dist = dist
			p, err := BuildPlan(o)
			if err != nil {
				t.Fatalf("BuildPlan() = %v", err)
			}
			if _, err := os.Stat(dist); !os.IsNotExist(err) {
				t.Errorf("BuildPlan created %s (stat = %v), want no side effect", dist, err)
			}
			if p.Version != tt.version || p.Tag != tt.tag {
				t.Errorf("BuildPlan() version %q tag %q, want %q and %q", p.Version, p.Tag, tt.version, tt.tag)
			}
			if !tt.noImages || len(p.Images) > 0 {
				if diff := cmp.Diff(tt.images, p.Images); diff != "" {
					t.Errorf("BuildPlan().Images (-want +got):\n%s", diff)
				}
			}
			var run []string
			for _, s := range p.Steps {
				if s.Run {
					run = append(run, s.Name)
				}
				if s.Reason == "" {
					t.Errorf("step %s has no reason", s.Name)
				}
			}
			if diff := cmp.Diff(tt.run, run); diff != "" {
				t.Errorf("steps that run (-want +got):\n%s", diff)
			}
			steps := stepMap(p)
			for name, want := range tt.reasons {
				if !strings.Contains(steps[name].Reason, want) {
					t.Errorf("step %s reason = %q, want it to contain %q", name, steps[name].Reason, want)
				}
			}
			files := 0
			for _, a := range p.Artifacts {
				if a.Path != "" {
					files++
				}
			}
			if files != tt.nFiles {
				t.Errorf("BuildPlan() lists %d files, want %d: %+v", files, tt.nFiles, p.Artifacts)
			}
		})
	}
}

// TestBuildPlanMatchesPackage checks that the plan names the exact files
// Package writes, so a dry run never lies about paths.
func TestBuildPlanMatchesPackage(t *testing.T) {
	root, bins := packRoot(t)
	res, err := Package(t.Context(), PackageOptions{Root: root, Project: "svc", Version: "0.2.0", Binaries: bins})
	if err != nil {
		t.Fatal(err)
	}
	p, err := BuildPlan(PlanOptions{
		Decision:  decision(t, "0.1.0", "0.1.0", version.None, "feat: x"),
		Project:   "svc",
		Platforms: testPlatforms,
		Binaries:  []string{"svc"},
	})
	if err != nil {
		t.Fatal(err)
	}
	planned := map[string]bool{}
	for _, a := range p.Artifacts {
		planned[string(a.Type)+" "+a.Path] = true
	}
	for _, a := range append(res.Artifacts, bins...) {
		if !planned[string(a.Type)+" "+a.Path] {
			t.Errorf("Package wrote %s %s, which the plan does not list", a.Type, a.Path)
		}
	}
}

func TestPlanJSONAndText(t *testing.T) {
	p, err := BuildPlan(PlanOptions{
		Decision:  decision(t, "0.1.0", "0.1.0", version.None, "feat: a"),
		Project:   "web",
		Platforms: []platform.Platform{{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm", Variant: "v7"}},
		Binaries:  []string{"web"},
		Image:     ImagePlan{Latest: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range generic {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	wantKeys := []string{"artifacts", "commits", "current", "image_platforms", "images", "level", "platforms", "previous_tag", "project", "reason", "release", "snapshot", "steps", "tag", "version"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("plan JSON keys (-want +got):\n%s", diff)
	}
	var back Plan
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*p, back); diff != "" {
		t.Errorf("plan JSON round trip (-want +got):\n%s", diff)
	}
	if !slices.Contains(p.Artifacts, PlannedArtifact{Type: artifact.Binary, Name: "web", Path: "dist/web_linux_arm_v7/web", Platform: "linux/arm/v7"}) {
		t.Errorf("plan artifacts = %+v, want the arm binary's dist path", p.Artifacts)
	}

	var b bytes.Buffer
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		`^release plan for web\n`,
		`\n  version +0\.2\.0 \(from 0\.1\.0, minor\)\n`,
		`\n  tag +v0\.2\.0\n`,
		`\n  previous tag +v0\.1\.0\n`,
		`\n  platforms +linux/amd64, linux/arm/v7\n`,
		`\n  run   push +no registry configured`,
		`\n  run   build +1 binary x 2 platforms with version 0\.2\.0\n`,
		`\n  archive +dist/web_0\.2\.0_linux_armv7\.tar\.gz +linux/arm/v7\n`,
		`\n  checksums +dist/checksums\.txt\n`,
		`\n  image-push +localhost:5000/web:latest\n`,
		`\nimages\n  localhost:5000/web:0\.2\.0\n  localhost:5000/web:latest\n$`,
	} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("WriteText() =\n%s\nwant it to match %q", text, want)
		}
	}
	if regexp.MustCompile(` +\n`).MatchString(text) {
		t.Errorf("WriteText() =\n%s\nhas trailing spaces", text)
	}
}

func TestPlanTextVariants(t *testing.T) {
	base := PlanOptions{Project: "web", Platforms: planPlatforms[:1], Binaries: []string{"web"}}
	tests := []struct {
		name string
		edit func(o *PlanOptions)
		want []string
	}{
		{
			name: "nothing to release",
			edit: func(o *PlanOptions) { o.Decision = decision(t, "0.1.0", "0.1.0", version.None, "docs: x") },
			want: []string{"0.1.0 (nothing to release)", "skip  build"},
		},
		{
			name: "as is",
			edit: func(o *PlanOptions) { o.Decision = decision(t, "0.1.0", "", version.None) },
			want: []string{"0.1.0 (released as is)", "run   version"},
		},
		{
			name: "snapshot",
			edit: func(o *PlanOptions) {
				o.Decision = decision(t, "0.1.0", "", version.None)
				o.Snapshot, o.ShortCommit = true, "abc"
			},
			want: []string{"snapshot plan for web", "0.1.0-snapshot.abc", "skip  tag"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.edit(&o)
			p, err := BuildPlan(o)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := p.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("WriteText() =\n%s\nwant %q", b.String(), w)
				}
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestBuildPlanErrors(t *testing.T) {
	good := PlanOptions{Decision: decision(t, "0.1.0", "", version.None), Project: "web", Platforms: planPlatforms, Binaries: []string{"web"}}
	tests := []struct {
		name string
		edit func(o *PlanOptions)
		want string
	}{
		{name: "no decision", edit: func(o *PlanOptions) { o.Decision = version.Decision{} }, want: "no version decision"},
		{name: "no project", edit: func(o *PlanOptions) { o.Project = "" }, want: "no project name"},
		{name: "no platforms", edit: func(o *PlanOptions) { o.Platforms = nil }, want: "no platforms"},
		{name: "no binaries", edit: func(o *PlanOptions) { o.Binaries = nil }, want: "no binaries"},
		{name: "snapshot without commit", edit: func(o *PlanOptions) { o.Snapshot = true }, want: "no commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.edit(&o)
			if _, err := BuildPlan(o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("BuildPlan() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	p, err := BuildPlan(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteText(failWriter{}); err == nil {
		t.Errorf("WriteText(failing writer) = nil, want an error")
	}
}

func TestSnapshotVersion(t *testing.T) {
	tests := []struct {
		name string
		d    version.Decision
		want string
	}{
		{name: "release pending", d: decision(t, "0.1.0", "0.1.0", version.None, "feat: x"), want: "0.2.0-snapshot.abc"},
		{name: "nothing pending", d: decision(t, "0.1.0", "0.1.0", version.None), want: "0.1.1-snapshot.abc"},
		{name: "candidate", d: decision(t, "1.0.0-rc.1", "", version.None), want: "1.0.0-rc.1.snapshot.abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SnapshotVersion(tt.d, "abc")
			if err != nil || got.String() != tt.want {
				t.Errorf("SnapshotVersion() = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
	if _, err := SnapshotVersion(version.Decision{}, "abc"); err == nil {
		t.Errorf("SnapshotVersion(empty) = nil error, want one")
	}
	if _, err := SnapshotVersion(version.Decision{Release: true}, "abc"); err == nil {
		t.Errorf("SnapshotVersion(release without next) = nil error, want one")
	}
}
