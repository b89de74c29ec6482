package release

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hoistdev/hoist/version"
)

// PreflightOptions says what Preflight checks. Only Dir is required; every
// other field has a usable zero value.
type PreflightOptions struct {
	// Dir is the module root, inside a git work tree. Required.
	Dir string
	// Dist is the output directory, relative to Dir, that the clean-tree
	// check ignores because the build writes there. Default: "dist".
	Dist string
	// VersionFile is the VERSION file, relative to Dir or absolute.
	// Default: "VERSION".
	VersionFile string
	// Prefix is the tag prefix, such as "svc/v" in a monorepo. Default:
	// version.DefaultPrefix ("v").
	Prefix string
	// PlainTags makes an empty Prefix mean tags with no prefix at all, such
	// as 3.2.1. Default: false.
	PlainTags bool
	// Paths limits the commits that decide the bump to those touching these
	// paths (relative to Dir). Default: every commit.
	Paths []string
	// Bump forces the release level. Default: version.None, decide from the
	// Conventional Commits since the last tag.
	Bump version.Level
	// PreID is the prerelease identifier for a Prerelease bump. Default:
	// keep the current one, or "rc".
	PreID string
	// AllowDetached lets a release run on a detached HEAD, as CI checkouts
	// of a tag often are. Default: false, refuse.
	AllowDetached bool
	// Check runs more checks on the decision, such as whether the
	// platforms build and the image tags are valid; its error is one more
	// problem. Default: nil.
	Check func(ctx context.Context, d version.Decision) error
	// CheckRegistry is called last, and only when there is something to
	// release, so that an unreachable registry stops the release before
	// anything is built. Default: nil, no registry check.
	CheckRegistry func(ctx context.Context) error
}

// validate rejects what no check could make sense of and fills defaults.
func (o *PreflightOptions) validate() error {
	if o.Dir == "" {
		return errors.New("preflight: no directory given; pass the module root")
	}
	if o.Dist == "" {
		o.Dist = "dist"
	}
	if filepath.IsAbs(o.Dist) {
		rel, err := filepath.Rel(o.Dir, o.Dist)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("preflight: dist directory %s is outside %s; give a path inside the module", o.Dist, o.Dir)
		}
		o.Dist = rel
	}
	if filepath.Clean(o.Dist) == "." {
		return fmt.Errorf("preflight: dist directory %q is the module root, which would hide every change from the clean-tree check; use a subdirectory such as dist", o.Dist)
	}
	if o.VersionFile == "" {
		o.VersionFile = "VERSION"
	}
	return nil
}

// Preflight refuses a release that would go wrong later, before anything is
// written. In order it checks the git identity, that the tree is clean
// except for Dist, that HEAD is on a branch (unless AllowDetached), that the
// clone is not shallow, the version decision (a malformed VERSION, a version
// going backwards, a tag that already exists) and finally the registry.
// Every failed check is reported, joined into one error, each with its fix,
// so one run shows everything to repair.
//
// A decision with Release == false (no commit asks for a release) is not an
// error: the caller prints Decision.Reason and exits successfully. The
// registry is then not contacted, since nothing will be pushed.
func Preflight(ctx context.Context, o PreflightOptions) (version.Decision, error) {
	if err := o.validate(); err != nil {
		return version.Decision{}, err
	}
	var errs []error
	if err := version.CheckIdentity(ctx, o.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := version.CheckClean(ctx, o.Dir, filepath.ToSlash(o.Dist)+"/"); err != nil {
		errs = append(errs, err)
	}
	if _, detached, err := version.CurrentBranch(ctx, o.Dir); err != nil {
		errs = append(errs, err)
	} else if detached && !o.AllowDetached {
		errs = append(errs, fmt.Errorf("HEAD in %s is detached, so the release commit would belong to no branch; check out the branch to release (git switch <branch>), or allow it explicitly (HOIST_ALLOW_DETACHED=1)", o.Dir))
	}
	if shallow, err := version.IsShallow(ctx, o.Dir); err != nil {
		errs = append(errs, err)
	} else if shallow {
		errs = append(errs, fmt.Errorf("%s is a shallow clone: tags and history are missing, so the next version could be wrong or taken; run `git fetch --unshallow --tags` (in CI, fetch with full depth)", o.Dir))
	}
	opts := []version.Option{version.WithBump(o.Bump), version.WithVersionFile(o.VersionFile)}
	if o.Prefix != "" || o.PlainTags {
		opts = append(opts, version.WithPrefix(o.Prefix))
	}
	if o.PreID != "" {
		opts = append(opts, version.WithPreID(o.PreID))
	}
	if len(o.Paths) > 0 {
		opts = append(opts, version.WithPaths(o.Paths...))
	}
	d, err := version.Plan(ctx, o.Dir, opts...)
	if err != nil {
		errs = append(errs, err)
	}
	if o.Check != nil && err == nil && d.Release {
		if err := o.Check(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	if o.CheckRegistry != nil && (err != nil || d.Release) {
		if err := o.CheckRegistry(ctx); err != nil {
			errs = append(errs, fmt.Errorf("check registry before building: %w", err))
		}
	}
	if len(errs) > 0 {
		return d, &PreflightError{Problems: errs}
	}
	return d, nil
}

// PreflightError lists every problem Preflight found, so a user fixes them
// in one go instead of one rerun per problem.
type PreflightError struct {
	// Problems are the failed checks in the order they ran.
	Problems []error
}

// Error renders one problem per line under a heading with their count.
func (e *PreflightError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("release preflight failed: ")
		b.WriteString(e.Problems[0].Error())
		return b.String()
	}
	fmt.Fprintf(&b, "release preflight found %d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (e *PreflightError) Unwrap() []error { return e.Problems }
