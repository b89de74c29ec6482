package version

import (
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

func TestDecide(t *testing.T) {
	tag := func(name string) *Tag {
		return &Tag{Name: name, Version: semver.MustParse(strings.TrimPrefix(name, "v")), Commit: "c0ffee"}
	}
	cs := func(ms ...string) []Commit {
		var out []Commit
		for i, m := range ms {
			out = append(out, ParseCommit(strings.Repeat(string(rune('a'+i)), 40), m))
		}
		return out
	}
	tests := []struct {
		name      string
		current   string
		latest    *Tag
		commits   []Commit
		explicit  Level
		preID     string
		wantNext  string
		wantLevel Level
		release   bool
		reasonHas []string
		errHas    []string
	}{
		{
			name: "fresh project releases VERSION as is", current: "0.1.0", commits: cs("feat: a", "initial"),
			release: true, wantNext: "0.1.0", wantLevel: None,
			reasonHas: []string{"first release", "0.1.0 has no tag yet"},
		},
		{
			name: "fresh project with no commits", current: "0.1.0",
			release: true, wantNext: "0.1.0", wantLevel: None,
		},
		{
			name: "hand-edited VERSION above the tag", current: "2.0.0", latest: tag("v1.4.0"), commits: cs("docs: a"),
			release: true, wantNext: "2.0.0", wantLevel: None,
			reasonHas: []string{"above the latest tag v1.4.0", "as is"},
		},
		{
			name: "VERSION below the tag", current: "0.1.0", latest: tag("v0.2.0"), commits: cs("fix: a"),
			errHas: []string{"VERSION holds 0.1.0", "tag v0.2.0", "backwards", "write 0.2.0 to VERSION", "git tag -d v0.2.0"},
		},
		{
			name: "explicit level from VERSION", current: "1.2.3", latest: tag("v1.2.3"), commits: cs("docs: a"), explicit: Minor,
			release: true, wantNext: "1.3.0", wantLevel: Minor,
			reasonHas: []string{"BUMP=minor from VERSION 1.2.3 gives 1.3.0"},
		},
		{
			name: "explicit level from a higher tag", current: "1.0.0", latest: tag("v1.2.0"), explicit: Patch,
			release: true, wantNext: "1.2.1", wantLevel: Patch,
			reasonHas: []string{"from tag v1.2.0"},
		},
		{
			name: "explicit level beats an untagged VERSION", current: "0.1.0", explicit: Major,
			release: true, wantNext: "1.0.0", wantLevel: Major,
		},
		{
			name: "explicit prerelease with identifier", current: "1.2.3", latest: tag("v1.2.3"), explicit: Prerelease, preID: "beta",
			release: true, wantNext: "1.2.4-beta.1", wantLevel: Prerelease,
		},
		{
			name: "explicit prerelease going down fails", current: "1.2.3-rc.1", latest: tag("v1.2.3-rc.1"), explicit: Prerelease, preID: "alpha",
			errHas: []string{"sort below"},
		},
		{
			name: "explicit unknown level", current: "1.2.3", explicit: Level(9),
			errHas: []string{"unknown bump level"},
		},
		{
			name: "feat gives minor", current: "1.2.3", latest: tag("v1.2.3"), commits: cs("fix: a", "feat(api): b", "docs: c"),
			release: true, wantNext: "1.3.0", wantLevel: Minor,
			reasonHas: []string{"minor release", "3 commits since v1.2.3", "feat (bbbbbbb b)"},
		},
		{
			name: "fix gives patch", current: "1.2.3", latest: tag("v1.2.3"), commits: cs("fix: a"),
			release: true, wantNext: "1.2.4", wantLevel: Patch,
			reasonHas: []string{"patch release: 1 commit since v1.2.3"},
		},
		{
			name: "breaking gives major", current: "1.2.3", latest: tag("v1.2.3"), commits: cs("feat!: a"),
			release: true, wantNext: "2.0.0", wantLevel: Major,
			reasonHas: []string{"breaking change"},
		},
		{
			name: "breaking below one is minor", current: "0.3.1", latest: tag("v0.3.1"), commits: cs("fix: a", "feat!: b"),
			release: true, wantNext: "0.4.0", wantLevel: Minor,
			reasonHas: []string{"breaking change", "BUMP=major to reach 1.0.0"},
		},
		{
			name: "fix finishes a tagged candidate", current: "1.3.0-rc.1", latest: tag("v1.3.0-rc.1"), commits: cs("fix: a"),
			release: true, wantNext: "1.3.0", wantLevel: Patch,
		},
		{
			name: "nothing releasable", current: "0.2.0", latest: tag("v0.2.0"), commits: cs("docs: a", "chore: b", "Update README"),
			release: false, wantNext: "0.2.0", wantLevel: None,
			reasonHas: []string{"no releasable commits since v0.2.0: 3 commits, none is feat/fix/perf or breaking; set BUMP=patch to release anyway"},
		},
		{
			name: "no commits since the tag", current: "0.2.0", latest: tag("v0.2.0"),
			release: false, wantNext: "0.2.0", wantLevel: None,
			reasonHas: []string{"no commits since it", "BUMP=patch"},
		},
		{
			name: "tag equal to VERSION ignoring metadata", current: "1.0.0+b", latest: tag("v1.0.0"), commits: cs("fix: a"),
			release: true, wantNext: "1.0.1", wantLevel: Patch,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := semver.MustParse(tt.current)
			d, err := decide(cur, tt.latest, tt.commits, tt.explicit, tt.preID, DefaultPrefix)
			if tt.errHas != nil {
				if err == nil {
					t.Fatalf("decide(%s, ...) = %+v, want an error", tt.current, d)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("decide(%s, ...) error = %q, want it to contain %q", tt.current, err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("decide(%s, ...) error = %v", tt.current, err)
			}
			if d.Release != tt.release {
				t.Errorf("decide(%s, ...).Release = %v, want %v (reason %q)", tt.current, d.Release, tt.release, d.Reason)
			}
			if d.Next.String() != tt.wantNext {
				t.Errorf("decide(%s, ...).Next = %s, want %s", tt.current, d.Next, tt.wantNext)
			}
			if d.Level != tt.wantLevel {
				t.Errorf("decide(%s, ...).Level = %s, want %s", tt.current, d.Level, tt.wantLevel)
			}
			if want := "v" + tt.wantNext; d.Tag != want {
				t.Errorf("decide(%s, ...).Tag = %q, want %q", tt.current, d.Tag, want)
			}
			if !d.Current.Equal(cur) {
				t.Errorf("decide(%s, ...).Current = %s, want %s", tt.current, d.Current, cur)
			}
			wantPrev := ""
			if tt.latest != nil {
				wantPrev = tt.latest.Name
			}
			if d.PreviousTag != wantPrev {
				t.Errorf("decide(%s, ...).PreviousTag = %q, want %q", tt.current, d.PreviousTag, wantPrev)
			}
			if len(d.Commits) != len(tt.commits) {
				t.Errorf("decide(%s, ...) kept %d commits, want %d", tt.current, len(d.Commits), len(tt.commits))
			}
			if d.Reason == "" {
				t.Errorf("decide(%s, ...).Reason is empty", tt.current)
			}
			for _, s := range tt.reasonHas {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("decide(%s, ...).Reason = %q, want it to contain %q", tt.current, d.Reason, s)
				}
			}
		})
	}
}

func TestDecideBadInput(t *testing.T) {
	if _, err := decide(nil, nil, nil, None, "", DefaultPrefix); err == nil {
		t.Errorf("decide(nil, ...) error = nil, want an error")
	}
	broken := &Tag{Name: "v1.0.0"}
	if _, err := decide(semver.MustParse("1.0.0"), broken, nil, None, "", DefaultPrefix); err == nil {
		t.Errorf("decide(1.0.0, tag without version) error = nil, want an error")
	}
}

func TestSnapshot(t *testing.T) {
	tests := []struct {
		name string
		next string
		sha  string
		want string
	}{
		{name: "release", next: "1.2.3", sha: "abc1234", want: "1.2.3-snapshot.abc1234"},
		{name: "prerelease", next: "1.2.3-rc.1", sha: "abc1234", want: "1.2.3-rc.1.snapshot.abc1234"},
		{name: "digits with leading zero", next: "1.2.3", sha: "0123456", want: "1.2.3-snapshot.g0123456"},
		{name: "digits only", next: "1.2.3", sha: "1234567", want: "1.2.3-snapshot.g1234567"},
		{name: "upper case and junk", next: "1.2.3", sha: "AB_C.12", want: "1.2.3-snapshot.abc12"},
		{name: "no sha", next: "1.2.3", sha: "", want: "1.2.3-snapshot"},
		{name: "metadata kept", next: "1.2.3+linux", sha: "abc1234", want: "1.2.3-snapshot.abc1234+linux"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := semver.MustParse(tt.next)
			got := Snapshot(next, tt.sha)
			if got.String() != tt.want {
				t.Errorf("Snapshot(%s, %q) = %s, want %s", tt.next, tt.sha, got, tt.want)
			}
			if _, err := semver.StrictNewVersion(got.String()); err != nil {
				t.Errorf("Snapshot(%s, %q) = %s, not valid semver: %v", tt.next, tt.sha, got, err)
			}
			if next.Prerelease() == "" && !got.LessThan(next) {
				t.Errorf("Snapshot(%s, %q) = %s, want it to sort below %s", tt.next, tt.sha, got, next)
			}
		})
	}
	if got := Snapshot(nil, "abc"); got != nil {
		t.Errorf("Snapshot(nil, abc) = %v, want nil", got)
	}
}

func TestMakeOptions(t *testing.T) {
	tests := []struct {
		name   string
		opts   []Option
		errHas string
		check  func(t *testing.T, o options)
	}{
		{
			name: "defaults",
			check: func(t *testing.T, o options) {
				if o.prefix != "v" || o.versionFile != "/repo/VERSION" || o.bump != None || o.preID != "" || o.paths != nil {
					t.Errorf("makeOptions() = %+v, want prefix v, /repo/VERSION, no bump, no paths", o)
				}
			},
		},
		{
			name: "everything set",
			opts: []Option{WithPrefix("svc/v"), WithVersionFile("svc/VERSION"), WithBump(Prerelease), WithPreID("beta"), WithPaths("svc/", "lib/")},
			check: func(t *testing.T, o options) {
				if o.prefix != "svc/v" || o.versionFile != "/repo/svc/VERSION" || o.bump != Prerelease || o.preID != "beta" || len(o.paths) != 2 {
					t.Errorf("makeOptions(...) = %+v, want every option applied", o)
				}
			},
		},
		{
			name: "absolute version file",
			opts: []Option{WithVersionFile("/elsewhere/VERSION")},
			check: func(t *testing.T, o options) {
				if o.versionFile != "/elsewhere/VERSION" {
					t.Errorf("makeOptions(WithVersionFile(abs)).versionFile = %q, want /elsewhere/VERSION", o.versionFile)
				}
			},
		},
		{name: "preID without prerelease", opts: []Option{WithPreID("beta")}, errHas: "set BUMP=prerelease"},
		{name: "preID with minor", opts: []Option{WithBump(Minor), WithPreID("beta")}, errHas: "without a prerelease bump"},
		{name: "bad preID", opts: []Option{WithBump(Prerelease), WithPreID("b@d")}, errHas: "not valid semver"},
		{name: "bad level", opts: []Option{WithBump(Level(-1))}, errHas: "unknown bump level"},
		{name: "empty version file", opts: []Option{WithVersionFile("")}, errHas: "empty VERSION file"},
		{name: "empty path", opts: []Option{WithPaths("svc", " ")}, errHas: "empty path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := makeOptions("/repo", tt.opts...)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("makeOptions(...) error = %v, want one containing %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("makeOptions(...) error = %v", err)
			}
			tt.check(t, o)
		})
	}
}
