//go:build darwin || freebsd || netbsd || ios

package statcache

import "syscall"

func ctimeNs(st *syscall.Stat_t) int64 { return st.Ctimespec.Nano() }
