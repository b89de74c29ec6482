package version

import (
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"
)

func TestParseCommit(t *testing.T) {
	const h = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name string
		msg  string
		want Commit
	}{
		{
			name: "feat",
			msg:  "feat: add health endpoint\n",
			want: Commit{Hash: h, Type: "feat", Subject: "add health endpoint"},
		},
		{
			name: "scope",
			msg:  "fix(api): reject empty names",
			want: Commit{Hash: h, Type: "fix", Scope: "api", Subject: "reject empty names"},
		},
		{
			name: "bang",
			msg:  "feat(api)!: drop v1 routes",
			want: Commit{Hash: h, Type: "feat", Scope: "api", Breaking: true, Subject: "drop v1 routes"},
		},
		{
			name: "bang without scope",
			msg:  "refactor!: rename config keys",
			want: Commit{Hash: h, Type: "refactor", Breaking: true, Subject: "rename config keys"},
		},
		{
			name: "type case is folded",
			msg:  "FIX: shout less",
			want: Commit{Hash: h, Type: "fix", Subject: "shout less"},
		},
		{
			name: "body and breaking footer",
			msg: "feat: new config format\n\nThe config is now TOML.\nIt was YAML.\n\n" +
				"BREAKING CHANGE: config.yaml is no longer read;\nconvert it to config.toml\nRefs: #12\n",
			want: Commit{
				Hash: h, Type: "feat", Breaking: true, Subject: "new config format",
				BreakingNote: "config.yaml is no longer read; convert it to config.toml",
				Body: "The config is now TOML.\nIt was YAML.\n\n" +
					"BREAKING CHANGE: config.yaml is no longer read;\nconvert it to config.toml\nRefs: #12",
			},
		},
		{
			name: "hyphenated breaking footer",
			msg:  "fix: stricter parsing\n\nBREAKING-CHANGE: numbers with spaces fail",
			want: Commit{
				Hash: h, Type: "fix", Breaking: true, Subject: "stricter parsing",
				BreakingNote: "numbers with spaces fail", Body: "BREAKING-CHANGE: numbers with spaces fail",
			},
		},
		{
			name: "lower-case footer is not breaking",
			msg:  "fix: x\n\nbreaking change: not really",
			want: Commit{Hash: h, Type: "fix", Subject: "x", Body: "breaking change: not really"},
		},
		{
			name: "crlf message",
			msg:  "docs: readme\r\n\r\nMore words.\r\n",
			want: Commit{Hash: h, Type: "docs", Subject: "readme", Body: "More words."},
		},
		{
			name: "leading blank lines",
			msg:  "\n\nchore: tidy",
			want: Commit{Hash: h, Type: "chore", Subject: "tidy"},
		},
		{
			name: "extra spaces after colon",
			msg:  "perf:   faster hashing  ",
			want: Commit{Hash: h, Type: "perf", Subject: "faster hashing"},
		},
		{
			name: "empty scope",
			msg:  "fix(): something",
			want: Commit{Hash: h, Type: "fix", Subject: "something"},
		},
		{
			name: "not conventional",
			msg:  "Update README.md\n\nBREAKING CHANGE: ignored here",
			want: Commit{Hash: h, Subject: "Update README.md", Body: "BREAKING CHANGE: ignored here"},
		},
		{
			name: "no space after colon",
			msg:  "feat:missing space",
			want: Commit{Hash: h, Subject: "feat:missing space"},
		},
		{
			name: "fixup is not conventional",
			msg:  "fixup! feat: add x",
			want: Commit{Hash: h, Subject: "fixup! feat: add x"},
		},
		{
			name: "merge",
			msg:  "Merge branch 'topic'",
			want: Commit{Hash: h, Subject: "Merge branch 'topic'"},
		},
		{
			name: "empty subject",
			msg:  "feat: ",
			want: Commit{Hash: h, Subject: "feat:"},
		},
		{
			name: "empty message",
			msg:  "",
			want: Commit{Hash: h},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseCommit(h, tt.msg)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCommit(%q) mismatch (-want +got):\n%s", tt.msg, diff)
			}
		})
	}
}

func TestCommitShortHash(t *testing.T) {
	tests := []struct {
		name, hash, want string
	}{
		{name: "full", hash: "0123456789abcdef", want: "0123456"},
		{name: "short already", hash: "abc", want: "abc"},
		{name: "empty", hash: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Commit{Hash: tt.hash}).ShortHash(); got != tt.want {
				t.Errorf("Commit{Hash: %q}.ShortHash() = %q, want %q", tt.hash, got, tt.want)
			}
		})
	}
}

func TestLevelFor(t *testing.T) {
	msgs := func(ms ...string) []Commit {
		var cs []Commit
		for _, m := range ms {
			cs = append(cs, ParseCommit("h", m))
		}
		return cs
	}
	tests := []struct {
		name    string
		current string // "" for nil
		commits []Commit
		want    Level
	}{
		{name: "no commits", current: "1.0.0", want: None},
		{name: "fix", current: "1.0.0", commits: msgs("fix: a"), want: Patch},
		{name: "perf", current: "1.0.0", commits: msgs("perf: a"), want: Patch},
		{name: "feat", current: "1.0.0", commits: msgs("fix: a", "feat: b"), want: Minor},
		{name: "breaking bang", current: "1.0.0", commits: msgs("fix: a", "feat!: b", "feat: c"), want: Major},
		{name: "breaking footer on chore", current: "2.3.4", commits: msgs("chore: a\n\nBREAKING CHANGE: b"), want: Major},
		{name: "housekeeping only", current: "1.0.0", commits: msgs("docs: a", "chore: b", "test: c", "ci: d", "build: e", "style: f", "refactor: g"), want: None},
		{name: "unknown type", current: "1.0.0", commits: msgs("revert: a", "wip: b"), want: None},
		{name: "not conventional", current: "1.0.0", commits: msgs("Fix the bug", "add feature"), want: None},
		{name: "zero major breaking is minor", current: "0.4.2", commits: msgs("feat!: a"), want: Minor},
		{name: "zero major feat is minor", current: "0.4.2", commits: msgs("feat: a"), want: Minor},
		{name: "zero major fix is patch", current: "0.4.2", commits: msgs("fix: a"), want: Patch},
		{name: "zero major prerelease", current: "0.9.0-rc.1", commits: msgs("fix!: a"), want: Minor},
		{name: "one rc breaking is major", current: "1.0.0-rc.1", commits: msgs("fix!: a"), want: Major},
		{name: "nil current counts as zero major", commits: msgs("feat!: a"), want: Minor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cur *semver.Version
			if tt.current != "" {
				cur = semver.MustParse(tt.current)
			}
			if got := LevelFor(tt.commits, cur); got != tt.want {
				t.Errorf("LevelFor(%d commits, %s) = %s, want %s", len(tt.commits), tt.current, got, tt.want)
			}
		})
	}
}
