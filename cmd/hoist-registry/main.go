package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/hoistdev/hoist/registry"
	"github.com/hoistdev/hoist/registry/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process globals, so tests can drive it in-process.
// It returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hoist-registry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", server.DefaultAddr, "listen `address` (loopback only)")
	data := fs.String("data", "", "data `dir` (default $HOIST_REGISTRY_DATA, $XDG_DATA_HOME/hoist/registry or ~/.local/share/hoist/registry)")
	verbose := fs.Bool("v", false, "log requests and registry events to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hoist-registry: unexpected arguments %q; it takes only flags\n", fs.Args())
		fs.Usage()
		return 2
	}
	if *data == "" {
		dir, err := registry.DefaultDataDir(getenv)
		if err != nil {
			fmt.Fprintf(stderr, "hoist-registry: %v\n", err)
			return 1
		}
		*data = dir
	}

	opts := []server.Option{server.WithAddr(*addr), server.WithDataDir(*data)}
	// distribution's upload purge reports through logrus' process-wide
	// logger, which only the process owner may redirect.
	logrus.SetOutput(io.Discard)
	if *verbose {
		logrus.SetOutput(stderr)
		opts = append(opts, server.WithLogger(slog.New(slog.NewTextHandler(stderr, nil))))
	}

	srv, err := server.New(ctx, opts...)
	if err != nil {
		if inUse, ok := errors.AsType[*server.InUseError](err); ok && inUse.Addr != "" {
			fmt.Fprintf(stdout, "hoist-registry already running on http://%s data=%s pid=%d\n", inUse.Addr, inUse.DataDir, inUse.PID)
		}
		fmt.Fprintf(stderr, "hoist-registry: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "hoist-registry listening on %s data=%s\n", srv.URL(), srv.DataDir())
	if err := srv.Serve(ctx); err != nil {
		fmt.Fprintf(stderr, "hoist-registry: %v\n", err)
		return 1
	}
	return 0
}
