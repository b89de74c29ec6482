package version

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Decision is what a release will be called and why. It is computed without
// side effects, so `release:plan` can print it and `release` can act on it.
type Decision struct {
	// Release is false when nothing since the previous tag calls for a
	// release; Reason then says how to force one.
	Release bool `json:"release"`
	// Current is the version VERSION holds.
	Current *semver.Version `json:"current"`
	// Next is the version to release; equal to Current when VERSION is
	// released as is, and when Release is false.
	Next *semver.Version `json:"next"`
	// Level is the bump applied to reach Next; None when VERSION is released
	// as is or nothing is released.
	Level Level `json:"level"`
	// Reason explains the decision in one sentence for the user.
	Reason string `json:"reason"`
	// Tag is the tag name Next will get (prefix + Next).
	Tag string `json:"tag"`
	// PreviousTag is the latest release tag, or "" for a first release; the
	// changelog starts after it.
	PreviousTag string `json:"previousTag,omitempty"`
	// Commits are the commits since PreviousTag that were weighed, newest
	// first; they make the changelog.
	Commits []Commit `json:"commits,omitempty"`
}

// decide applies the release rules of the package doc. It is pure: current
// is VERSION's value, latest the highest release tag (nil if none), commits
// those since latest, explicit the level the user forced (None to decide
// from the commits), preID the prerelease identifier for a Prerelease bump,
// and prefix the tag prefix.
func decide(current *semver.Version, latest *Tag, commits []Commit, explicit Level, preID, prefix string) (Decision, error) {
	if current == nil {
		return Decision{}, fmt.Errorf("decide release: no current version; read it from VERSION first")
	}
	if explicit < None || explicit > Prerelease {
		return Decision{}, fmt.Errorf("decide release: unknown bump level %s", explicit)
	}
	d := Decision{Current: current, Commits: commits}
	var latestV *semver.Version
	if latest != nil {
		if latest.Version == nil {
			return Decision{}, fmt.Errorf("decide release: tag %s has no version", latest.Name)
		}
		latestV = latest.Version
		d.PreviousTag = latest.Name
	}

	switch {
	case explicit != None:
		base, from := current, "VERSION "+current.String()
		if latestV != nil && latestV.GreaterThan(current) {
			base, from = latestV, "tag "+latest.Name
		}
		next, err := Bump(base, explicit, preID)
		if err != nil {
			return Decision{}, fmt.Errorf("decide release: %w", err)
		}
		d.Release, d.Next, d.Level = true, next, explicit
		d.Reason = fmt.Sprintf("BUMP=%s from %s gives %s", explicit, from, next)

	case latestV == nil:
		d.Release, d.Next = true, current
		d.Reason = fmt.Sprintf("first release: VERSION %s has no tag yet, releasing it as is", current)

	case current.GreaterThan(latestV):
		d.Release, d.Next = true, current
		d.Reason = fmt.Sprintf("VERSION %s is above the latest tag %s and has no tag yet, releasing it as is", current, latest.Name)

	case current.LessThan(latestV):
		return Decision{}, fmt.Errorf("decide release: VERSION holds %s but tag %s already exists, so the version would go backwards; "+
			"a previous release probably tagged without committing VERSION: write %s to VERSION and commit it, "+
			"or delete the tag with `git tag -d %s` if it was a mistake",
			current, latest.Name, latestV, latest.Name)

	default:
		level := LevelFor(commits, current)
		if level == None {
			d.Next = current
			d.Reason = noReleaseReason(latest.Name, commits)
			break
		}
		next, err := Bump(current, level, "")
		if err != nil {
			return Decision{}, fmt.Errorf("decide release: %w", err)
		}
		d.Release, d.Next, d.Level = true, next, level
		d.Reason = levelReason(level, commits, current, latest.Name)
	}
	d.Tag = prefix + d.Next.String()
	return d, nil
}

func noReleaseReason(tag string, commits []Commit) string {
	if len(commits) == 0 {
		return fmt.Sprintf("no releasable commits since %s: there are no commits since it; set BUMP=patch to release anyway", tag)
	}
	return fmt.Sprintf("no releasable commits since %s: %s, none is feat/fix/perf or breaking; set BUMP=patch to release anyway",
		tag, plural(len(commits), "commit"))
}

// levelReason names the commit that decided the level, so a surprising
// minor or major release can be traced to its cause.
func levelReason(level Level, commits []Commit, current *semver.Version, tag string) string {
	var why Commit
	for _, c := range commits {
		if LevelFor([]Commit{c}, current) == level {
			why = c
			break
		}
	}
	kind := why.Type
	if why.Breaking {
		kind = "breaking change"
	}
	s := fmt.Sprintf("%s release: %s since %s, the strongest is a %s (%s %s)",
		level, plural(len(commits), "commit"), tag, kind, why.ShortHash(), why.Subject)
	if why.Breaking && level == Minor {
		s += "; below 1.0.0 a breaking change is a minor release, set BUMP=major to reach 1.0.0"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Option configures Plan.
type Option func(*options)

type options struct {
	prefix      string
	versionFile string
	bump        Level
	preID       string
	paths       []string
}

// WithPrefix sets the tag prefix, such as "svc/v" for one service of a
// monorepo, or "" for plain tags such as 3.2.1 (DiscoverPrefix tells which
// a repository uses). Default: DefaultPrefix ("v").
func WithPrefix(prefix string) Option {
	return func(o *options) { o.prefix = prefix }
}

// WithVersionFile sets the VERSION file to read; a relative path is taken
// from the repository directory. Default: "VERSION" in that directory.
func WithVersionFile(path string) Option {
	return func(o *options) { o.versionFile = path }
}

// WithBump forces the release level instead of deriving it from commits.
// Default: None, decide from the commits.
func WithBump(level Level) Option {
	return func(o *options) { o.bump = level }
}

// WithPreID sets the prerelease identifier for WithBump(Prerelease), e.g.
// "beta". Default: keep the current identifier, or DefaultPreID ("rc") when
// starting from a release.
func WithPreID(id string) Option {
	return func(o *options) { o.preID = id }
}

// WithPaths counts only commits that touch one of paths (relative to the
// repository directory), for a service in a monorepo. Default: every commit.
func WithPaths(paths ...string) Option {
	return func(o *options) { o.paths = append(o.paths, paths...) }
}

func makeOptions(dir string, opts ...Option) (options, error) {
	o := options{prefix: DefaultPrefix, versionFile: "VERSION"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.bump < None || o.bump > Prerelease {
		return o, fmt.Errorf("plan release: unknown bump level %s; use one of major, minor, patch, prerelease", o.bump)
	}
	if o.preID != "" && o.bump != Prerelease {
		return o, fmt.Errorf("plan release: prerelease identifier %q given without a prerelease bump; set BUMP=prerelease too, or drop the identifier", o.preID)
	}
	if o.preID != "" {
		if err := checkPreID(o.preID); err != nil {
			return o, fmt.Errorf("plan release: %w", err)
		}
	}
	if o.versionFile == "" {
		return o, fmt.Errorf("plan release: empty VERSION file path")
	}
	if !filepath.IsAbs(o.versionFile) {
		o.versionFile = filepath.Join(dir, o.versionFile)
	}
	for _, p := range o.paths {
		if strings.TrimSpace(p) == "" {
			return o, fmt.Errorf("plan release: empty path in WithPaths; use \".\" for the whole directory")
		}
	}
	return o, nil
}

// Plan reads VERSION, the release tags and the commits since the latest one
// in the repository at dir, and decides the release by the rules of the package doc. It writes
// nothing, so it is safe for a dry run.
func Plan(ctx context.Context, dir string, opts ...Option) (Decision, error) {
	o, err := makeOptions(dir, opts...)
	if err != nil {
		return Decision{}, err
	}
	current, err := ReadFile(o.versionFile)
	if err != nil {
		return Decision{}, fmt.Errorf("plan release: %w", err)
	}
	latest, err := LatestTag(ctx, dir, o.prefix)
	if err != nil {
		return Decision{}, fmt.Errorf("plan release: %w", err)
	}
	since := ""
	if latest != nil {
		since = latest.Name
	}
	commits, err := CommitsSinceIn(ctx, dir, since, o.paths...)
	if err != nil {
		return Decision{}, fmt.Errorf("plan release: %w", err)
	}
	d, err := decide(current, latest, commits, o.bump, o.preID, o.prefix)
	if err != nil {
		return Decision{}, err
	}
	if d.Release {
		// Tags that are not valid semver are invisible to LatestTag, and one
		// of them could still carry the exact name.
		exists, err := TagExists(ctx, dir, d.Tag)
		if err != nil {
			return Decision{}, fmt.Errorf("plan release: %w", err)
		}
		if exists {
			return Decision{}, fmt.Errorf("plan release: tag %s already exists; delete it with `git tag -d %s` or bump further (BUMP=patch)", d.Tag, d.Tag)
		}
	}
	return d, nil
}

// Snapshot names a build that is not a release: <next>-snapshot.<sha>, or
// <next>.snapshot.<sha> appended to an existing prerelease. From a release
// version the result sorts below next, so a snapshot never passes for the
// release; from a candidate it sorts just after it (1.2.0-rc.1 <
// 1.2.0-rc.1.snapshot.abc < 1.2.0-rc.2). shortSHA
// is cleaned to what semver allows; an all-digit hash gets a "g" prefix (as
// `git describe` does) because a numeric identifier may not start with 0 and
// would be compared as a number. Build metadata of next is kept.
func Snapshot(next *semver.Version, shortSHA string) *semver.Version {
	if next == nil {
		return nil
	}
	var b strings.Builder
	for _, r := range strings.ToLower(shortSHA) {
		if (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || r == '-' {
			b.WriteRune(r)
		}
	}
	sha := b.String()
	if sha != "" && strings.Trim(sha, "0123456789") == "" {
		sha = "g" + sha
	}
	ids := []string{"snapshot"}
	if sha != "" {
		ids = append(ids, sha)
	}
	if p := next.Prerelease(); p != "" {
		ids = append([]string{p}, ids...)
	}
	return semver.New(next.Major(), next.Minor(), next.Patch(), strings.Join(ids, "."), next.Metadata())
}
