package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
)

// addFiles lists cfg.Files and cfg.Dirs into l. Sources are stat'ed now
// and read when the layer is written, so a missing or dangling source is
// reported here with its name.
func addFiles(l *layerFS, files []File, dirs []Dir) error {
	for _, f := range files {
		if err := addFile(l, f); err != nil {
			return err
		}
	}
	for _, d := range dirs {
		name, err := imagePath(d.Path, "Config.Dirs path")
		if err != nil {
			return err
		}
		mode := tarMode(d.Mode)
		if d.Mode == 0 {
			mode = 0o755
		}
		e := entry{name: name, typeflag: tar.TypeDir, mode: mode, uid: d.UID, gid: d.GID}
		// A Dir may restate a directory that Files created, typically to
		// hand a copied tree's root to the nonroot user.
		if prev, ok := l.entries[name]; ok && prev.typeflag == tar.TypeDir {
			*prev = e
			continue
		}
		if err := l.add(e, "Config.Dirs "+d.Path); err != nil {
			return err
		}
	}
	return nil
}

func addFile(l *layerFS, f File) error {
	dst, err := imagePath(f.Dst, "Config.Files destination")
	if err != nil {
		return err
	}
	if f.Src == "" {
		return fmt.Errorf("Config.Files entry for %s has no Src: name the local file or directory to copy", f.Dst)
	}
	fi, err := os.Stat(f.Src)
	if err != nil {
		return unreadable(f.Src, err)
	}
	origin := "Config.Files " + f.Src
	if !fi.IsDir() {
		return addRegular(l, f, f.Src, dst, fi, origin)
	}
	if err := l.add(entry{name: dst, typeflag: tar.TypeDir, mode: 0o755, uid: f.UID, gid: f.GID}, origin); err != nil {
		return err
	}
	// WalkDir visits entries in lexical order, but the layer sorts again
	// anyway; only the error order depends on the walk.
	var paths []string
	err = filepath.WalkDir(f.Src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return unreadable(p, err)
		}
		if p != f.Src {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, p := range paths {
		rel, err := filepath.Rel(f.Src, p)
		if err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
		name := path.Join(dst, filepath.ToSlash(rel))
		lfi, err := os.Lstat(p)
		if err != nil {
			return unreadable(p, err)
		}
		if lfi.IsDir() {
			if err := l.add(entry{name: name, typeflag: tar.TypeDir, mode: 0o755, uid: f.UID, gid: f.GID}, origin); err != nil {
				return err
			}
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return unreadable(p, err)
		}
		if fi.IsDir() {
			return fmt.Errorf("copy %s: it is a symlink to a directory, which hoist does not follow inside a tree (loops); add the target as its own Config.Files entry", p)
		}
		if err := addRegular(l, f, p, name, fi, origin); err != nil {
			return err
		}
	}
	return nil
}

func addRegular(l *layerFS, f File, src, name string, fi fs.FileInfo, origin string) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("copy %s: not a regular file (%s); only files and directories can be copied into the image", src, fi.Mode().Type())
	}
	// Open once now, so an unreadable file fails here with its name rather
	// than halfway through writing the layer.
	fh, err := os.Open(src)
	if err != nil {
		return unreadable(src, err)
	}
	fh.Close()
	mode := tarMode(f.Mode)
	if f.Mode == 0 {
		mode = 0o644
		if fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
	}
	e := entry{name: name, typeflag: tar.TypeReg, mode: mode, uid: f.UID, gid: f.GID, src: src, size: fi.Size()}
	return l.add(e, origin)
}

func unreadable(p string, err error) error {
	if fi, lstatErr := os.Lstat(p); lstatErr == nil && fi.Mode()&fs.ModeSymlink != 0 && errors.Is(err, fs.ErrNotExist) {
		target, _ := os.Readlink(p)
		return fmt.Errorf("extra file %s is a symlink to %s, which does not exist: fix the link or remove the file from Config.Files", p, target)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("extra file %s does not exist: fix Config.Files (paths are relative to the working directory) or create the file", p)
	}
	return fmt.Errorf("extra file %s cannot be read: %w; fix its permissions or remove it from Config.Files", p, err)
}
