//go:build !unix

package launch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
)

// run starts the magefile binary in root and returns its exit status. The
// terminal's Ctrl-C reaches the child directly; the launcher only waits.
func run(exe, root string, args, env []string, stderr io.Writer) int {
	cmd := exec.Command(exe, args...)
	cmd.Dir, cmd.Env = root, env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	signal.Ignore(os.Interrupt)
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(stderr, "hoist: run %s: %v; hoist -f compiles it again\n", exe, err)
		return 1
	}
	return 0
}
