//go:build !unix

package e2e

// flushDisk has nothing to do where sync(2) is not offered.
func flushDisk() {}
