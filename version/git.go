package version

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/internal/proc"
)

// DefaultPrefix is the tag prefix used when none is given: tags look like
// v1.2.3, the form Go modules expect.
const DefaultPrefix = "v"

// maxDirty bounds the list of files CheckClean prints; the first few are
// enough to recognise what was forgotten.
const maxDirty = 10

// Tag is a release tag: a git tag whose name is the prefix followed by a
// semantic version.
type Tag struct {
	// Name is the full tag name, such as v1.2.3 or svc/v1.2.3.
	Name string `json:"name"`
	// Version is the name without its prefix, parsed.
	Version *semver.Version `json:"version"`
	// Commit is the commit the tag points at, through any annotated tag
	// objects.
	Commit string `json:"commit"`
}

// gitError carries what a failed git command printed, because git's own
// message ("not a git repository", "already exists") is usually the fix.
type gitError struct {
	args   []string
	code   int
	stderr string
	err    error
}

func (e *gitError) Error() string {
	msg := strings.TrimSpace(e.stderr)
	if msg == "" {
		return fmt.Sprintf("git %s: %v", strings.Join(e.args, " "), e.err)
	}
	return fmt.Sprintf("git %s: %v: %s", strings.Join(e.args, " "), e.err, msg)
}

func (e *gitError) Unwrap() error { return e.err }

// exitCode returns the exit status of a failed git command, or -1 when git
// did not run to completion.
func exitCode(err error) int {
	var ge *gitError
	if errors.As(err, &ge) {
		return ge.code
	}
	return -1
}

// git runs one git command in dir and returns its standard output. stdin may
// be nil.
func git(ctx context.Context, dir string, stdin io.Reader, args ...string) ([]byte, error) {
	full := append([]string{"-C", dir}, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	proc.OwnGroup(cmd) // a Ctrl-C must not kill git half-way through a ref update
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.Stdin = stdin
	if err := cmd.Run(); err != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		if errors.Is(err, exec.ErrNotFound) {
			err = fmt.Errorf("%w (install git and make sure it is on PATH)", err)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		}
		return stdout.Bytes(), &gitError{args: args, code: code, stderr: stderr.String(), err: err}
	}
	return stdout.Bytes(), nil
}

// Tags lists the release tags of the repository in dir whose names are
// prefix followed by a semantic version, highest version first. Tags that
// carry the prefix but no valid version (v1.2, vnext) are skipped rather than
// reported, since repositories often hold such tags for other reasons. An
// empty prefix means plain tags such as 1.2.3. Tags with equal precedence
// (1.2.3 and 1.2.3+build) are ordered by name so the result is
// deterministic.
func Tags(ctx context.Context, dir, prefix string) ([]Tag, error) {
	out, err := git(ctx, dir, nil, "for-each-ref",
		"--format=%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)",
		"refs/tags/")
	if err != nil {
		return nil, fmt.Errorf("list tags in %s: %w", dir, err)
	}
	var tags []Tag
	for line := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) != 5 {
			continue
		}
		name := strings.TrimPrefix(f[0], "refs/tags/")
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		v, err := semver.StrictNewVersion(rest)
		if err != nil {
			continue
		}
		commit, ok := "", false
		switch {
		case f[1] == "commit":
			commit, ok = f[2], true
		case f[3] == "commit":
			commit, ok = f[4], true
		case f[3] == "tag":
			// A tag of a tag: rare enough to afford one more git call.
			c, err := git(ctx, dir, nil, "rev-parse", "--verify", "-q", "refs/tags/"+name+"^{commit}")
			commit, ok = strings.TrimSpace(string(c)), err == nil
		}
		if !ok {
			continue // a tag of a tree or blob cannot be a release
		}
		tags = append(tags, Tag{Name: name, Version: v, Commit: commit})
	}
	slices.SortFunc(tags, func(a, b Tag) int {
		if c := b.Version.Compare(a.Version); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return tags, nil
}

// DiscoverPrefix finds the tag scheme a repository uses: the prefix ("v",
// or "" for plain tags such as 3.2.1) of its most recently created tag
// that is a semantic version with one of those two prefixes. A repository
// that switched schemes is read by the scheme it uses now. from names the
// tag that decided; with no such tag the prefix is DefaultPrefix and from
// is "".
func DiscoverPrefix(ctx context.Context, dir string) (prefix, from string, err error) {
	out, err := git(ctx, dir, nil, "for-each-ref", "--sort=-creatordate", "--format=%(refname:strip=2)", "refs/tags/")
	if err != nil {
		return "", "", fmt.Errorf("list tags in %s: %w", dir, err)
	}
	for name := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if _, err := semver.StrictNewVersion(name); err == nil {
			return "", name, nil
		}
		if rest, ok := strings.CutPrefix(name, DefaultPrefix); ok {
			if _, err := semver.StrictNewVersion(rest); err == nil {
				return DefaultPrefix, name, nil
			}
		}
	}
	return DefaultPrefix, "", nil
}

// LatestTag returns the release tag with the highest version, or nil when the
// repository has none yet. The highest version is taken across all branches,
// not only those reachable from HEAD, so a new release can never reuse a
// version already tagged elsewhere.
func LatestTag(ctx context.Context, dir, prefix string) (*Tag, error) {
	tags, err := Tags(ctx, dir, prefix)
	if err != nil || len(tags) == 0 {
		return nil, err
	}
	return &tags[0], nil
}

// CommitsSinceIn lists the commits since the tag tagName ("" for the whole
// history), newest first, merges left out, restricted to commits that
// touch at least one of paths (relative to dir): that is how a service in
// a monorepo with its own tag prefix counts only its own changes. No paths
// means no filter.
func CommitsSinceIn(ctx context.Context, dir, tagName string, paths ...string) ([]Commit, error) {
	rev := "HEAD"
	what := "all commits"
	if tagName != "" {
		rev = "refs/tags/" + tagName + "..HEAD"
		what = "commits since " + tagName
	}
	if _, err := git(ctx, dir, nil, "rev-parse", "--verify", "-q", "HEAD^{commit}"); err != nil {
		return nil, fmt.Errorf("list %s in %s: the repository has no commits yet; commit your work first: %w", what, dir, err)
	}
	args := []string{"log", "-z", "--no-merges", "--date-order", "--no-show-signature", "--no-color", "--format=%H%n%B", rev, "--"}
	args = append(args, paths...)
	out, err := git(ctx, dir, nil, args...)
	if err != nil {
		if tagName != "" && exitCode(err) == 128 {
			return nil, fmt.Errorf("list %s in %s: is %q an existing tag? (git tag -l to list them): %w", what, dir, tagName, err)
		}
		return nil, fmt.Errorf("list %s in %s: %w", what, dir, err)
	}
	return parseLog(out), nil
}

// parseLog splits `git log -z --format=%H%n%B` output. -z ends each record
// with NUL, which cannot occur in a message, and the hash is alone on the
// first line, so any body survives intact.
func parseLog(out []byte) []Commit {
	var commits []Commit
	for rec := range strings.SplitSeq(string(out), "\x00") {
		rec = strings.TrimLeft(rec, "\n")
		if rec == "" {
			continue
		}
		hash, msg, _ := strings.Cut(rec, "\n")
		commits = append(commits, ParseCommit(hash, msg))
	}
	return commits
}

// TagExists reports whether the tag name exists, whatever it points at. A
// release checks it just before tagging, so a rerun does not fail late.
func TagExists(ctx context.Context, dir, name string) (bool, error) {
	ref := "refs/tags/" + name
	out, err := git(ctx, dir, nil, "for-each-ref", "--format=%(refname)", ref)
	if err != nil {
		return false, fmt.Errorf("look up tag %s in %s: %w", name, dir, err)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if line == ref {
			return true, nil
		}
	}
	return false, nil
}

// CommitTime returns the committer time of rev in UTC. Reproducible builds
// use it as SOURCE_DATE_EPOCH: it is fixed once the commit exists, unlike the
// time of the build.
func CommitTime(ctx context.Context, dir, rev string) (time.Time, error) {
	out, err := git(ctx, dir, nil, "log", "-1", "--no-walk", "--no-show-signature", "--format=%ct", "--end-of-options", rev, "--")
	if err != nil {
		return time.Time{}, fmt.Errorf("read commit time of %s in %s: %w", rev, dir, err)
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("read commit time of %s in %s: unexpected git output %q", rev, dir, out)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// CreateAnnotatedTag creates the annotated tag name on commit ("" means HEAD)
// with message. Annotated rather than lightweight because the tag records who
// released, when, and the changelog, and because `git describe` and
// `git push --follow-tags` only consider annotated tags.
func CreateAnnotatedTag(ctx context.Context, dir, name, message, commit string) error {
	if err := checkTagName(name); err != nil {
		return err
	}
	if commit == "" {
		commit = "HEAD"
	}
	if strings.TrimSpace(message) == "" {
		message = "Release " + name
	}
	if _, err := git(ctx, dir, strings.NewReader(message), "tag", "--annotate", "--cleanup=whitespace", "--file=-", "--end-of-options", name, commit); err != nil {
		if ok, _ := TagExists(ctx, dir, name); ok {
			return fmt.Errorf("create tag %s in %s: it already exists; delete it with `git tag -d %s` if it is stale, or release another version: %w", name, dir, name, err)
		}
		return fmt.Errorf("create tag %s on %s in %s: %w", name, commit, dir, err)
	}
	return nil
}

// DeleteTag removes the local tag name; a release uses it to roll back a tag
// whose push failed.
func DeleteTag(ctx context.Context, dir, name string) error {
	if err := checkTagName(name); err != nil {
		return err
	}
	if _, err := git(ctx, dir, nil, "tag", "--delete", "--end-of-options", name); err != nil {
		return fmt.Errorf("delete tag %s in %s: %w", name, dir, err)
	}
	return nil
}

func checkTagName(name string) error {
	if name == "" || strings.HasPrefix(name, "-") {
		return fmt.Errorf("tag name %q is not valid: a release tag looks like v1.2.3", name)
	}
	return nil
}

// CheckIdentity fails unless git knows who commits and tags, from the
// configuration or GIT_AUTHOR_*/GIT_COMMITTER_* variables. It refuses the
// user@host address git would otherwise guess, because that guess would end
// up in a published tag.
func CheckIdentity(ctx context.Context, dir string) error {
	_, errA := git(ctx, dir, nil, "-c", "user.useConfigOnly=true", "var", "GIT_AUTHOR_IDENT")
	_, errC := git(ctx, dir, nil, "-c", "user.useConfigOnly=true", "var", "GIT_COMMITTER_IDENT")
	if errA == nil && errC == nil {
		return nil
	}
	var fixes []string
	if out, _ := git(ctx, dir, nil, "config", "--get", "user.name"); strings.TrimSpace(string(out)) == "" {
		fixes = append(fixes, fmt.Sprintf("git -C %s config user.name \"Your Name\"", dir))
	}
	if out, _ := git(ctx, dir, nil, "config", "--get", "user.email"); strings.TrimSpace(string(out)) == "" {
		fixes = append(fixes, fmt.Sprintf("git -C %s config user.email you@example.com", dir))
	}
	err := cmp.Or(errA, errC)
	if len(fixes) == 0 {
		return fmt.Errorf("check git identity in %s: %w", dir, err)
	}
	// git's own advice suggests --global commands; only its verdict is kept
	// so the user sees one set of instructions.
	return fmt.Errorf("check git identity in %s: git does not know who releases (%s); run %s (or use --global instead of -C %s for all repositories)",
		dir, lastLine(err), strings.Join(fixes, " and "), dir)
}

// lastLine returns the final line git printed for a failed command, which is
// where it states the reason ("fatal: ...").
func lastLine(err error) string {
	var ge *gitError
	if errors.As(err, &ge) {
		lines := strings.Split(strings.TrimSpace(ge.stderr), "\n")
		if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
			return l
		}
	}
	return err.Error()
}

// CheckClean fails when the working tree has changes, so a release builds
// exactly what it tags. Untracked files count (they can end up in a build);
// ignored files do not. Paths under any of the ignore prefixes, given relative
// to dir ("dist/", "VERSION"), are not counted, for output the build itself
// writes. The error lists up to ten offending files.
func CheckClean(ctx context.Context, dir string, ignore ...string) error {
	prefixOut, err := git(ctx, dir, nil, "rev-parse", "--show-prefix")
	if err != nil {
		return fmt.Errorf("check working tree in %s: %w", dir, err)
	}
	// Status paths are relative to the repository root; ignores are relative
	// to dir, which may be a subdirectory in a monorepo.
	base := strings.TrimSpace(string(prefixOut))
	skip := make([]string, 0, len(ignore))
	for _, ig := range ignore {
		if strings.TrimSpace(ig) == "" {
			continue // an empty prefix would excuse the whole tree
		}
		p := path.Clean(base + strings.TrimPrefix(ig, "./"))
		skip = append(skip, strings.TrimSuffix(p, "/"))
	}
	out, err := git(ctx, dir, nil, "status", "--porcelain=v1", "-z")
	if err != nil {
		return fmt.Errorf("check working tree in %s: %w", dir, err)
	}
	var dirty []string
	fields := strings.Split(string(out), "\x00")
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if len(f) < 4 {
			continue
		}
		xy, p := f[:2], f[3:]
		if xy[0] == 'R' || xy[0] == 'C' {
			i++ // the next field is the source of the rename or copy
		}
		if ignored(p, skip) {
			continue
		}
		dirty = append(dirty, p)
	}
	if len(dirty) == 0 {
		return nil
	}
	list := dirty
	more := ""
	if len(list) > maxDirty {
		list = list[:maxDirty]
		more = fmt.Sprintf(" and %d more", len(dirty)-maxDirty)
	}
	return fmt.Errorf("working tree in %s has uncommitted changes: %s%s; commit or stash them, or add them to .gitignore, then release again",
		dir, strings.Join(list, ", "), more)
}

func ignored(p string, skip []string) bool {
	p = strings.TrimSuffix(p, "/")
	for _, s := range skip {
		if s == "." || p == s || strings.HasPrefix(p, s+"/") {
			return true
		}
	}
	return false
}

// CurrentBranch returns the short name of the checked-out branch, or
// detached=true (and no name) when HEAD is detached, as it is in most CI
// checkouts of a tag or a pull request.
func CurrentBranch(ctx context.Context, dir string) (name string, detached bool, err error) {
	out, err := git(ctx, dir, nil, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil {
		if exitCode(err) == 1 {
			return "", true, nil
		}
		return "", false, fmt.Errorf("read current branch in %s: %w", dir, err)
	}
	return strings.TrimSpace(string(out)), false, nil
}

// IsShallow reports whether dir is a shallow clone, as CI checkouts often
// are. Its tags and history are incomplete, so a release planned there could
// pick a version that is already taken; the release should refuse and ask for
// `git fetch --unshallow --tags`.
func IsShallow(ctx context.Context, dir string) (bool, error) {
	out, err := git(ctx, dir, nil, "rev-parse", "--is-shallow-repository")
	if err != nil {
		return false, fmt.Errorf("check for a shallow clone in %s: %w", dir, err)
	}
	return strings.TrimSpace(string(out)) == "true", nil
}

// RemoteURL returns the URL of the remote called name in dir, or "" when
// there is no such remote. The URL may hold credentials: callers that show
// or publish it must strip them.
func RemoteURL(ctx context.Context, dir, name string) (string, error) {
	out, err := git(ctx, dir, nil, "remote", "get-url", name)
	if err != nil {
		if exitCode(err) == 2 {
			return "", nil
		}
		return "", fmt.Errorf("read the URL of remote %s in %s: %w", name, dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}
