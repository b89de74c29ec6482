//go:build hoisttest

package release

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

// killpoint, in a build with the hoisttest tag, lets the interruption tests
// stop a real release through the real CLI at an exact point:
//
//   - HOIST_TEST_KILL=<point> kills the process there with SIGKILL, which
//     nothing can catch;
//   - HOIST_TEST_PAUSE=<point> creates the file HOIST_TEST_PAUSE_FILE names
//     and waits there (a minute at most) for SIGINT or SIGTERM, so the test
//     can send one to the top of the process tree and know where it lands,
//     or for a file of that name plus ".continue", to go on undisturbed.
//
// Points are "before <stage>", "after <stage>" and "finish: ..." inside the
// tag stage. The environment is read here, in test builds only.
func killpoint(point string) {
	if point == os.Getenv("HOIST_TEST_KILL") {
		p, err := os.FindProcess(os.Getpid())
		if err == nil {
			_ = p.Kill()
		}
		select {}
	}
	if point == os.Getenv("HOIST_TEST_PAUSE") {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sigs)
		f := os.Getenv("HOIST_TEST_PAUSE_FILE")
		if f != "" {
			_ = os.WriteFile(f, []byte(point+"\n"), 0o644)
		}
		deadline := time.After(time.Minute)
		for {
			select {
			case <-sigs:
				return
			case <-deadline:
				return
			case <-time.After(20 * time.Millisecond):
				if _, err := os.Stat(f + ".continue"); f != "" && err == nil {
					return
				}
			}
		}
	}
}
