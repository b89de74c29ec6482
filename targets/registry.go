package targets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/registry"
	"github.com/hoistdev/hoist/release"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// Registry groups the embedded registry targets.
type Registry mg.Namespace

// Serve runs hoist's embedded registry in the foreground until interrupted.
//
// It is a real, persistent OCI registry (distribution with filesystem
// storage), run as `go tool hoist-registry` so that its dependencies stay
// out of the magefile binary. Images pushed by image:push or release with
// no registry configured are served from the same data directory, so
// `docker pull localhost:5000/<name>:<version>` works afterwards.
// With -v it logs every request. Env: HOIST_REGISTRY_ADDR (default
// localhost:5000), HOIST_REGISTRY_DATA (default $XDG_DATA_HOME/hoist/registry
// or ~/.local/share/hoist/registry), HOIST_REGISTRY_COMMAND.
func (Registry) Serve(ctx context.Context) error {
	s, err := session.Load()
	if err != nil {
		return err
	}
	addr := s.Cfg.Publish.EmbeddedAddr
	data, err := s.EmbeddedDataDir()
	if err != nil {
		return err
	}
	opts := []registry.Option{registry.WithAddr(addr), registry.WithDataDir(data), registry.WithDir(s.RegistryDir()),
		registry.WithWaitNote(func(n int) { s.Logf("registry:serve", "waiting for %d run(s) still pushing before stopping", n) }),
		registry.WithSlowStart(2*time.Second, func() { s.Logf("registry:serve", "%s", release.SlowRegistryNote) })}
	// The access log, a line per request, only with mage -v.
	if mg.Verbose() {
		opts = append(opts, registry.WithLogWriter(os.Stderr))
	}
	if len(s.Cfg.Publish.EmbeddedCommand) > 0 {
		opts = append(opts, registry.WithCommand(s.Cfg.Publish.EmbeddedCommand...))
	} else if s.Env.CacheDir != "" {
		opts = append(opts, registry.WithToolRecord(release.RegistryToolRecords(s.Env.CacheDir)))
	}
	proc, err := registry.Start(ctx, opts...)
	var inUse *registry.InUseError
	if errors.As(err, &inUse) {
		return fmt.Errorf("the embedded registry is already serving %s at http://%s (pid %d): use it, or stop it first", inUse.DataDir, inUse.Host, inUse.PID)
	}
	if err != nil {
		return fmt.Errorf("%w%s", err, s.RegistryToolHint())
	}
	s.Logf("registry:serve", "serving http://%s from %s; interrupt to stop", proc.Host(), proc.DataDir())
	select {
	case <-ctx.Done():
	case <-proc.Done():
		return fmt.Errorf("the embedded registry exited unexpectedly: %w", errors.Join(proc.Stop(context.WithoutCancel(ctx)), errors.New("rerun with the log above; is the port free?")))
	}
	return proc.Stop(context.WithoutCancel(ctx))
}
