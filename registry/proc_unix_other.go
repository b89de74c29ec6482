//go:build unix && !linux

package registry

import "syscall"

// setDeathSignal does nothing where the kernel has no parent-death signal;
// the child then outlives a parent killed outright.
func setDeathSignal(*syscall.SysProcAttr) {}
