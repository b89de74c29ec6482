//go:build linux || openbsd || dragonfly || solaris || illumos

package launch

import "syscall"

func ctimeNanos(st *syscall.Stat_t) int64 { return st.Ctim.Nano() }
