package release

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// VerifyOptions configures Verify. Dir and Build are required.
type VerifyOptions struct {
	// Dir is the module root to verify; its HEAD commit is built, not the
	// working tree.
	Dir string
	// Build builds the release artifacts in the clean checkout dir (the
	// module root inside a fresh clone) and returns each artifact's path,
	// relative to dir, mapped to its digest. The caller must give both
	// builds the same SOURCE_DATE_EPOCH, the commit time of HEAD, and the
	// same configuration; anything else would be measured as a difference.
	Build func(ctx context.Context, dir string) (map[string]string, error)
	// TempDir is where the two clones are made. Default: os.TempDir().
	TempDir string
	// Log receives a line per clone and build. Default: silent.
	Log io.Writer
}

// VerifyReport is the outcome of building one commit twice.
type VerifyReport struct {
	// Commit is the commit both builds came from.
	Commit string `json:"commit"`
	// Entries lists every artifact either build produced, sorted by path.
	Entries []VerifyEntry `json:"entries"`
}

// VerifyEntry compares one artifact across the two builds.
type VerifyEntry struct {
	// Path is the artifact's path relative to the module root.
	Path string `json:"path"`
	// First is the digest from the first build; empty when that build did
	// not produce the artifact.
	First string `json:"first"`
	// Second is the digest from the second build, likewise.
	Second string `json:"second"`
	// Identical is true when both builds produced the same digest.
	Identical bool `json:"identical"`
}

// Differences returns the entries that are not identical.
func (r *VerifyReport) Differences() []VerifyEntry {
	var out []VerifyEntry
	for _, e := range r.Entries {
		if !e.Identical {
			out = append(out, e)
		}
	}
	return out
}

// WriteText prints one line per artifact, "same" or "DIFF" with both
// digests, for CI logs.
func (r *VerifyReport) WriteText(w io.Writer) error {
	for _, e := range r.Entries {
		var err error
		if e.Identical {
			_, err = fmt.Fprintf(w, "same  %s  %s\n", e.Path, e.First)
		} else {
			_, err = fmt.Fprintf(w, "DIFF  %s  %s  %s\n", e.Path, cmp.Or(e.First, "(missing)"), cmp.Or(e.Second, "(missing)"))
		}
		if err != nil {
			return fmt.Errorf("write verify report: %w", err)
		}
	}
	return nil
}

// Verify proves a build is reproducible: it clones the repository at HEAD
// twice into fresh temporary directories (no dist, no untracked files, a
// different path each time, which also catches paths leaking into binaries),
// runs Build in each, one after the other, and compares the digests.
// The report lists every artifact; any artifact that differs or that only
// one build produced makes the error name it. The clones are removed
// whatever happens.
func Verify(ctx context.Context, o VerifyOptions) (*VerifyReport, error) {
	if o.Dir == "" || o.Build == nil {
		return nil, errors.New("verify: both the module directory and the build function are required")
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	top, err := git(ctx, o.Dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("verify %s: it must be inside a git repository: %w", o.Dir, err)
	}
	prefix, err := git(ctx, o.Dir, "rev-parse", "--show-prefix")
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", o.Dir, err)
	}
	commit, err := git(ctx, o.Dir, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return nil, fmt.Errorf("verify %s: the repository needs a commit to build: %w", o.Dir, err)
	}
	tmp, err := os.MkdirTemp(o.TempDir, "hoist-verify-")
	if err != nil {
		return nil, fmt.Errorf("verify: make a temporary directory: %w", err)
	}
	defer removeAll(tmp)

	var results [2]map[string]string
	for i, name := range []string{"a", "b"} {
		clone := filepath.Join(tmp, name)
		fmt.Fprintf(log, "verify: cloning %s at %s into %s\n", top, short(commit), clone)
		if _, err := git(ctx, tmp, "clone", "--quiet", "--no-local", "--no-hardlinks", "--no-checkout", "--", top, clone); err != nil {
			return nil, fmt.Errorf("verify: clone %s: %w", top, err)
		}
		if _, err := git(ctx, clone, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit); err != nil {
			return nil, fmt.Errorf("verify: check out %s in %s: %w", short(commit), clone, err)
		}
		dir := filepath.Join(clone, filepath.FromSlash(prefix))
		fmt.Fprintf(log, "verify: build %d of 2 in %s\n", i+1, dir)
		res, err := o.Build(ctx, dir)
		if err != nil {
			return nil, fmt.Errorf("verify: build %d of 2 in %s: %w", i+1, dir, err)
		}
		results[i] = res
	}
	rep := compareBuilds(commit, results[0], results[1])
	if len(rep.Entries) == 0 {
		return rep, errors.New("verify: the builds reported no artifacts, so nothing was compared; the build function must return every artifact path with its digest")
	}
	if diffs := rep.Differences(); len(diffs) > 0 {
		var b strings.Builder
		for i, e := range diffs {
			if i > 0 {
				b.WriteString("; ")
			}
			switch {
			case e.First == "":
				fmt.Fprintf(&b, "%s only in the second build", e.Path)
			case e.Second == "":
				fmt.Fprintf(&b, "%s only in the first build", e.Path)
			default:
				fmt.Fprintf(&b, "%s (%s vs %s)", e.Path, e.First, e.Second)
			}
		}
		return rep, fmt.Errorf("verify %s: %d of %d artifacts differ between two clean builds: %s; look for inputs that vary between runs (clock, paths without -trimpath, map order, SOURCE_DATE_EPOCH)",
			short(commit), len(diffs), len(rep.Entries), b.String())
	}
	return rep, nil
}

// compareBuilds pairs up the two builds' digests by path.
func compareBuilds(commit string, a, b map[string]string) *VerifyReport {
	rep := &VerifyReport{Commit: commit}
	for p, d := range a {
		e, ok := b[p]
		rep.Entries = append(rep.Entries, VerifyEntry{Path: p, First: d, Second: e, Identical: ok && d != "" && d == e})
	}
	for p, d := range b {
		if _, ok := a[p]; !ok {
			rep.Entries = append(rep.Entries, VerifyEntry{Path: p, Second: d})
		}
	}
	slices.SortFunc(rep.Entries, func(x, y VerifyEntry) int { return cmp.Compare(x.Path, y.Path) })
	return rep
}

// removeAll deletes dir even when a build left read-only directories behind
// (the Go module cache does, when a build points GOMODCACHE inside it).
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}
