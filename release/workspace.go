package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/version"
)

// Workspace is one project as hoist works on it: the resolved
// configuration, the environment the edge read, the discovered project, the
// artifact list kept in dist/artifacts.json, and where progress lines go.
// Each mage target opens one and calls one method; the release pipeline
// hands it to every stage. A Workspace serves one run at a time.
type Workspace struct {
	// Cfg is the resolved configuration; Dir is absolute.
	Cfg config.Config
	// Env is the environment, read once by the caller.
	Env config.Env
	// Proj is the discovered project.
	Proj *project.Project
	// Arts is the artifact list, loaded from dist/artifacts.json.
	Arts *artifact.List
	// Out receives progress lines.
	Out io.Writer
	// TTY lets progress bars redraw lines: Out is a terminal and this is
	// not a CI log.
	TTY bool
}

// Open resolves cfg (the defaults fill what it leaves out, then env's
// overrides apply), validates it, discovers the project in cfg.Dir and
// loads the artifact list. A contradiction in the settings is an error
// here, before any work starts.
func Open(cfg config.Config, env config.Env, out io.Writer) (*Workspace, error) {
	cfg = cfg.Merge(config.Defaults())
	cfg.ApplyEnv(env)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hoist configuration: %w", err)
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", cfg.Dir, err)
	}
	cfg.Dir = abs
	proj, err := project.Discover(cfg.Dir, cfg.Mains...)
	if err != nil {
		return nil, err
	}
	if cfg.Name != "" {
		proj.Name = cfg.Name
	}
	arts, err := artifact.Load(cfg.Path(filepath.Join(cfg.Dist, "artifacts.json")))
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = io.Discard
	}
	w := &Workspace{Cfg: cfg, Env: env, Proj: proj, Arts: arts, Out: out}
	// A misspelt Image.Main would otherwise surface only after go:build.
	if !cfg.Image.Skip && cfg.Image.Main != "" {
		if _, err := w.imageMain(); err != nil {
			return nil, fmt.Errorf("hoist configuration: %w", err)
		}
	}
	return w, nil
}

// Dist returns a path under the output directory.
func (w *Workspace) Dist(elem ...string) string {
	return w.Cfg.Path(filepath.Join(append([]string{w.Cfg.Dist}, elem...)...))
}

// Rel returns path relative to the project root, slash-separated, for
// artifact records and messages.
func (w *Workspace) Rel(path string) string {
	rel, err := filepath.Rel(w.Cfg.Dir, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// SaveArtifacts writes the artifact list for later targets and processes.
func (w *Workspace) SaveArtifacts() error {
	return w.Arts.Save(w.Dist("artifacts.json"))
}

// Logf prints one progress line under a target's name.
func (w *Workspace) Logf(target, format string, args ...any) {
	fmt.Fprintf(w.Out, "%s: %s\n", target, fmt.Sprintf(format, args...))
}

// Writer returns a writer that prefixes every line with the target's name.
func (w *Workspace) Writer(target string) io.Writer {
	return prefixWriter{w: w.Out, prefix: target + ": "}
}

// Stamp is what a build carries: the version and the commit with its
// date. A release stamps the release commit it prepared; every other run
// stamps VERSION and HEAD.
type Stamp struct {
	// Version is the version built.
	Version *semver.Version
	// Rev is the commit and the build date.
	Rev project.Revision
}

// CurrentStamp is the stamp of a build outside a release: the version in
// VERSION and HEAD, dated with SOURCE_DATE_EPOCH when set, else with the
// commit time. Outside git the commit is "unknown" and the date the Unix
// epoch, never the clock.
func (w *Workspace) CurrentStamp(ctx context.Context) (Stamp, error) {
	v, err := version.ReadFile(w.Cfg.Path(w.Cfg.VersionFile))
	if err != nil {
		return Stamp{}, err
	}
	rev, err := w.headRevision(ctx)
	if err != nil {
		return Stamp{}, err
	}
	return Stamp{Version: v, Rev: rev}, nil
}

// headRevision is HEAD with the build date the environment asks for.
func (w *Workspace) headRevision(ctx context.Context) (project.Revision, error) {
	rev, err := project.GitRevision(ctx, w.Cfg.Dir)
	if err != nil {
		if !errors.Is(err, project.ErrNoCommit) {
			return rev, err
		}
		rev = project.Revision{Commit: "unknown", Short: "unknown", Time: time.Unix(0, 0).UTC()}
	}
	if !w.Env.SourceDate.IsZero() {
		rev.Time = w.Env.SourceDate
	}
	return rev, nil
}

// prefixWriter prefixes each line written through it.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	var sb strings.Builder
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" {
			sb.WriteString(p.prefix + l)
		}
	}
	if _, err := io.WriteString(p.w, sb.String()); err != nil {
		return 0, err
	}
	return len(b), nil
}
