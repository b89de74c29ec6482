//go:build unix

package statcache

import (
	"io/fs"
	"syscall"
)

func statOf(fi fs.FileInfo) Stat {
	st := Stat{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.Ctime = ctimeNs(sys)
		st.Ino, st.Dev = uint64(sys.Ino), uint64(sys.Dev)
	}
	return st
}
