package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// Set at link time with -ldflags "-X main.version=...". hoist discovers
// these by name, so renaming them silently drops version injection.
var (
	version = "dev"
	commit  = "none"
	date    = "unknown" // build time, RFC 3339
)

const (
	defaultAddr            = ":8080"
	defaultShutdownTimeout = 10 * time.Second
	// healthcheckTimeout stays well below typical container HEALTHCHECK
	// timeouts so the probe reports its own reason instead of being killed.
	healthcheckTimeout = 2 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore default handling so that a second
		// Ctrl-C kills a drain that is taking too long.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without process globals, so tests can drive every mode
// in-process. It returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addrFlag := fs.String("addr", "", `listen address as host:port (default $ADDR, else ":"+$PORT, else "`+defaultAddr+`")`)
	shutdownTimeout := fs.Duration("shutdown-timeout", defaultShutdownTimeout, "how long to wait for in-flight requests after SIGTERM")
	drainDelay := fs.Duration("drain-delay", 0, "how long to keep serving after SIGTERM with /readyz at 503, so a load balancer stops sending first (default $DRAIN_DELAY, else 0)")
	healthcheck := fs.Bool("healthcheck", false, "probe /healthz of the server at the listen address and exit 0 if healthy, 1 if not")
	showVersion := fs.Bool("version", false, "print version information and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "web: unexpected argument %q: web takes flags only, see web -h\n", fs.Arg(0))
		return 2
	}
	if v := getenv("DRAIN_DELAY"); v != "" && !flagSet(fs, "drain-delay") {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			fmt.Fprintf(stderr, "web: DRAIN_DELAY=%q: give a duration such as 5s\n", v)
			return 2
		}
		*drainDelay = d
	}
	if *drainDelay < 0 {
		fmt.Fprintf(stderr, "web: -drain-delay must not be negative, got %s\n", *drainDelay)
		return 2
	}
	if *shutdownTimeout <= 0 {
		fmt.Fprintf(stderr, "web: -shutdown-timeout must be positive, got %s\n", *shutdownTimeout)
		return 2
	}

	info := currentBuild()
	if *showVersion {
		fmt.Fprintln(stdout, info)
		return 0
	}

	addr := resolveAddr(*addrFlag, getenv)
	if *healthcheck {
		if err := probe(ctx, addr, healthcheckTimeout); err != nil {
			fmt.Fprintf(stderr, "web: healthcheck: %v\n", err)
			return 1
		}
		return 0
	}

	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		logger.Error("listen failed", "addr", addr, "err", err,
			"hint", "set -addr, ADDR or PORT to a free host:port or :port")
		return 1
	}
	logger.Info("started", "addr", ln.Addr().String(),
		"version", info.Version, "commit", info.Commit, "date", info.Date, "go", info.Go)

	var ready atomic.Bool
	if err := serve(ctx, ln, newHandler(info, &ready, logger), &ready, logger, *drainDelay, *shutdownTimeout); err != nil {
		logger.Error("stopped with error", "err", err)
		return 1
	}
	logger.Info("stopped")
	return 0
}

// resolveAddr picks the listen address: an explicit flag wins, then ADDR,
// then PORT (the convention of most PaaS platforms), then the default.
func resolveAddr(flagAddr string, getenv func(string) string) string {
	if flagAddr != "" {
		return flagAddr
	}
	if a := getenv("ADDR"); a != "" {
		return a
	}
	if p := getenv("PORT"); p != "" {
		return ":" + p
	}
	return defaultAddr
}

// healthURL turns a listen address into a URL a local probe can reach:
// a wildcard host accepts connections but cannot be dialled portably.
func healthURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("parse address %q: %w (use host:port or :port)", addr, err)
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

// probe reports whether the server at addr answers /healthz with 200.
func probe(ctx context.Context, addr string, timeout time.Duration) error {
	url, err := healthURL(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("build request for %s: %w", url, err)
	}
	// A dedicated transport: no proxy from the environment, no idle
	// connections kept for a process that is about to exit.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %s, want 200", url, resp.Status)
	}
	return nil
}

// buildInfo is what the binary knows about itself; /version serves it and
// -version prints it.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

func currentBuild() buildInfo {
	return buildInfo{
		Version: version,
		Commit:  commit,
		Date:    date,
		Go:      runtime.Version(),
		OS:      runtime.GOOS,
		Arch:    runtime.GOARCH,
	}
}

// String is the one-line form printed by -version.
func (b buildInfo) String() string {
	return fmt.Sprintf("web %s (commit %s, built %s, %s %s/%s)", b.Version, b.Commit, b.Date, b.Go, b.OS, b.Arch)
}

// flagSet reports whether the command line gave the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
