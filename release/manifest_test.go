package release

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/version"
)

// fakeClock advances by step on every reading, so durations are exact.
func fakeClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := time.Unix(1700000000, 0)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(step)
		return now
	}
}

func TestRecorder(t *testing.T) {
	rec := &Recorder{now: fakeClock(250 * time.Millisecond)}
	if err := rec.Run("build", func() error { return nil }); err != nil {
		t.Errorf("Run(ok) = %v, want nil", err)
	}
	if err := rec.Run("package", func() error { return Skipped("inputs unchanged") }); err != nil {
		t.Errorf("Run(Skipped) = %v, want nil", err)
	}
	rec.Skip("push", "no registry")
	done := rec.Stage("image")
	if err := rec.Run("test", func() error { return errBoom }); !errors.Is(err, errBoom) {
		t.Errorf("Run(failing) = %v, want %v", err, errBoom)
	}
	unfinished := rec.Stage("tag")
	_ = unfinished
	done(nil)
	done(errBoom) // a second call changes nothing
	want := []Stage{
		{Name: "build", Status: StatusOK, DurationMS: 250},
		{Name: "package", Status: StatusSkipped, DurationMS: 250, Note: "inputs unchanged"},
		{Name: "push", Status: StatusSkipped, Note: "no registry"},
		{Name: "image", Status: StatusOK, DurationMS: 1000},
		{Name: "test", Status: StatusFailed, DurationMS: 250, Note: "boom"},
		{Name: "tag", Status: StatusFailed, Note: "did not finish"},
	}
	if diff := cmp.Diff(want, rec.Stages()); diff != "" {
		t.Errorf("Stages() (-want +got):\n%s", diff)
	}
	if !rec.Failed() {
		t.Errorf("Failed() = false, want true")
	}
	var zero Recorder
	zero.Run("x", func() error { return nil })
	if zero.Failed() || zero.Stages()[0].Status != StatusOK {
		t.Errorf("zero Recorder stages = %+v, want one ok stage", zero.Stages())
	}
	if got := Skipped("why").Error(); got != "skipped: why" {
		t.Errorf("Skipped(why).Error() = %q, want %q", got, "skipped: why")
	}
}

func TestRecorderConcurrent(t *testing.T) {
	rec := NewRecorder()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			rec.Run("stage", func() error {
				if i%2 == 0 {
					return errBoom
				}
				return nil
			})
		})
	}
	wg.Wait()
	failed := 0
	for _, s := range rec.Stages() {
		if s.Status == StatusFailed {
			failed++
		}
	}
	if failed != 4 {
		t.Errorf("failed stages = %d, want 4", failed)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m := &Manifest{
		Version:     "1.2.3",
		Tag:         "v1.2.3",
		PreviousTag: "v1.2.2",
		Commit:      strings.Repeat("a", 40),
		Date:        commitTime.In(time.FixedZone("X", 3600)),
		Images:      []ImageRef{{Ref: "localhost:5000/web:latest", Digest: "sha256:bb"}, {Ref: "localhost:5000/web:1.2.3", Digest: "sha256:bb"}},
		Stages:      []Stage{{Name: "build", Status: StatusOK, DurationMS: 12}},
	}
	m.AddArtifacts(
		artifact.Artifact{Type: artifact.SBOM, Name: "web_1.2.3_linux_amd64.spdx.json", Path: "dist/web_1.2.3_linux_amd64.spdx.json", Platform: "linux/amd64", Digest: "sha256:cc", Size: 3},
		artifact.Artifact{Type: artifact.Archive, Name: "web_1.2.3_linux_amd64.tar.gz", Path: "dist/web_1.2.3_linux_amd64.tar.gz", Platform: "linux/amd64", Digest: "sha256:dd", Size: 4},
	)
	path := filepath.Join(t.TempDir(), "dist", ManifestFile)
	if err := m.WriteManifest(path); err != nil {
		t.Fatalf("WriteManifest() = %v", err)
	}
	got, err := ReadManifest(path)
	if err != nil {
		t.Fatalf("ReadManifest() = %v", err)
	}
	want := &Manifest{
		Version: "1.2.3", Tag: "v1.2.3", PreviousTag: "v1.2.2", Commit: m.Commit, Date: commitTime,
		Artifacts: []ManifestArtifact{
			{Type: artifact.Archive, Name: "web_1.2.3_linux_amd64.tar.gz", Path: "dist/web_1.2.3_linux_amd64.tar.gz", Platform: "linux/amd64", SHA256: "dd", Size: 4},
			{Type: artifact.SBOM, Name: "web_1.2.3_linux_amd64.spdx.json", Path: "dist/web_1.2.3_linux_amd64.spdx.json", Platform: "linux/amd64", SHA256: "cc", Size: 3},
		},
		Images: []ImageRef{{Ref: "localhost:5000/web:1.2.3", Digest: "sha256:bb"}, {Ref: "localhost:5000/web:latest", Digest: "sha256:bb"}},
		Stages: []Stage{{Name: "build", Status: StatusOK, DurationMS: 12}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadManifest(WriteManifest(m)) (-want +got):\n%s", diff)
	}
	if m.Images[0].Ref != "localhost:5000/web:latest" {
		t.Errorf("WriteManifest sorted the caller's slice: %+v", m.Images)
	}
	raw, _ := os.ReadFile(path)
	for _, key := range []string{`"version"`, `"previous_tag"`, `"snapshot": false`, `"duration_ms"`, `"sha256": "dd"`, `"date": "2024-05-17T13:45:10Z"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("release.json = %s\nwant it to contain %s", raw, key)
		}
	}
}

func TestManifestEmptyAndErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ManifestFile)
	if err := (&Manifest{Version: "0.1.0", Snapshot: true}).WriteManifest(path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	for _, key := range []string{`"artifacts": []`, `"images": []`, `"stages": []`, `"snapshot": true`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("empty release.json = %s\nwant %s", raw, key)
		}
	}
	if _, err := ReadManifest(filepath.Join(dir, "missing.json")); err == nil {
		t.Errorf("ReadManifest(missing) = nil, want an error")
	}
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{"), 0o644)
	if _, err := ReadManifest(filepath.Join(dir, "bad.json")); err == nil || !strings.Contains(err.Error(), "rerun") {
		t.Errorf("ReadManifest(bad) = %v, want an error saying to rerun", err)
	}
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	if err := (&Manifest{}).WriteManifest(filepath.Join(blocker, ManifestFile)); err == nil {
		t.Errorf("WriteManifest(under a file) = nil, want an error")
	}
}

func TestWriteChangelog(t *testing.T) {
	dir := t.TempDir()
	commits := []version.Commit{
		version.ParseCommit(strings.Repeat("1", 40), "feat(api): add things"),
		version.ParseCommit(strings.Repeat("2", 40), "fix: stop crashing"),
	}
	tests := []struct {
		name string
		d    version.Decision
		want []string
	}{
		{
			name: "release",
			d:    version.Decision{Tag: "v0.2.0", PreviousTag: "v0.1.0", Next: semver.MustParse("0.2.0"), Commits: commits},
			want: []string{"## v0.2.0 (2024-05-17)", "Changes since v0.1.0", "api: add things (1111111)", "stop crashing (2222222)"},
		},
		{
			name: "snapshot without tag",
			d:    version.Decision{Next: semver.MustParse("0.2.0-snapshot.abc"), Commits: commits},
			want: []string{"## 0.2.0-snapshot.abc", "First release."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name, "CHANGELOG.md")
			if err := WriteChangelog(path, tt.d, commitTime); err != nil {
				t.Fatalf("WriteChangelog() = %v", err)
			}
			b, _ := os.ReadFile(path)
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("CHANGELOG.md = %s\nwant it to contain %q", b, w)
				}
			}
		})
	}
	if err := WriteChangelog(filepath.Join(dir, "x.md"), version.Decision{}, commitTime); err == nil {
		t.Errorf("WriteChangelog(empty decision) = nil, want an error")
	}
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	if err := WriteChangelog(filepath.Join(blocker, "CHANGELOG.md"), tests[0].d, commitTime); err == nil {
		t.Errorf("WriteChangelog(under a file) = nil, want an error")
	}
}
