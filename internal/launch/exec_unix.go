//go:build unix

package launch

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// run replaces this process with the magefile binary, started in root:
// signals then reach the targets directly and nothing stays in between.
func run(exe, root string, args, env []string, stderr io.Writer) int {
	if err := os.Chdir(root); err != nil {
		fmt.Fprintln(stderr, "hoist:", err)
		return 1
	}
	err := syscall.Exec(exe, append([]string{"hoist"}, args...), env)
	fmt.Fprintf(stderr, "hoist: run %s: %v; hoist -f compiles it again\n", exe, err)
	return 1
}
