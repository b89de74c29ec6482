// Package proc holds what hoist does to the child processes it starts.
package proc

import (
	"os"
	"os/exec"
	"strings"
	"time"
)

// OwnGroup starts cmd in a process group of its own, so that a Ctrl-C in
// the terminal, which the terminal sends to the whole foreground group,
// reaches hoist but not the child. hoist then decides: a git command that
// updates a ref is left to finish (killed half-way it leaves a lock file
// that blocks the rollback), and anything else is stopped through its
// context. A no-op where process groups do not exist.
func OwnGroup(cmd *exec.Cmd) { ownGroup(cmd) }

// Contain prepares cmd, not yet started, for a child that starts children
// of its own, as the go command starts the compiler, the linker and test
// binaries: it runs in a process group of its own, the end of the
// command's context signals the whole group (SIGTERM, then SIGKILL after
// a grace period), and the go command's temporary directory (GOTMPDIR) is
// a private one. Call the returned function once the command has been
// waited for: it kills whatever of the group is left and removes that
// directory, which the go command leaves behind when a signal ends it.
// cmd must come from exec.CommandContext. A
// GOTMPDIR the caller set is kept and left alone.
func Contain(cmd *exec.Cmd) (cleanup func()) {
	ownGroup(cmd)
	cmd.Cancel = func() error { return signalGroup(cmd, false) }
	cmd.WaitDelay = containGrace
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOTMPDIR=") && kv != "GOTMPDIR=" {
			return func() { _ = signalGroup(cmd, true) }
		}
	}
	tmp, err := os.MkdirTemp("", "hoist-go-")
	if err != nil {
		return func() { _ = signalGroup(cmd, true) }
	}
	cmd.Env = append(env, "GOTMPDIR="+tmp)
	return func() {
		_ = signalGroup(cmd, true)
		_ = os.RemoveAll(tmp)
	}
}

// containGrace is how long a contained command has between SIGTERM and
// SIGKILL once its context ends.
const containGrace = 3 * time.Second
