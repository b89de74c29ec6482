//go:build unix

package e2e

import "syscall"

// flushDisk writes out what earlier steps left in the page cache, so that
// a measured step does not pay for their writeback: on CI, runners are
// separate machines.
func flushDisk() { syscall.Sync() }
