package release

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/hoistdev/hoist/artifact"
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

// TestPlanText checks the text form a person reads: the version line,
// each stage with run or skip, the artifacts and the image references.
func TestPlanText(t *testing.T) {
	date := commitTime
	p := &Plan{
		Project: "web", Release: true, Version: "0.2.0", Current: "0.1.0", Level: "minor", Tag: "v0.2.0", PreviousTag: "v0.1.0",
		Reason: "minor release", Commit: strings.Repeat("c", 40), Date: &date, Platforms: []string{"linux/amd64", "linux/arm/v7"},
		Steps: []Step{{Name: "build", Run: true, Reason: "1 of 2 binaries to compile"}, {Name: "tag", Run: false, Reason: "snapshots are not tagged"}},
		Artifacts: []PlannedArtifact{
			{Type: artifact.Archive, Name: "web_0.2.0_linux_armv7.tar.gz", Path: "dist/web_0.2.0_linux_armv7.tar.gz", Platform: "linux/arm/v7"},
			{Type: artifact.Checksums, Name: ChecksumsFile, Path: "dist/checksums.txt"},
		},
		Images: []string{"localhost:5000/web:0.2.0", "localhost:5000/web:latest"},
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
		`\n  commit +c{40}\n`,
		`\n  platforms +linux/amd64, linux/arm/v7\n`,
		`\n  run   build +1 of 2 binaries to compile\n`,
		`\n  skip  tag +snapshots are not tagged\n`,
		`\n  archive +dist/web_0\.2\.0_linux_armv7\.tar\.gz +linux/arm/v7\n`,
		`\n  checksums +dist/checksums\.txt\n`,
		`\nimages\n  localhost:5000/web:0\.2\.0\n  localhost:5000/web:latest\n$`,
	} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("WriteText() =\n%s\nwant it to match %q", text, want)
		}
	}
	if regexp.MustCompile(` +\n`).MatchString(text) {
		t.Errorf("WriteText() =\n%s\nhas trailing spaces", text)
	}
	for _, tt := range []struct {
		name string
		edit func(*Plan)
		want string
	}{
		{"nothing", func(p *Plan) { p.Release, p.Version = false, "0.1.0" }, "0.1.0 (nothing to release)"},
		{"as is", func(p *Plan) { p.Version = "0.1.0" }, "0.1.0 (released as is)"},
		{"refused", func(p *Plan) { p.Refused = "dirty" }, "0.1.0 (refused, see preflight)"},
		{"pending", func(p *Plan) { p.Pending = "the release of v0.2.0 was interrupted" }, "first         the release of v0.2.0 was interrupted"},
		{"snapshot", func(p *Plan) { p.Snapshot = true }, "snapshot plan for web"},
	} {
		q := *p
		tt.edit(&q)
		b.Reset()
		if err := q.WriteText(&b); err != nil || !strings.Contains(b.String(), tt.want) {
			t.Errorf("%s: WriteText() = %v\n%s\nwant %q", tt.name, err, b.String(), tt.want)
		}
	}
	if err := p.WriteText(failWriter{}); err == nil {
		t.Errorf("WriteText(failing writer) = nil, want an error")
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*p, back); diff != "" {
		t.Errorf("plan JSON round trip (-want +got):\n%s", diff)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestSnapshotVersion(t *testing.T) {
	tests := []struct {
		name string
		d    version.Decision
		want string
	}{
		{name: "release pending", d: version.Decision{Release: true, Current: semver.MustParse("0.1.0"), Next: semver.MustParse("0.2.0")}, want: "0.2.0-snapshot.abc"},
		{name: "nothing pending", d: version.Decision{Current: semver.MustParse("0.1.0"), Next: semver.MustParse("0.1.0")}, want: "0.1.1-snapshot.abc"},
		{name: "candidate", d: version.Decision{Release: true, Current: semver.MustParse("1.0.0-rc.1"), Next: semver.MustParse("1.0.0-rc.1")}, want: "1.0.0-rc.1.snapshot.abc"},
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
