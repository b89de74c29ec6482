package version

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTags(t *testing.T) {
	r := newRepo(t)
	c1 := r.commit("a.txt", "feat: one")
	r.git("tag", "v0.1.0")                             // lightweight
	r.git("tag", "-a", "-m", "rel", "v0.2.0-rc.1", c1) // annotated
	c2 := r.commit("a.txt", "fix: two")
	r.git("tag", "-a", "-m", "rel", "v0.2.0")
	r.git("tag", "-a", "-m", "outer", "v0.2.1", "v0.2.0") // a tag of a tag
	r.git("tag", "v1.0")                                  // not semver
	r.git("tag", "vnext")                                 // not semver
	r.git("tag", "release-3")                             // other prefix
	r.git("tag", "svc/v3.0.0")                            // monorepo prefix
	r.git("tag", "svc/v2.5.0", c1)
	tree := r.git("rev-parse", "HEAD^{tree}")
	r.git("tag", "v9.9.9", tree) // points at a tree: not a release

	type row struct{ Name, Version, Commit string }
	rows := func(tags []Tag) []row {
		var out []row
		for _, tg := range tags {
			out = append(out, row{tg.Name, tg.Version.String(), tg.Commit})
		}
		return out
	}
	tests := []struct {
		name   string
		prefix string
		want   []row
	}{
		{
			name: "default prefix", prefix: DefaultPrefix,
			want: []row{
				{"v0.2.1", "0.2.1", c2},
				{"v0.2.0", "0.2.0", c2},
				{"v0.2.0-rc.1", "0.2.0-rc.1", c1},
				{"v0.1.0", "0.1.0", c1},
			},
		},
		{
			name: "monorepo prefix", prefix: "svc/v",
			want: []row{{"svc/v3.0.0", "3.0.0", c2}, {"svc/v2.5.0", "2.5.0", c1}},
		},
		{name: "no match", prefix: "api/v", want: nil},
		{name: "plain tags: none here", prefix: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Tags(t.Context(), r.dir, tt.prefix)
			if err != nil {
				t.Fatalf("Tags(%q) error = %v", tt.prefix, err)
			}
			if diff := cmp.Diff(tt.want, rows(got)); diff != "" {
				t.Errorf("Tags(%q) mismatch (-want +got):\n%s", tt.prefix, diff)
			}
			latest, err := LatestTag(t.Context(), r.dir, tt.prefix)
			if err != nil {
				t.Fatalf("LatestTag(%q) error = %v", tt.prefix, err)
			}
			switch {
			case tt.want == nil && latest != nil:
				t.Errorf("LatestTag(%q) = %s, want nil", tt.prefix, latest.Name)
			case tt.want != nil && (latest == nil || latest.Name != tt.want[0].Name):
				t.Errorf("LatestTag(%q) = %v, want %s", tt.prefix, latest, tt.want[0].Name)
			}
		})
	}
}

func TestTagsEqualPrecedenceSortByName(t *testing.T) {
	r := newRepo(t)
	r.commit("a.txt", "one")
	r.git("tag", "v1.0.0+b")
	r.git("tag", "v1.0.0+a")
	r.git("tag", "v1.0.0")
	tags, err := Tags(t.Context(), r.dir, "v")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range tags {
		names = append(names, tg.Name)
	}
	if want := []string{"v1.0.0", "v1.0.0+a", "v1.0.0+b"}; !cmp.Equal(names, want) {
		t.Errorf("Tags(v) = %v, want %v", names, want)
	}
}

func TestCommitsSince(t *testing.T) {
	r := newRepo(t)
	r.commit("a.txt", "chore: start")
	r.git("tag", "-a", "-m", "first", "v0.1.0")
	body := "feat(api)!: new routes\n\nLine one of the body.\n\n  indented line\nwith \x1e and \x1f inside\n\nBREAKING CHANGE: old routes are gone"
	hFeat := r.commit("svc/api.go", body)
	hFix := r.commit("lib/x.go", "fix: handle nil")
	// A merge commit must be skipped; the branch commit it brings is listed.
	r.git("checkout", "-q", "-b", "topic", "HEAD~1")
	hTopic := r.commit("svc/topic.go", "Not conventional at all")
	r.git("checkout", "-q", "main")
	r.git("merge", "-q", "--no-ff", "-m", "Merge branch 'topic'", "topic")

	t.Run("since tag", func(t *testing.T) {
		got, err := CommitsSinceIn(t.Context(), r.dir, "v0.1.0")
		if err != nil {
			t.Fatalf("CommitsSince(v0.1.0) error = %v", err)
		}
		var hashes []string
		for _, c := range got {
			hashes = append(hashes, c.Hash)
		}
		// Newest first; the two branch tips are ordered by commit time,
		// which can tie, so compare as a set plus the count.
		if len(got) != 3 {
			t.Fatalf("CommitsSince(v0.1.0) = %d commits %v, want 3 (no merge)", len(got), hashes)
		}
		byHash := map[string]Commit{}
		for _, c := range got {
			byHash[c.Hash] = c
		}
		feat, ok := byHash[hFeat]
		if !ok {
			t.Fatalf("CommitsSince(v0.1.0) = %v, want it to include %s", hashes, hFeat)
		}
		want := ParseCommit(hFeat, body)
		if diff := cmp.Diff(want, feat); diff != "" {
			t.Errorf("CommitsSince(v0.1.0) feat commit mismatch (-want +got):\n%s", diff)
		}
		if !feat.Breaking || !strings.Contains(feat.Body, "  indented line\nwith \x1e and \x1f inside") {
			t.Errorf("CommitsSince(v0.1.0) feat = %+v, want the body intact and breaking", feat)
		}
		if _, ok := byHash[hFix]; !ok {
			t.Errorf("CommitsSince(v0.1.0) = %v, want it to include the fix %s", hashes, hFix)
		}
		if c, ok := byHash[hTopic]; !ok || c.Type != "" || c.Subject != "Not conventional at all" {
			t.Errorf("CommitsSince(v0.1.0) topic commit = %+v, want the non-conventional commit kept", c)
		}
	})

	t.Run("all history", func(t *testing.T) {
		got, err := CommitsSinceIn(t.Context(), r.dir, "")
		if err != nil {
			t.Fatalf("CommitsSince(\"\") error = %v", err)
		}
		if len(got) != 4 {
			t.Errorf("CommitsSince(\"\") = %d commits, want 4", len(got))
		}
		if last := got[len(got)-1]; last.Subject != "start" || last.Type != "chore" {
			t.Errorf("CommitsSince(\"\") oldest = %+v, want the chore: start commit", last)
		}
	})

	t.Run("paths", func(t *testing.T) {
		tests := []struct {
			name  string
			paths []string
			want  []string
		}{
			{name: "svc only", paths: []string{"svc/"}, want: []string{hFeat, hTopic}},
			{name: "lib only", paths: []string{"lib"}, want: []string{hFix}},
			{name: "both", paths: []string{"lib", "svc/api.go"}, want: []string{hFeat, hFix}},
			{name: "nothing there", paths: []string{"docs/"}, want: nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := CommitsSinceIn(t.Context(), r.dir, "v0.1.0", tt.paths...)
				if err != nil {
					t.Fatalf("CommitsSinceIn(v0.1.0, %v) error = %v", tt.paths, err)
				}
				seen := map[string]bool{}
				for _, c := range got {
					seen[c.Hash] = true
				}
				if len(got) != len(tt.want) {
					t.Errorf("CommitsSinceIn(v0.1.0, %v) = %d commits, want %d", tt.paths, len(got), len(tt.want))
				}
				for _, h := range tt.want {
					if !seen[h] {
						t.Errorf("CommitsSinceIn(v0.1.0, %v) misses %s", tt.paths, h)
					}
				}
			})
		}
	})

	t.Run("unknown tag", func(t *testing.T) {
		_, err := CommitsSinceIn(t.Context(), r.dir, "v9.9.9")
		if err == nil || !strings.Contains(err.Error(), "existing tag") {
			t.Errorf("CommitsSince(v9.9.9) error = %v, want one asking whether the tag exists", err)
		}
	})
}

func TestCommitsSinceEmptyRepo(t *testing.T) {
	r := newRepo(t)
	_, err := CommitsSinceIn(t.Context(), r.dir, "")
	if err == nil || !strings.Contains(err.Error(), "no commits yet") {
		t.Errorf("CommitsSince(empty repo) error = %v, want one saying there are no commits", err)
	}
}

func TestParseLog(t *testing.T) {
	out := []byte("aaa\nfeat: x\n\nbody\n\x00\nbbb\nfix: y\n\x00")
	got := parseLog(out)
	want := []Commit{
		{Hash: "aaa", Type: "feat", Subject: "x", Body: "body"},
		{Hash: "bbb", Type: "fix", Subject: "y"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseLog(...) mismatch (-want +got):\n%s", diff)
	}
	if got := parseLog(nil); got != nil {
		t.Errorf("parseLog(nil) = %v, want nil", got)
	}
}

func TestTagExists(t *testing.T) {
	r := newRepo(t)
	r.commit("a.txt", "one")
	r.git("tag", "v1.0.0")
	r.git("tag", "v1/sub") // a prefix match that is not the tag asked for
	r.git("branch", "v2.0.0")
	tests := []struct {
		name string
		tag  string
		want bool
	}{
		{name: "exists", tag: "v1.0.0", want: true},
		{name: "missing", tag: "v1.0.1", want: false},
		{name: "directory of tags", tag: "v1", want: false},
		{name: "branch of that name", tag: "v2.0.0", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TagExists(t.Context(), r.dir, tt.tag)
			if err != nil || got != tt.want {
				t.Errorf("TagExists(%q) = %v, %v, want %v, nil", tt.tag, got, err, tt.want)
			}
		})
	}
}

func TestCommitTime(t *testing.T) {
	r := newRepo(t)
	r.write("a.txt", "a")
	r.git("add", "a.txt")
	when := "2024-02-29T12:34:56+02:00"
	r.gitEnv([]string{"GIT_COMMITTER_DATE=" + when, "GIT_AUTHOR_DATE=2001-01-01T00:00:00Z"}, "commit", "-q", "-m", "one")
	want := r.git("rev-parse", "HEAD")

	for _, rev := range []string{"HEAD", want, "main"} {
		got, err := CommitTime(t.Context(), r.dir, rev)
		wantTime := time.Date(2024, 2, 29, 10, 34, 56, 0, time.UTC)
		if err != nil || !got.Equal(wantTime) || got.Location() != time.UTC {
			t.Errorf("CommitTime(%s) = %v, %v, want %v in UTC (committer, not author, time)", rev, got, err, wantTime)
		}
	}
	if _, err := CommitTime(t.Context(), r.dir, "--all"); err == nil {
		t.Errorf("CommitTime(--all) error = nil, want the option refused as a revision")
	}
	if _, err := CommitTime(t.Context(), r.dir, "nope"); err == nil {
		t.Errorf("CommitTime(nope) error = nil, want an error")
	}
}

func TestAnnotatedTagLifecycle(t *testing.T) {
	r := newRepo(t)
	first := r.commit("a.txt", "feat: one")
	second := r.commit("a.txt", "fix: two")
	msg := TagMessage("v1.0.0", []Commit{ParseCommit(second, "fix: two")})

	if err := CreateAnnotatedTag(t.Context(), r.dir, "v1.0.0", msg, first); err != nil {
		t.Fatalf("CreateAnnotatedTag(v1.0.0) error = %v", err)
	}
	if typ := r.git("cat-file", "-t", "v1.0.0"); typ != "tag" {
		t.Errorf("CreateAnnotatedTag made a %s object, want an annotated tag", typ)
	}
	if got := r.git("rev-parse", "v1.0.0^{commit}"); got != first {
		t.Errorf("tag v1.0.0 points at %s, want %s", got, first)
	}
	if got := r.git("tag", "-l", "--format=%(contents)", "v1.0.0"); got != strings.TrimSpace(msg) {
		t.Errorf("tag message = %q, want %q", got, strings.TrimSpace(msg))
	}
	tags, err := Tags(t.Context(), r.dir, "v")
	if err != nil || len(tags) != 1 || tags[0].Commit != first {
		t.Errorf("Tags(v) = %+v, %v, want v1.0.0 at %s", tags, err, first)
	}

	err = CreateAnnotatedTag(t.Context(), r.dir, "v1.0.0", msg, "")
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "git tag -d v1.0.0") {
		t.Errorf("CreateAnnotatedTag(existing) error = %v, want it to say it exists and how to delete it", err)
	}

	if err := CreateAnnotatedTag(t.Context(), r.dir, "v1.1.0", "", ""); err != nil {
		t.Fatalf("CreateAnnotatedTag(v1.1.0, empty message, HEAD) error = %v", err)
	}
	if got := r.git("rev-parse", "v1.1.0^{commit}"); got != second {
		t.Errorf("tag v1.1.0 points at %s, want HEAD %s", got, second)
	}
	if got := r.git("tag", "-l", "--format=%(contents)", "v1.1.0"); got != "Release v1.1.0" {
		t.Errorf("default tag message = %q, want %q", got, "Release v1.1.0")
	}

	if err := DeleteTag(t.Context(), r.dir, "v1.1.0"); err != nil {
		t.Fatalf("DeleteTag(v1.1.0) error = %v", err)
	}
	if ok, err := TagExists(t.Context(), r.dir, "v1.1.0"); ok || err != nil {
		t.Errorf("TagExists(v1.1.0) after DeleteTag = %v, %v, want false, nil", ok, err)
	}
	if err := DeleteTag(t.Context(), r.dir, "v1.1.0"); err == nil {
		t.Errorf("DeleteTag(missing) error = nil, want an error")
	}

	badNames := []string{"", "-d", "bad..name"}
	for _, name := range badNames {
		if err := CreateAnnotatedTag(t.Context(), r.dir, name, "m", ""); err == nil {
			t.Errorf("CreateAnnotatedTag(%q) error = nil, want an error", name)
		}
	}
	if err := DeleteTag(t.Context(), r.dir, "-x"); err == nil {
		t.Errorf("DeleteTag(-x) error = nil, want an error")
	}
	if err := CreateAnnotatedTag(t.Context(), r.dir, "v2.0.0", "m", "no-such-commit"); err == nil {
		t.Errorf("CreateAnnotatedTag(on a missing commit) error = nil, want an error")
	}
}

func TestCheckIdentity(t *testing.T) {
	tests := []struct {
		name    string
		config  map[string]string
		env     map[string]string
		wantErr []string // nil: no error
	}{
		{name: "configured", config: map[string]string{"user.name": "A", "user.email": "a@example.com"}},
		{
			name:    "nothing",
			wantErr: []string{`config user.name "Your Name"`, "config user.email you@example.com"},
		},
		{
			name:    "email missing",
			config:  map[string]string{"user.name": "A"},
			wantErr: []string{"config user.email you@example.com"},
		},
		{
			name: "from the environment",
			env: map[string]string{
				"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com",
				"GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.com",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateGit(t)
			dir := t.TempDir()
			r := &testRepo{t: t, dir: dir}
			r.git("init", "-q")
			for k, v := range tt.config {
				r.git("config", k, v)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			err := CheckIdentity(t.Context(), dir)
			if tt.wantErr == nil {
				if err != nil {
					t.Errorf("CheckIdentity() error = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckIdentity() error = nil, want one naming the git config commands")
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("CheckIdentity() error = %q, want it to contain %q", err, s)
				}
			}
			if strings.Contains(tt.name, "email") && strings.Contains(err.Error(), "user.name \"Your Name\"") {
				t.Errorf("CheckIdentity() error = %q, want only the missing email named", err)
			}
		})
	}
}

func TestCheckClean(t *testing.T) {
	r := newRepo(t)
	r.write(".gitignore", "/ignored/\n")
	r.write("tracked.txt", "a\n")
	r.write("old.txt", "old\n")
	r.write("svc/main.go", "package main\n")
	r.git("add", ".")
	r.git("commit", "-q", "-m", "initial")

	if err := CheckClean(t.Context(), r.dir); err != nil {
		t.Fatalf("CheckClean(clean tree) error = %v", err)
	}
	r.write("ignored/x", "gitignored files never count")
	if err := CheckClean(t.Context(), r.dir); err != nil {
		t.Fatalf("CheckClean(only gitignored files) error = %v", err)
	}

	r.write("tracked.txt", "b\n")
	r.write("dist/app", "binary")
	r.write("svc/dist/app", "binary")
	r.write("VERSION", "1.0.0\n")
	r.git("mv", "old.txt", "new.txt")

	tests := []struct {
		name    string
		dir     string
		ignore  []string
		wantHas []string
		wantNot []string
	}{
		{
			name:    "everything listed",
			dir:     r.dir,
			wantHas: []string{"tracked.txt", "dist/", "svc/dist/", "VERSION", "new.txt", "commit or stash"},
			wantNot: []string{"old.txt", "ignored"},
		},
		{
			name:    "ignore prefixes",
			dir:     r.dir,
			ignore:  []string{"dist/", "./VERSION", ""},
			wantHas: []string{"tracked.txt", "svc/dist/", "new.txt"},
			wantNot: []string{" dist/", "VERSION"},
		},
		{
			name:    "ignores relative to a subdirectory",
			dir:     filepath.Join(r.dir, "svc"),
			ignore:  []string{"dist"},
			wantHas: []string{"tracked.txt", " dist/", "VERSION"},
			wantNot: []string{"svc/dist"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckClean(t.Context(), tt.dir, tt.ignore...)
			if err == nil {
				t.Fatalf("CheckClean(%v) error = nil, want the dirty files listed", tt.ignore)
			}
			for _, s := range tt.wantHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("CheckClean(%v) error = %q, want it to contain %q", tt.ignore, err, s)
				}
			}
			for _, s := range tt.wantNot {
				if strings.Contains(err.Error(), s) {
					t.Errorf("CheckClean(%v) error = %q, want it not to contain %q", tt.ignore, err, s)
				}
			}
		})
	}

	if err := CheckClean(t.Context(), r.dir, "."); err != nil {
		t.Errorf("CheckClean(ignore everything) error = %v, want nil", err)
	}
}

func TestCheckCleanListsAtMostTen(t *testing.T) {
	r := newRepo(t)
	r.commit("README", "initial")
	for i := range 13 {
		r.write(fmt.Sprintf("f%02d.txt", i), "x")
	}
	err := CheckClean(t.Context(), r.dir)
	if err == nil {
		t.Fatal("CheckClean(13 untracked files) error = nil, want an error")
	}
	msg := err.Error()
	if n := strings.Count(msg, ".txt"); n != maxDirty {
		t.Errorf("CheckClean(13 files) lists %d files, want %d: %s", n, maxDirty, msg)
	}
	if !strings.Contains(msg, "and 3 more") {
		t.Errorf("CheckClean(13 files) error = %q, want it to say how many were left out", msg)
	}
}

func TestCurrentBranch(t *testing.T) {
	r := newRepo(t)
	r.commit("a.txt", "one")
	r.git("checkout", "-q", "-b", "feature/x")
	name, detached, err := CurrentBranch(t.Context(), r.dir)
	if err != nil || name != "feature/x" || detached {
		t.Errorf("CurrentBranch() = %q, %v, %v, want feature/x, false, nil", name, detached, err)
	}
	r.git("checkout", "-q", "--detach")
	name, detached, err = CurrentBranch(t.Context(), r.dir)
	if err != nil || name != "" || !detached {
		t.Errorf("CurrentBranch(detached) = %q, %v, %v, want \"\", true, nil", name, detached, err)
	}
}

func TestNotARepository(t *testing.T) {
	isolateGit(t)
	dir := t.TempDir()
	ctx := t.Context()
	checks := []struct {
		name string
		err  error
	}{
		{"Tags", second(Tags(ctx, dir, "v"))},
		{"CommitsSinceIn", second(CommitsSinceIn(ctx, dir, ""))},
		{"TagExists", second(TagExists(ctx, dir, "v1.0.0"))},
		{"CommitTime", second(CommitTime(ctx, dir, "HEAD"))},
		{"CheckIdentity", CheckIdentity(ctx, dir)},
		{"CheckClean", CheckClean(ctx, dir)},
		{"CurrentBranch", func() error { _, _, err := CurrentBranch(ctx, dir); return err }()},
		{"Plan", second(Plan(ctx, dir))},
	}
	for _, c := range checks {
		if c.err == nil {
			t.Errorf("%s(not a repository) error = nil, want an error", c.name)
			continue
		}
		if c.name != "Plan" && !strings.Contains(c.err.Error(), dir) {
			t.Errorf("%s(not a repository) error = %q, want it to name the directory", c.name, c.err)
		}
	}
}

func TestGitErrors(t *testing.T) {
	isolateGit(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := git(ctx, t.TempDir(), nil, "version")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("git(cancelled ctx) error = %v, want context.Canceled", err)
	}

	t.Setenv("PATH", t.TempDir())
	_, err = git(t.Context(), t.TempDir(), nil, "version")
	if err == nil || !strings.Contains(err.Error(), "install git") {
		t.Errorf("git(without git on PATH) error = %v, want a hint to install git", err)
	}
	if exitCode(err) != -1 {
		t.Errorf("exitCode(not found) = %d, want -1", exitCode(err))
	}
	if exitCode(errors.New("x")) != -1 {
		t.Errorf("exitCode(plain error) != -1")
	}
}

func second[T any](_ T, err error) error { return err }

func TestIsShallow(t *testing.T) {
	r := newRepo(t)
	r.commit("a.txt", "one")
	r.commit("a.txt", "two")
	shallow, err := IsShallow(t.Context(), r.dir)
	if err != nil || shallow {
		t.Errorf("IsShallow(full repo) = %v, %v, want false, nil", shallow, err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	r.git("clone", "-q", "--depth=1", "file://"+r.dir, clone)
	shallow, err = IsShallow(t.Context(), clone)
	if err != nil || !shallow {
		t.Errorf("IsShallow(depth 1 clone) = %v, %v, want true, nil", shallow, err)
	}
	if _, err := IsShallow(t.Context(), t.TempDir()); err == nil {
		t.Errorf("IsShallow(not a repository) error = nil, want an error")
	}
}
