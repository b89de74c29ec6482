package release

import (
	"encoding/json"
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
	rec.Stage("build")("2 binaries up to date", nil)
	rec.Skip("push", "no registry")
	done := rec.Stage("image")
	rec.Stage("test")("go test", errBoom)
	unfinished := rec.Stage("tag")
	_ = unfinished
	done("built", nil)
	done("again", errBoom) // a second call changes nothing
	want := []StageRecord{
		{Name: "build", Status: StatusOK, Reason: "2 binaries up to date", DurationMS: 250},
		{Name: "push", Status: StatusSkipped, Reason: "no registry"},
		{Name: "image", Status: StatusOK, Reason: "built", DurationMS: 1000},
		{Name: "test", Status: StatusFailed, Reason: "go test", DurationMS: 250, Error: "boom"},
		{Name: "tag", Status: StatusFailed, Error: "did not finish"},
	}
	if diff := cmp.Diff(want, rec.Stages()); diff != "" {
		t.Errorf("Stages() (-want +got):\n%s", diff)
	}
	if !rec.Failed() {
		t.Errorf("Failed() = false, want true")
	}
	var zero Recorder
	zero.Stage("x")("", nil)
	if zero.Failed() || zero.Stages()[0].Status != StatusOK {
		t.Errorf("zero Recorder stages = %+v, want one ok stage", zero.Stages())
	}
	zero.restore(want[:1])
	if got := zero.Stages(); len(got) != 1 || got[0].Name != "build" {
		t.Errorf("restore() = %+v, want the build stage only", got)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	rec := NewRecorder()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				err = errBoom
			}
			rec.Stage("stage")("", err)
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
		Referrers: []ReferrerRef{
			{Ref: "localhost:5000/web@sha256:f2", Kind: KindSBOM, Subject: "sha256:bb"},
			{Ref: "localhost:5000/web@sha256:e1", Kind: KindSignature, Subject: "sha256:a1", Platform: "linux/amd64"},
		},
		Stages: []StageRecord{{Name: "build", Status: StatusOK, DurationMS: 12}},
	}
	m.AddArtifacts(
		artifact.Artifact{Type: artifact.SBOM, Name: "web_1.2.3_linux_amd64.spdx.json", Path: "dist/web_1.2.3_linux_amd64.spdx.json", Platform: "linux/amd64", Digest: "sha256:cc", Size: 3},
		artifact.Artifact{Type: artifact.Archive, Name: "web_1.2.3_linux_amd64.tar.gz", Path: "dist/web_1.2.3_linux_amd64.tar.gz", Platform: "linux/amd64", Digest: "sha256:dd", Size: 4},
	)
	path := filepath.Join(t.TempDir(), "dist", ManifestFile)
	if err := m.WriteManifest(t.Context(), path); err != nil {
		t.Fatalf("WriteManifest() = %v", err)
	}
	got := readManifest(t, path)
	want := &Manifest{
		Version: "1.2.3", Tag: "v1.2.3", PreviousTag: "v1.2.2", Commit: m.Commit, Date: commitTime,
		Artifacts: []ManifestArtifact{
			{Type: artifact.Archive, Name: "web_1.2.3_linux_amd64.tar.gz", Path: "dist/web_1.2.3_linux_amd64.tar.gz", Platform: "linux/amd64", SHA256: "dd", Size: 4},
			{Type: artifact.SBOM, Name: "web_1.2.3_linux_amd64.spdx.json", Path: "dist/web_1.2.3_linux_amd64.spdx.json", Platform: "linux/amd64", SHA256: "cc", Size: 3},
		},
		Images: []ImageRef{{Ref: "localhost:5000/web:1.2.3", Digest: "sha256:bb"}, {Ref: "localhost:5000/web:latest", Digest: "sha256:bb"}},
		Referrers: []ReferrerRef{
			{Ref: "localhost:5000/web@sha256:e1", Kind: KindSignature, Subject: "sha256:a1", Platform: "linux/amd64"},
			{Ref: "localhost:5000/web@sha256:f2", Kind: KindSBOM, Subject: "sha256:bb"},
		},
		Stages: []StageRecord{{Name: "build", Status: StatusOK, DurationMS: 12}},
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
	if err := (&Manifest{Version: "0.1.0", Snapshot: true}).WriteManifest(t.Context(), path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	for _, key := range []string{`"artifacts": []`, `"images": []`, `"stages": []`, `"snapshot": true`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("empty release.json = %s\nwant %s", raw, key)
		}
	}
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	if err := (&Manifest{}).WriteManifest(t.Context(), filepath.Join(blocker, ManifestFile)); err == nil {
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
			if err := WriteChangelog(t.Context(), path, tt.d, commitTime); err != nil {
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
	if err := WriteChangelog(t.Context(), filepath.Join(dir, "x.md"), version.Decision{}, commitTime); err == nil {
		t.Errorf("WriteChangelog(empty decision) = nil, want an error")
	}
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	if err := WriteChangelog(t.Context(), filepath.Join(blocker, "CHANGELOG.md"), tests[0].d, commitTime); err == nil {
		t.Errorf("WriteChangelog(under a file) = nil, want an error")
	}
}

// readManifest decodes a release.json the way a CI job reading it would.
func readManifest(t testing.TB, path string) *Manifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return &m
}
