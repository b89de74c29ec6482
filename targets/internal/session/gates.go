package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/release"
)

// Gates makes the gate targets the release pipeline's gates. Each runs as a
// mage dependency, so a gate that already ran in this process is not run
// again. mage reports a failed dependency by panicking; the panic is turned
// back into an error here, at the edge, so the pipeline sees plain errors.
func Gates(tidy, vet, test, vuln any) release.Gates {
	return release.Gates{Tidy: dep(tidy), Vet: dep(vet), Test: dep(test), Vuln: dep(vuln)}
}

func dep(fn any) func(context.Context) error {
	return func(ctx context.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				if e, ok := p.(error); ok {
					err = e
					return
				}
				err = fmt.Errorf("%v", p)
			}
		}()
		mg.CtxDeps(ctx, fn)
		return nil
	}
}

// TidyCheck is the release's tidy gate: go mod tidy in check mode, always.
func TidyCheck(ctx context.Context) error {
	s, err := Load()
	if err != nil {
		return err
	}
	return gobuild.Tidy(ctx, s.Cfg.Dir, true, s.Out)
}

// Interruptible runs fn with a context that SIGINT and SIGTERM cancel.
// When a signal stopped fn, the error carries the signal's conventional
// exit status (130 for SIGINT, 143 for SIGTERM), which mage's main makes
// the process's exit code, so CI sees the interruption as a failure.
func Interruptible(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var got atomic.Value
	defer func() {
		// After an interruption the process is about to exit with its
		// status; a repeated signal must not kill it first.
		if got.Load() == nil {
			signal.Stop(sigs)
		}
	}()
	go func() {
		select {
		case s := <-sigs:
			got.Store(s)
			cancel(fmt.Errorf("interrupted by %s", signalName(s)))
		case <-ctx.Done():
		}
	}()
	err := fn(ctx)
	s, _ := got.Load().(os.Signal)
	if s == nil {
		// mage cancels its own context on SIGINT as well, and the watcher
		// above may have seen that first: the signal is still queued.
		select {
		case s = <-sigs:
			got.Store(s)
		default:
		}
	}
	if s == nil {
		return err
	}
	code := 130
	if s == syscall.SIGTERM {
		code = 143
	}
	if err == nil {
		err = errors.New("finished, but a signal arrived")
	}
	return mg.Fatal(code, fmt.Sprintf("interrupted by %s: %v", signalName(s), err))
}

// signalName names a signal the way users type it: SIGINT, SIGTERM.
func signalName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}
