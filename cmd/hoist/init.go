package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hoistdev/hoist/internal/adopt"
	"github.com/hoistdev/hoist/internal/launch"
)

// initCmd is `hoist init`: it writes magefiles/ for the repository at dir.
func initCmd(ctx context.Context, dir string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hoist init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dry := fs.Bool("n", false, "print what would be written and write nothing")
	force := fs.Bool("force", false, "replace an existing magefiles/ directory")
	hoistVersion := fs.String("hoist", defaultHoistVersion(), "the hoist version the magefiles require")
	replace := fs.String("replace", "", "require hoist from this local checkout (a replace directive)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: hoist init [-n] [-force] [-hoist VERSION] [-replace DIR]\n\n"+
			"Writes magefiles/ (go.mod with hoist's tools, magefile.go), VERSION and a /dist/ line in\n"+
			".gitignore for the Go module in the working directory, carrying over what hoist can\n"+
			"express from .goreleaser.yaml and the Dockerfile.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// An interruption stops the go commands, and Write takes back what it
	// wrote.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hoist init: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	res, err := adopt.Plan(ctx, dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	res.Report(stdout)
	lines := strings.Count(res.Magefile, "\n")
	if *dry {
		fmt.Fprintf(stdout, "hoist init -n: would write magefiles/magefile.go (%d lines):\n\n%s\n", lines, res.Magefile)
		return 0
	}
	opts := adopt.Options{Hoist: *hoistVersion, Replace: *replace, Force: *force, Env: os.Environ()}
	if err := adopt.Write(ctx, res, opts); err != nil {
		fmt.Fprintln(stderr, "hoist init:", err)
		return 1
	}
	wrote := []string{fmt.Sprintf("magefiles/magefile.go (%d lines)", lines), "magefiles/go.mod", "magefiles/go.sum"}
	if res.WriteVersion {
		wrote = append(wrote, fmt.Sprintf("VERSION (%s: %s)", res.Version, res.VersionFrom))
	}
	if res.IgnoreDist {
		wrote = append(wrote, ".gitignore (/dist/)")
	}
	fmt.Fprintf(stdout, "wrote %s\n", strings.Join(wrote, ", "))
	fmt.Fprintln(stdout, "next: hoist release:plan shows what a release would do; commit magefiles/ and VERSION when it looks right")
	return 0
}

// defaultHoistVersion is this command's own version when it was installed
// from a release, so that the magefiles match the launcher, else latest.
func defaultHoistVersion() string {
	if v := launch.Version(); strings.HasPrefix(v, "v") {
		return v
	}
	return "latest"
}
