//go:build unix

package launch

import (
	"os"
	"syscall"
)

// inodeCTime returns the inode number and change time of a file, which a
// rewrite moves even when it restores the modification time.
func inodeCTime(fi os.FileInfo) (uint64, int64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return uint64(st.Ino), ctimeNanos(st)
}
