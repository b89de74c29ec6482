package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	// Registers the "filesystem" storage driver with distribution's factory.
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

// Server is a running registry bound to its listen address and holding its
// data dir. Create it with [New], run it with [Server.Serve], release it with
// [Server.Close].
type Server struct {
	opts    *options
	dataDir string
	ln      net.Listener
	lock    *dirLock
	app     *handlers.App
	srv     *http.Server

	serveOnce sync.Once
	closeOnce sync.Once
	closeErr  error
}

// New locks the data dir, binds the listen address and prepares the
// registry, without serving yet; binding first lets the caller learn the
// actual port (for "127.0.0.1:0") before announcing it. ctx bounds only the
// setup; the server's lifetime is governed by Serve and Close.
func New(ctx context.Context, opts ...Option) (*Server, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, fmt.Errorf("configure registry: %w", err)
	}
	dir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data dir %s: %w", o.dataDir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	lock, err := lockDataDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := newLocked(ctx, o, dir, lock)
	if err != nil {
		return nil, errors.Join(err, lock.release())
	}
	return s, nil
}

func newLocked(ctx context.Context, o *options, dir string, lock *dirLock) (*Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w; if the port is taken, choose another address (port 0 picks a free one)", o.addr, err)
	}
	if err := lock.publish(lockInfo{PID: os.Getpid(), Addr: ln.Addr().String()}); err != nil {
		ln.Close()
		return nil, err
	}
	cfg, err := distributionConfig(o, dir, ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, err
	}

	// The app outlives New's ctx; it is stopped by Close through app.Shutdown.
	logCtx := loggerContext{Context: context.WithoutCancel(ctx), entry: newLogrusEntry(o.logger)}
	app, err := newApp(logCtx, cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{
		Handler: app,
		// Requests inherit the server's logger the same way the app does.
		BaseContext: func(net.Listener) context.Context {
			return loggerContext{Context: context.Background(), entry: logCtx.entry}
		},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          newErrorLog(o.logger),
	}
	return &Server{opts: o, dataDir: dir, ln: ln, lock: lock, app: app, srv: srv}, nil
}

// distributionConfig builds the registry configuration in code instead of
// through configuration.Parse, which would also read REGISTRY_* variables
// from the environment.
func distributionConfig(o *options, dir, addr string) (*configuration.Configuration, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("generate upload secret: %w", err)
	}
	cfg := &configuration.Configuration{}
	cfg.Log.AccessLog.Disabled = true
	cfg.HTTP.Addr = addr
	// Signs upload state between requests; uploads do not survive a restart
	// anyway, so a fresh value per process is enough.
	cfg.HTTP.Secret = hex.EncodeToString(secret)
	cfg.Catalog.MaxEntries = 1000
	cfg.Tags.MaxTags = 1000
	cfg.Storage = configuration.Storage{
		"filesystem": configuration.Parameters{"rootdirectory": dir},
		"delete":     configuration.Parameters{"enabled": true},
		"cache":      configuration.Parameters{"blobdescriptor": "inmemory"},
		"maintenance": configuration.Parameters{
			"uploadpurging": map[any]any{"enabled": o.uploadPurge, "age": "168h", "interval": "24h", "dryrun": false},
		},
	}
	return cfg, nil
}

// newApp turns distribution's configuration panics into errors.
func newApp(ctx context.Context, cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("set up distribution registry: %v", r)
		}
	}()
	return handlers.NewApp(ctx, cfg), nil
}

// Addr is the bound host:port, with the real port when 0 was requested. It
// is usable as the registry part of an image reference.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the base URL clients talk to, e.g. "http://127.0.0.1:5000".
func (s *Server) URL() string { return "http://" + s.Addr() }

// DataDir is the absolute data directory the server holds.
func (s *Server) DataDir() string { return s.dataDir }

// Serve answers requests until ctx is cancelled, then drains in-flight
// requests for up to the shutdown timeout and releases the data dir. It
// returns nil after a clean shutdown, including one started by Close. It
// may be called once.
func (s *Server) Serve(ctx context.Context) error {
	err := errors.New("registry: Serve called twice")
	s.serveOnce.Do(func() { err = s.serve(ctx) })
	return err
}

func (s *Server) serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return errors.Join(fmt.Errorf("serve registry on %s: %w", s.Addr(), err), s.Close(context.WithoutCancel(ctx)))
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.shutdownTimeout)
		defer cancel()
		err := s.Close(sctx)
		<-errc
		return err
	}
}

// Close stops accepting connections, waits for in-flight requests until ctx
// is done (then cuts them), stops distribution's background work and
// releases the data dir lock. It is safe to call more than once and
// concurrently with Serve; later calls return the first result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Server) close(ctx context.Context) error {
	var errs []error
	if err := s.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("drain registry connections on %s: %w", s.Addr(), err))
		s.srv.Close()
	}
	// Shutdown only closes listeners that Serve registered.
	if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		errs = append(errs, fmt.Errorf("close listener: %w", err))
	}
	if err := s.app.Shutdown(); err != nil {
		errs = append(errs, fmt.Errorf("stop registry app: %w", err))
	}
	if err := s.lock.release(); err != nil {
		errs = append(errs, fmt.Errorf("release data dir lock: %w", err))
	}
	return errors.Join(errs...)
}
