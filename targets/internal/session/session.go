package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/version"
)

var (
	configureMu sync.Mutex
	configurers []func(*config.Config)
)

// Configure registers a change to the configuration; see targets.Configure.
func Configure(fn func(*config.Config)) {
	configureMu.Lock()
	defer configureMu.Unlock()
	configurers = append(configurers, fn)
}

// Session is the shared state of one mage run.
type Session struct {
	// Cfg is the resolved configuration, Dir made absolute.
	Cfg config.Config
	// Proj is the discovered project.
	Proj *project.Project
	// Arts is the artifact list, loaded from dist/artifacts.json.
	Arts *artifact.List
	// Out receives progress lines.
	Out io.Writer
	// Getenv is the one place the environment is read.
	Getenv func(string) string

	mu      sync.Mutex
	version *semver.Version   // set by the release's bump step
	run     *run              // the release or snapshot in progress
	rev     *project.Revision // the release commit, set by the version step
}

var (
	once sync.Once
	sess *Session
	err  error
)

// Load resolves the configuration once per process.
func Load() (*Session, error) {
	once.Do(func() {
		sess, err = New(os.Getenv, os.Stdout)
		if err == nil {
			if w := mageWarning(parentExe()); w != "" {
				sess.Logf("hoist", "%s", w)
			}
		}
	})
	return sess, err
}

// Use replaces the process's session, for tests that point the targets at
// a throwaway repository.
func Use(s *Session) {
	once.Do(func() {})
	sess, err = s, nil
}

// New resolves a session from the registered Configure functions and the
// environment seen through getenv.
func New(getenv func(string) string, out io.Writer) (*Session, error) {
	return NewAt("", getenv, out)
}

// NewAt is New for the module root dir, whatever the configuration says;
// release:verify uses it for its clean clones. An empty dir keeps the
// configured one.
func NewAt(dir string, getenv func(string) string, out io.Writer) (*Session, error) {
	cfg := config.Defaults()
	configureMu.Lock()
	for _, fn := range configurers {
		fn(&cfg)
	}
	configureMu.Unlock()
	if dir != "" {
		cfg.Dir = dir
	}
	cfg = cfg.Merge(config.Defaults())
	if err := cfg.ApplyEnv(getenv); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hoist configuration: %w", err)
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", cfg.Dir, err)
	}
	cfg.Dir = abs
	if err := checkServiceModule(abs); err != nil {
		return nil, err
	}
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
	s := &Session{Cfg: cfg, Proj: proj, Arts: arts, Out: out, Getenv: getenv}
	// A misspelt Image.Main would otherwise surface only after go:build.
	if !cfg.Image.Skip && cfg.Image.Main != "" {
		if _, err := s.imageMain(); err != nil {
			return nil, fmt.Errorf("hoist configuration: %w", err)
		}
	}
	return s, nil
}

// Dist returns a path under the output directory.
func (s *Session) Dist(elem ...string) string {
	return s.Cfg.Path(filepath.Join(append([]string{s.Cfg.Dist}, elem...)...))
}

// Rel returns path relative to the project root, slash-separated, for
// artifact records.
func (s *Session) Rel(path string) string {
	rel, err := filepath.Rel(s.Cfg.Dir, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// SaveArtifacts writes the artifact list for later targets and processes.
func (s *Session) SaveArtifacts() error {
	return s.Arts.Save(s.Dist("artifacts.json"))
}

// Logf prints one progress line under a target's name.
func (s *Session) Logf(target, format string, args ...any) {
	fmt.Fprintf(s.Out, "%s: %s\n", target, fmt.Sprintf(format, args...))
}

// Writer returns a writer that prefixes every line with the target's name.
func (s *Session) Writer(target string) io.Writer {
	return prefixWriter{w: s.Out, prefix: target + ": "}
}

// SetVersion overrides the version read from VERSION for the rest of the
// run, as a release does after deciding the next version.
func (s *Session) SetVersion(v *semver.Version) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
}

// Version returns the version this run builds: the one set by SetVersion,
// else VERSION's value.
func (s *Session) Version() (*semver.Version, error) {
	s.mu.Lock()
	v := s.version
	s.mu.Unlock()
	if v != nil {
		return v, nil
	}
	return version.ReadFile(s.Cfg.Path(s.Cfg.VersionFile))
}

// SetRevision makes the rest of the run stamp rev instead of HEAD, as a
// release does with the release commit it has prepared but not yet put on
// the branch.
func (s *Session) SetRevision(rev project.Revision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rev = &rev
}

// Revision returns the commit and the build date: SOURCE_DATE_EPOCH when
// set, else the commit time. Outside git, the commit is "unknown" and the
// date the Unix epoch, never the wall clock.
func (s *Session) Revision(ctx context.Context) (project.Revision, error) {
	s.mu.Lock()
	set := s.rev
	s.mu.Unlock()
	var rev project.Revision
	var err error
	if set != nil {
		rev = *set
	} else {
		rev, err = project.GitRevision(ctx, s.Cfg.Dir)
	}
	if err != nil {
		if !errors.Is(err, project.ErrNoCommit) {
			return rev, err
		}
		rev = project.Revision{Commit: "unknown", Short: "unknown", Time: time.Unix(0, 0).UTC()}
	}
	if v := s.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		t, err := project.ParseSourceDateEpoch(v)
		if err != nil {
			return rev, err
		}
		rev.Time = t
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
