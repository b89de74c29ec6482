package version

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

// TestPlanReleaseCycle walks a project through several releases the way
// `mage release` drives this package: plan, write VERSION, commit, tag.
func TestPlanReleaseCycle(t *testing.T) {
	r := newRepo(t)
	r.write("VERSION", "0.1.0\n")
	r.git("add", "VERSION")
	r.git("commit", "-q", "-m", "chore: start the project")
	r.commit("main.go", "feat: serve /health")

	release := func(wantTag string, opts ...Option) Decision {
		t.Helper()
		d, err := Plan(t.Context(), r.dir, opts...)
		if err != nil {
			t.Fatalf("Plan() error = %v", err)
		}
		if !d.Release || d.Tag != wantTag {
			t.Fatalf("Plan() = release %v tag %q (%s), want release of %s", d.Release, d.Tag, d.Reason, wantTag)
		}
		if err := WriteFile(filepath.Join(r.dir, "VERSION"), d.Next); err != nil {
			t.Fatal(err)
		}
		r.git("add", "VERSION")
		if r.git("status", "--porcelain", "VERSION") != "" {
			r.git("commit", "-q", "-m", "chore(release): "+d.Next.String())
		}
		commit := r.git("rev-parse", "HEAD")
		if err := CreateAnnotatedTag(t.Context(), r.dir, d.Tag, TagMessage(d.Tag, d.Commits), commit); err != nil {
			t.Fatal(err)
		}
		return d
	}

	// First release: VERSION as is, the whole history as the changelog.
	d := release("v0.1.0")
	if d.Level != None || d.PreviousTag != "" || len(d.Commits) != 2 {
		t.Errorf("first Plan() = level %s, previous %q, %d commits; want none, \"\", 2", d.Level, d.PreviousTag, len(d.Commits))
	}

	// Nothing releasable since.
	r.commit("README", "docs: usage")
	d, err := Plan(t.Context(), r.dir)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	if d.Release || !strings.Contains(d.Reason, "no releasable commits since v0.1.0: 1 commit") {
		t.Errorf("Plan() after docs = release %v, reason %q; want no release naming v0.1.0", d.Release, d.Reason)
	}

	// A breaking change below 1.0.0 is a minor release.
	r.commit("main.go", "feat(api)!: rename routes")
	d = release("v0.2.0")
	if d.Level != Minor || d.PreviousTag != "v0.1.0" || len(d.Commits) != 2 {
		t.Errorf("Plan() = level %s, previous %q, %d commits; want minor, v0.1.0, 2", d.Level, d.PreviousTag, len(d.Commits))
	}

	// An explicit prerelease, then a fix finishes it.
	d, err = Plan(t.Context(), r.dir, WithBump(Prerelease), WithPreID("beta"))
	if err != nil || d.Tag != "v0.2.1-beta.1" {
		t.Fatalf("Plan(prerelease beta) = %q, %v, want v0.2.1-beta.1", d.Tag, err)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "VERSION")); err != nil {
		t.Fatal(err)
	}
	if v, _ := ReadFile(filepath.Join(r.dir, "VERSION")); v.String() != "0.2.0" {
		t.Errorf("Plan() changed VERSION to %s, want it untouched", v)
	}

	// Explicit major reaches 1.0.0.
	d = release("v1.0.0", WithBump(Major))
	if d.Level != Major || d.PreviousTag != "v0.2.0" {
		t.Errorf("Plan(major) = level %s, previous %q; want major, v0.2.0", d.Level, d.PreviousTag)
	}
	d, err = Plan(t.Context(), r.dir, WithBump(Major))
	if err != nil || d.Tag != "v2.0.0" {
		t.Errorf("Plan(major) = %q, %v, want v2.0.0", d.Tag, err)
	}

	// The plan serialises for `release:plan -json`.
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"next":"2.0.0"`, `"level":"major"`, `"tag":"v2.0.0"`, `"previousTag":"v1.0.0"`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("json.Marshal(Plan()) = %s, want it to contain %s", b, s)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	t.Run("VERSION behind the tag", func(t *testing.T) {
		r := newRepo(t)
		r.write("VERSION", "0.1.0\n")
		r.git("add", "VERSION")
		r.git("commit", "-q", "-m", "feat: x")
		r.git("tag", "v0.3.0")
		_, err := Plan(t.Context(), r.dir)
		if err == nil || !strings.Contains(err.Error(), "backwards") {
			t.Errorf("Plan() error = %v, want the going-backwards error", err)
		}
	})
	t.Run("next tag already taken", func(t *testing.T) {
		r := newRepo(t)
		r.write("VERSION", "0.1.0\n")
		r.git("add", "VERSION")
		r.git("commit", "-q", "-m", "feat: x")
		// A tag of a tree is no release, so Tags skips it, but its name
		// is still taken.
		r.git("tag", "v0.1.0", "HEAD^{tree}")
		_, err := Plan(t.Context(), r.dir)
		if err == nil || !strings.Contains(err.Error(), "tag v0.1.0 already exists") {
			t.Errorf("Plan() error = %v, want the taken tag named", err)
		}
	})
	t.Run("bad VERSION", func(t *testing.T) {
		r := newRepo(t)
		r.write("VERSION", "v1.0.0\n")
		r.commit("a", "feat: x")
		_, err := Plan(t.Context(), r.dir)
		if err == nil || !strings.Contains(err.Error(), `drop the leading "v"`) {
			t.Errorf("Plan(VERSION v1.0.0) error = %v, want the leading-v error", err)
		}
	})
	t.Run("conflicting options", func(t *testing.T) {
		_, err := Plan(t.Context(), t.TempDir(), WithPreID("beta"))
		if err == nil || !strings.Contains(err.Error(), "BUMP=prerelease") {
			t.Errorf("Plan(WithPreID only) error = %v, want the conflict named", err)
		}
	})
	t.Run("empty repository", func(t *testing.T) {
		r := newRepo(t)
		r.write("VERSION", "0.1.0\n")
		_, err := Plan(t.Context(), r.dir)
		if err == nil || !strings.Contains(err.Error(), "no commits yet") {
			t.Errorf("Plan(empty repo) error = %v, want the no-commits error", err)
		}
	})
}

func TestPlanMonorepo(t *testing.T) {
	r := newRepo(t)
	r.write("svc/VERSION", "1.0.0\n")
	r.git("add", ".")
	r.git("commit", "-q", "-m", "chore: add svc")
	r.git("tag", "-a", "-m", "svc 1.0.0", "svc/v1.0.0")
	r.git("tag", "v5.0.0") // the root project's tag must not interfere
	r.commit("svc/main.go", "fix(svc): handle SIGTERM")
	r.commit("lib/util.go", "feat(lib): new helper")

	svc := filepath.Join(r.dir, "svc")
	d, err := Plan(t.Context(), r.dir, WithPrefix("svc/v"), WithVersionFile("svc/VERSION"), WithPaths("svc/"))
	if err != nil {
		t.Fatalf("Plan(svc) error = %v", err)
	}
	if !d.Release || d.Tag != "svc/v1.0.1" || d.Level != Patch || len(d.Commits) != 1 {
		t.Errorf("Plan(svc) = %s level %s with %d commits (%s), want svc/v1.0.1, patch, 1 commit", d.Tag, d.Level, len(d.Commits), d.Reason)
	}

	// The same from inside the service directory, paths relative to it.
	d, err = Plan(t.Context(), svc, WithPrefix("svc/v"), WithPaths("."))
	if err != nil || d.Tag != "svc/v1.0.1" {
		t.Errorf("Plan(from svc/) = %q, %v, want svc/v1.0.1", d.Tag, err)
	}

	// Without the path filter the lib feature counts too.
	d, err = Plan(t.Context(), r.dir, WithPrefix("svc/v"), WithVersionFile("svc/VERSION"))
	if err != nil || d.Next.String() != semver.MustParse("1.1.0").String() {
		t.Errorf("Plan(svc, no paths) = %v, %v, want 1.1.0", d.Next, err)
	}
}

// TestPlainTags is a repository whose old releases were tagged v1.x and
// whose newer ones are plain 3.x: the scheme in use now is found, and the
// plan continues from the plain tags instead of an ancient v-tag.
func TestPlainTags(t *testing.T) {
	r := newRepo(t)
	if p, from, err := DiscoverPrefix(t.Context(), r.dir); err != nil || p != DefaultPrefix || from != "" {
		t.Errorf("DiscoverPrefix(no tags) = %q, %q, %v; want the default", p, from, err)
	}
	r.write("VERSION", "1.0.0\n")
	r.git("add", "VERSION")
	r.git("commit", "-q", "-m", "chore: start")
	r.gitEnv([]string{"GIT_COMMITTER_DATE=2019-01-01T00:00:00Z"}, "tag", "-a", "-m", "old", "v1.9.0")
	r.write("VERSION", "3.2.1\n")
	r.git("commit", "-q", "-am", "chore: 3.2.1")
	r.gitEnv([]string{"GIT_COMMITTER_DATE=2024-01-01T00:00:00Z"}, "tag", "-a", "-m", "new", "3.2.1")
	r.git("tag", "not-a-version")
	r.commit("main.go", "fix: a bug")
	p, from, err := DiscoverPrefix(t.Context(), r.dir)
	if err != nil || p != "" || from != "3.2.1" {
		t.Fatalf("DiscoverPrefix(mixed) = %q, %q, %v; want plain tags, from 3.2.1", p, from, err)
	}
	d, err := Plan(t.Context(), r.dir, WithPrefix(p))
	if err != nil {
		t.Fatal(err)
	}
	if d.Tag != "3.2.2" || d.PreviousTag != "3.2.1" || len(d.Commits) != 1 {
		t.Errorf("Plan(plain) = tag %s after %s with %d commits, want 3.2.2 after 3.2.1 with 1", d.Tag, d.PreviousTag, len(d.Commits))
	}
}
