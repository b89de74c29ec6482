// Package cachecmd is the command line of hoist's GOCACHEPROG program,
// shared by cmd/hoist-cache and by magefile binaries, which serve the
// cache themselves when hoist names them in GOCACHEPROG.
package cachecmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hoistdev/hoist/gocache"
)

// RemoteFlag is a shared cache tier the command can use, chosen by a flag
// of its own.
type RemoteFlag struct {
	// Name is the flag, such as "remote"; Usage is its help text, where a
	// back-quoted word names the value, as in the flag package.
	Name, Usage string
	// Open prepares the tier the flag's value names. It runs before the
	// capabilities line is written, which the go command waits for, so it
	// should defer network traffic to the first call. The returned close
	// (possibly nil) runs after serving.
	Open func(ctx context.Context, value string) (r gocache.Remote, close func(), err error)
}

// Remotes are the shared tiers hoist offers; a run uses at most one.
var Remotes = []RemoteFlag{
	{Name: "remote", Usage: "share build results through the OCI registry `repository`, such as registry.example.com/team/gocache", Open: openRegistryRemote},
}

// Run is hoist-cache's main without the process globals: it parses args,
// serves the go command's cache requests on stdin and stdout until it
// closes the cache, and returns the exit status. offered are the remote
// tiers the flags can choose (Remotes, or more in tests).
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, offered []RemoteFlag) int {
	fs := flag.NewFlagSet("hoist-cache", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "keep the local cache in `directory` (required)")
	statsPath := fs.String("stats", "", "when done, write what this run did as JSON to `file`")
	statsDir := fs.String("stats-dir", "", "when done, write what this run did as JSON to a new file in `directory`, one per go command")
	strict := fs.Bool("strict", false, "fail the build when the remote cache fails, instead of building locally")
	jobs := fs.Int("jobs", 0, "handle up to `n` requests at once (default 16)")
	values := make([]*string, len(offered))
	for i, r := range offered {
		values[i] = fs.String(r.Name, "", r.Usage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "hoist-cache: "+format+"\n", args...)
		fs.Usage()
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected arguments %q; it takes only flags", fs.Args())
	}
	if *dir == "" {
		return usage("-dir is required: the directory for the local cache")
	}
	if *statsPath != "" && *statsDir != "" {
		return usage("-stats and -stats-dir both say where the stats go; use one")
	}

	opts := []gocache.Option{gocache.WithLog(stderr), gocache.WithStrict(*strict)}
	if *jobs != 0 {
		opts = append(opts, gocache.WithJobs(*jobs))
	}
	var chosen *RemoteFlag
	var value string
	for i := range offered {
		if *values[i] == "" {
			continue
		}
		if chosen != nil {
			return usage("-%s and -%s both name a remote; use one", chosen.Name, offered[i].Name)
		}
		chosen, value = &offered[i], *values[i]
	}
	if chosen != nil {
		r, closeRemote, err := chosen.Open(ctx, value)
		if err != nil {
			fmt.Fprintf(stderr, "hoist-cache: -%s: %v\n", chosen.Name, err)
			return 1
		}
		if closeRemote != nil {
			defer closeRemote()
		}
		opts = append(opts, gocache.WithRemote(r))
	}

	c, err := gocache.New(*dir, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "hoist-cache: %v\n", err)
		return 1
	}
	code := 0
	if err := c.Serve(ctx, stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "hoist-cache: %v\n", err)
		code = 1
	}
	if *statsDir != "" {
		*statsPath = filepath.Join(*statsDir, fmt.Sprintf("go-%d-%d.json", os.Getpid(), time.Now().UnixNano()))
	}
	if *statsPath != "" {
		if err := gocache.WriteStats(*statsPath, c.Stats()); err != nil {
			fmt.Fprintf(stderr, "hoist-cache: %v\n", err)
			code = 1
		}
	}
	return code
}
