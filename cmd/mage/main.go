// Command mage is the mage CLI (github.com/magefile/mage) as hoist runs
// it: `go tool mage` in a module that lists this command as a tool.
//
// It is mage's own main, mage.Main, plus what a release needs from the
// process that starts it: SIGTERM is passed on to the magefile binary mage
// runs, and mage waits for it. mage's CLI catches only SIGINT, so on
// SIGTERM, which CI runners and supervisors send, it dies at once: the go
// command then reports exit status 0 (it drops a child's signal), and the
// magefile binary, orphaned, goes on releasing. With this command the
// release target sees the signal, rolls back, and exits 143, and that
// status reaches the caller through mage and `go tool`.
//
// A SIGINT sent to this process alone (kill -INT, not Ctrl-C, which the
// terminal sends to the whole process group) is passed on as SIGTERM too:
// the magefile's generated main would take a second SIGINT as "exit now",
// cutting a rollback short. The exit status still names the signal this
// process received first: 130 for SIGINT, 143 for SIGTERM.
//
// mage's -h knows target names only; here -h also takes an alias the
// magefile declares (`go tool mage -h test` shows go:test's help).
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/magefile/mage/mage"

	"github.com/hoistdev/hoist/internal/launch"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	var first atomic.Value
	go func() {
		for s := range sigs {
			first.CompareAndSwap(nil, s)
			forward(syscall.SIGTERM)
		}
	}()
	os.Args = append(os.Args[:1], helpAlias(os.Args[1:])...)
	stop := make(chan struct{})
	go announceCompile(os.Stderr, stop, 2*time.Second, children)
	code := mage.Main()
	close(stop)
	os.Exit(exitCode(code, first.Load()))
}

// announceCompile says, once, that mage is compiling the magefile when a
// go command it started is still running after wait: mage compiles
// silently, and on a new clone that takes tens of seconds before the first
// line of output. It stops watching once the compiled magefile runs (a
// child that is not the go command) or stop closes.
func announceCompile(w io.Writer, stop <-chan struct{}, wait time.Duration, kids func() map[int]string) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-stop:
		return
	case <-timer.C:
	}
	tick := time.NewTicker(wait / 4)
	defer tick.Stop()
	for {
		compiling, running := false, false
		for _, name := range kids() {
			if name == "go" {
				compiling = true
			} else {
				running = true
			}
		}
		switch {
		case running:
			return
		case compiling:
			fmt.Fprintln(w, "mage: compiling the magefile with its imports (after it, hoist or Go changed; the next runs start at once)...")
			return
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// valueFlags are mage's flags that take a value.
var valueFlags = map[string]bool{"d": true, "w": true, "t": true, "gocmd": true, "goos": true, "goarch": true, "ldflags": true, "compile": true, "install": true}

// helpAlias replaces an alias that follows -h with the target it names.
// Other command lines come back as they are.
func helpAlias(args []string) []string {
	help, dir, at := false, ".", -1
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			at = i
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case name == "h":
			help = true
		case valueFlags[name] && !hasValue && i+1 < len(args):
			i++
			if name == "d" {
				dir = args[i]
			}
		case name == "d" && hasValue:
			_, dir, _ = strings.Cut(a, "=")
		}
	}
	if !help || at < 0 {
		return args
	}
	p, err := launch.Find(dir)
	if err != nil {
		return args
	}
	aliases, err := launch.Aliases(p.Files)
	if target, ok := aliases[strings.ToLower(args[at])]; err == nil && ok {
		out := append([]string(nil), args...)
		out[at] = target
		return out
	}
	return args
}

// exitCode is the status to exit with: mage's, except that a run the
// interruption stopped (status 130 or 143, or 1 when mage gave up waiting)
// reports the signal that reached this process first.
func exitCode(code int, sig any) int {
	if code == 0 || sig == nil {
		return code
	}
	if sig == os.Interrupt {
		return 130
	}
	return 143
}
