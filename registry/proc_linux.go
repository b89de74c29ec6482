//go:build linux

package registry

import "syscall"

// setDeathSignal asks the kernel to send the child SIGTERM when the parent
// dies without stopping it: mage exits at once on SIGTERM, and the child
// sits in a process group of its own, so nothing else would reach it. go
// tool relays the signal to the registry, which shuts down cleanly.
func setDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGTERM }
