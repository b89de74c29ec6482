// Package proc holds what hoist does to the child processes it starts.
package proc

import "os/exec"

// OwnGroup starts cmd in a process group of its own, so that a Ctrl-C in
// the terminal, which the terminal sends to the whole foreground group,
// reaches hoist but not the child. hoist then decides: a git command that
// updates a ref is left to finish (killed half-way it leaves a lock file
// that blocks the rollback), and anything else is stopped through its
// context. A no-op where process groups do not exist.
func OwnGroup(cmd *exec.Cmd) { ownGroup(cmd) }
