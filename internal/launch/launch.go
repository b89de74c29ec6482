package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Invocation is one command line of the hoist command, parsed.
type Invocation struct {
	// Force compiles the magefiles even when the cache holds them (-f).
	Force bool
	// Debug prints what the launcher decides (-debug).
	Debug bool
	// Clean empties the cache and exits (-clean).
	Clean bool
	// Version prints the launcher's version and exits (-version).
	Version bool
	// Usage prints the launcher's help and exits (-h with no target).
	Usage bool
	// Init runs the generator with the rest of the arguments (init).
	Init bool
	// Help asks for a target's help (-h TARGET); aliases resolve first.
	Help bool
	// Args is what the magefile binary gets: mage's flags it knows (-v,
	// -l, -h, -t) and the targets with their arguments.
	Args []string
}

// Parse reads the launcher's own flags from the front of args and keeps
// the rest for the magefile binary, in order.
func Parse(args []string) (Invocation, error) {
	var inv Invocation
	if len(args) > 0 && args[0] == "init" {
		inv.Init, inv.Args = true, args[1:]
		return inv, nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || a == "-" {
			inv.Args = append(inv.Args, args[i:]...)
			break
		}
		if a == "--" {
			inv.Args = append(inv.Args, args[i+1:]...)
			break
		}
		switch name {
		case "f", "force":
			inv.Force = true
		case "debug":
			inv.Debug = true
		case "clean":
			inv.Clean = true
		case "version":
			inv.Version = true
		case "init":
			inv.Init, inv.Args = true, args[i+1:]
			return inv, nil
		case "v", "l":
			inv.Args = append(inv.Args, a)
		case "h", "help":
			inv.Help = true
			inv.Args = append(inv.Args, "-h")
		case "t":
			inv.Args = append(inv.Args, a)
			if !hasValue {
				if i+1 >= len(args) {
					return inv, errors.New("flag -t needs a duration, e.g. -t 10m")
				}
				i++
				inv.Args = append(inv.Args, args[i])
			}
		default:
			return inv, fmt.Errorf("unknown flag %s; hoist takes -f, -debug, -clean and -version, and passes -v, -l, -h and -t to the targets (see hoist -h)", a)
		}
	}
	if inv.Help && len(targets(inv.Args)) == 0 {
		inv.Usage = true
	}
	return inv, nil
}

// targets is args without flags and their values.
func targets(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-t":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			out = append(out, a)
		}
	}
	return out
}

// resolveHelp replaces an alias after -h with its target, so that -h test
// shows go:test's help instead of "Unknown target".
func resolveHelp(args []string, aliases map[string]string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		switch a := out[i]; {
		case a == "-t":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			if t, ok := aliases[strings.ToLower(a)]; ok {
				out[i] = t
			}
			return out
		}
	}
	return out
}

// Usage is the launcher's help text.
const Usage = `hoist runs a repository's mage targets from anywhere inside it.

Usage:
  hoist [flags] [target [args]...]   run targets (none: list them, or run the default)
  hoist -l                           list the targets
  hoist -h target                    show a target's help and its environment
  hoist init [-n] [-force]           write magefiles/ for this repository

Flags:
  -v          verbose: show each step the targets take
  -t 10m      give up after this long
  -f          compile the magefiles even if they are cached
  -debug      say what the launcher decides and why
  -clean      remove every cached magefile binary
  -version    print hoist's version

The first run compiles the magefiles once into a cache (MAGEFILE_CACHE, or the
user cache directory); later runs start the cached binary at once. A change to
the magefiles, their go.mod or go.sum, a local package they import or the Go
toolchain compiles them again.
`

// Version is the launcher's module version, "(devel)" when built from a
// checkout.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// Main runs the hoist command with args (without the program name) in
// dir and returns its exit status. On Unix a successful start never
// returns: the magefile binary replaces the process.
func Main(ctx context.Context, dir string, args []string, env []string, stdout, stderr io.Writer, initCmd func(ctx context.Context, dir string, args []string, stdout, stderr io.Writer) int) int {
	inv, err := Parse(args)
	if err != nil {
		fmt.Fprintln(stderr, "hoist:", err)
		return 2
	}
	getenv := envLookup(env)
	switch {
	case inv.Version:
		fmt.Fprintf(stdout, "hoist %s (%s)\n", Version(), protocol)
		return 0
	case inv.Usage:
		fmt.Fprint(stdout, Usage)
		return 0
	case inv.Init:
		if initCmd == nil {
			fmt.Fprintln(stderr, "hoist: init is not available in this build")
			return 2
		}
		return initCmd(ctx, dir, inv.Args, stdout, stderr)
	}
	cache, err := DefaultCache(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "hoist:", err)
		return 1
	}
	if inv.Clean {
		if err := os.RemoveAll(cache.Dir); err != nil {
			fmt.Fprintf(stderr, "hoist: clean %s: %v\n", cache.Dir, err)
			return 1
		}
		fmt.Fprintf(stdout, "hoist: removed %s\n", cache.Dir)
		return 0
	}
	p, err := Find(dir)
	if err != nil {
		fmt.Fprintln(stderr, "hoist:", err)
		return 1
	}
	if inv.Debug {
		fmt.Fprintf(stderr, "hoist: root %s, magefiles %s, module %s, cache %s\n", p.Root, p.Dir, p.Module, cache.Dir)
	}
	bin, err := cache.Ensure(ctx, p, env, inv.Force, stderr)
	if err != nil {
		var in *Interrupted
		if errors.As(err, &in) {
			fmt.Fprintln(stderr, "hoist:", err)
			return in.ExitCode()
		}
		fmt.Fprintln(stderr, "hoist:", err)
		return 1
	}
	args = inv.Args
	if inv.Help {
		args = resolveHelp(args, bin.Aliases)
	}
	if inv.Debug {
		fmt.Fprintf(stderr, "hoist: running %s %s in %s\n", bin.Path, strings.Join(args, " "), p.Root)
	}
	return run(bin.Path, p.Root, args, env, stderr)
}
