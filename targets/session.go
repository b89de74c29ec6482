package targets

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
)

var (
	configureMu sync.Mutex
	configurers []func(*config.Config)
)

// Configure registers a change to hoist's configuration, applied after the
// repository's conventions are discovered and before environment overrides.
// Call it from an init function or a package variable initialiser in a
// magefile:
//
//	func init() {
//		targets.Configure(func(c *config.Config) {
//			c.Platforms = []string{"linux/amd64", "linux/arm/v7"}
//		})
//	}
func Configure(fn func(*config.Config)) {
	configureMu.Lock()
	defer configureMu.Unlock()
	configurers = append(configurers, fn)
}

// session is the state shared by the targets of one mage run: the resolved
// configuration, the discovered project and the artifact list.
type session struct {
	cfg  config.Config
	proj *project.Project
	arts *artifact.List
	out  io.Writer
	// getenv is the one place the environment is read.
	getenv func(string) string
}

var (
	sessOnce sync.Once
	sess     *session
	sessErr  error
)

// load resolves the configuration once per process.
func load() (*session, error) {
	sessOnce.Do(func() { sess, sessErr = newSession(os.Getenv, os.Stdout) })
	return sess, sessErr
}

func newSession(getenv func(string) string, out io.Writer) (*session, error) {
	cfg := config.Defaults()
	configureMu.Lock()
	for _, fn := range configurers {
		fn(&cfg)
	}
	configureMu.Unlock()
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
	proj, err := project.Discover(cfg.Dir, cfg.Mains...)
	if err != nil {
		return nil, err
	}
	arts, err := artifact.Load(cfg.Path(filepath.Join(cfg.Dist, "artifacts.json")))
	if err != nil {
		return nil, err
	}
	return &session{cfg: cfg, proj: proj, arts: arts, out: out, getenv: getenv}, nil
}

// dist returns a path under the output directory.
func (s *session) dist(elem ...string) string {
	return s.cfg.Path(filepath.Join(append([]string{s.cfg.Dist}, elem...)...))
}

// saveArtifacts writes the artifact list for later targets and processes.
func (s *session) saveArtifacts() error {
	return s.arts.Save(s.dist("artifacts.json"))
}

// logf prints one progress line under a target's name.
func (s *session) logf(target, format string, args ...any) {
	fmt.Fprintf(s.out, "%s: %s\n", target, fmt.Sprintf(format, args...))
}

// readVersion reads and checks the VERSION file.
func (s *session) readVersion() (*semver.Version, error) {
	path := s.cfg.Path(s.cfg.VersionFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the release version: %w (create %s holding e.g. 0.1.0)", err, s.cfg.VersionFile)
	}
	text := strings.TrimSpace(string(data))
	v, err := semver.StrictNewVersion(text)
	if err != nil {
		return nil, fmt.Errorf("%s holds %q, which is not a semantic version: write one such as 0.1.0", s.cfg.VersionFile, text)
	}
	return v, nil
}

// revision returns the commit and the build date: SOURCE_DATE_EPOCH when
// set, else the commit time. Outside git, the commit is "unknown" and the
// date the Unix epoch, never the wall clock.
func (s *session) revision(ctx context.Context) (project.Revision, error) {
	rev, err := project.GitRevision(ctx, s.cfg.Dir)
	if err != nil {
		if !errors.Is(err, project.ErrNoCommit) {
			return rev, err
		}
		rev = project.Revision{Commit: "unknown", Short: "unknown", Time: time.Unix(0, 0).UTC()}
	}
	if v := s.getenv("SOURCE_DATE_EPOCH"); v != "" {
		t, err := project.ParseSourceDateEpoch(v)
		if err != nil {
			return rev, err
		}
		rev.Time = t
	}
	return rev, nil
}
