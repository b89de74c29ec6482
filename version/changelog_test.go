package version

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenCommits cover every group, scoped and unscoped lines, a breaking note
// and a message that is not a Conventional Commit, in git log order.
func goldenCommits() []Commit {
	msgs := []string{
		"docs(readme): explain BUMP",
		"feat(image)!: drop the alpine base\n\nBREAKING CHANGE: images are distroless now; add a shell layer yourself",
		"fix: keep file modes in archives",
		"Update CONTRIBUTING",
		"perf(build): reuse the module cache",
		"feat: add release:plan",
		"fix(version): accept CRLF in VERSION",
		"refactor!: rename targets",
		"feat(publish): push to several registries",
	}
	var cs []Commit
	for i, m := range msgs {
		hash := strings.Repeat(string(rune('a'+i)), 40)
		cs = append(cs, ParseCommit(hash, m))
	}
	return cs
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -run %s -update to create it): %v", t.Name(), err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestChangelogGolden(t *testing.T) {
	date := time.Date(2026, 3, 14, 23, 30, 0, 0, time.FixedZone("X", -5*3600)) // 2026-03-15 in UTC
	got := Changelog("v1.4.2", "v2.0.0", goldenCommits(), date)
	checkGolden(t, "changelog.golden", got)
	if again := Changelog("v1.4.2", "v2.0.0", goldenCommits(), date); again != got {
		t.Errorf("Changelog is not deterministic:\n%s\nthen\n%s", got, again)
	}
}

func TestTagMessageGolden(t *testing.T) {
	got := TagMessage("v2.0.0", goldenCommits())
	checkGolden(t, "tagmessage.golden", got)
	if !strings.HasPrefix(got, "Release v2.0.0\n\n") {
		t.Errorf("TagMessage(v2.0.0, ...) starts %q, want \"Release v2.0.0\" and a blank line", got[:min(len(got), 20)])
	}
	if strings.Contains(got, "#") {
		t.Errorf("TagMessage(v2.0.0, ...) contains %q, which git would strip as a comment", "#")
	}
}

func TestChangelogEdges(t *testing.T) {
	tests := []struct {
		name    string
		prev    string
		commits []Commit
		date    time.Time
		want    string
	}{
		{
			name: "first release without date",
			commits: []Commit{
				ParseCommit("1234567890", "feat: first"),
			},
			want: "## v0.1.0\n\nFirst release.\n\n### Features\n\n- first (1234567)\n",
		},
		{
			name: "no commits",
			prev: "v0.1.0",
			date: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
			want: "## v0.1.0 (2026-01-02)\n\nChanges since v0.1.0.\n\nNo changes.\n",
		},
		{
			name:    "commit without hash",
			prev:    "v0.0.9",
			commits: []Commit{{Subject: "by hand"}},
			want:    "## v0.1.0\n\nChanges since v0.0.9.\n\n### Other changes\n\n- by hand\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Changelog(tt.prev, "v0.1.0", tt.commits, tt.date)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Changelog(%q, v0.1.0, ...) mismatch (-want +got):\n%s", tt.prev, diff)
			}
		})
	}
	if got, want := TagMessage("v0.1.0", nil), "Release v0.1.0\n"; got != want {
		t.Errorf("TagMessage(v0.1.0, nil) = %q, want %q", got, want)
	}
}
