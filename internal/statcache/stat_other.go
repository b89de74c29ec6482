//go:build !unix

package statcache

import "io/fs"

// statOf has only size and modification time where the system offers no
// change time or inode through os.Stat.
func statOf(fi fs.FileInfo) Stat {
	return Stat{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
}
