package dockerengine

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// contextEpoch is the modification time given to every entry of a build
// context. The classic builder keys its cache on content, not mtimes, and
// COPY keeps the times it is sent, so a fixed time makes the layers a
// Dockerfile copies the same on every machine and checkout.
var contextEpoch = time.Unix(0, 0).UTC()

// WriteBuildContext writes the build context rooted at dir to w as an
// uncompressed tar stream, and returns the names it wrote in order. It
// applies dir/.dockerignore the way Docker does, except that the ignore
// file and the Dockerfile (a path relative to dir; "" means "Dockerfile")
// are always sent, because the builder needs both.
//
// The stream is deterministic: entries come in lexical walk order with
// uid/gid 0, no user names and a fixed mtime, so the same tree always
// gives the same bytes. Sockets, pipes and devices are left out.
func WriteBuildContext(ctx context.Context, w io.Writer, dir, dockerfile string) ([]string, error) {
	root, dockerfile, err := checkContext(dir, dockerfile)
	if err != nil {
		return nil, err
	}
	pm, err := readIgnore(root)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{".dockerignore": true, dockerfile: true}

	tw := tar.NewWriter(w)
	var names []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if !keep[rel] {
			skip, err := pm.MatchesOrParentMatches(rel)
			if err != nil {
				return fmt.Errorf("match %s against .dockerignore: %w", rel, err)
			}
			if skip {
				if d.IsDir() && !mayHoldKept(rel, pm, keep) {
					return filepath.SkipDir
				}
				return nil
			}
		}
		name, err := addEntry(tw, path, rel, d)
		if err != nil {
			return fmt.Errorf("add %s to the build context: %w", rel, err)
		}
		if name != "" {
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		return names, fmt.Errorf("build context %s: %w", root, err)
	}
	if err := tw.Close(); err != nil {
		return names, fmt.Errorf("build context %s: %w", root, err)
	}
	return names, nil
}

// checkContext validates the context directory and the Dockerfile path
// and returns the absolute root and the slash-separated Dockerfile path.
func checkContext(dir, dockerfile string) (string, string, error) {
	if dir == "" {
		return "", "", errors.New("build context: no context directory given: set BuildOptions.ContextDir (usually the repository root)")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return "", "", fmt.Errorf("build context %s: %w", dir, err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", "", fmt.Errorf("build context: %w", err)
	}
	if !fi.IsDir() {
		return "", "", fmt.Errorf("build context %s is not a directory: pass the directory that holds the Dockerfile", root)
	}
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	if !filepath.IsLocal(dockerfile) {
		return "", "", fmt.Errorf("build context %s: Dockerfile %q must be a path inside the context directory", root, dockerfile)
	}
	dockerfile = filepath.Clean(dockerfile)
	fi, err = os.Stat(filepath.Join(root, dockerfile))
	if err != nil || !fi.Mode().IsRegular() {
		return "", "", fmt.Errorf("build context %s: no Dockerfile at %s: create it or set BuildOptions.Dockerfile", root, dockerfile)
	}
	return root, filepath.ToSlash(dockerfile), nil
}

// readIgnore loads root/.dockerignore; a missing file means "send all".
func readIgnore(root string) (*patternmatcher.PatternMatcher, error) {
	var patterns []string
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	switch {
	case err == nil:
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", filepath.Join(root, ".dockerignore"), err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read .dockerignore: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w — fix the pattern", filepath.Join(root, ".dockerignore"), err)
	}
	return pm, nil
}

// mayHoldKept reports whether an ignored directory must still be walked
// because something inside it is sent anyway: the Dockerfile, or a file
// re-included by a "!pattern". A pattern that starts with a wildcard could
// match anywhere, so it always forces the walk.
func mayHoldKept(dir string, pm *patternmatcher.PatternMatcher, keep map[string]bool) bool {
	prefix := dir + "/"
	for k := range keep {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	if !pm.Exclusions() {
		return false
	}
	for _, p := range pm.Patterns() {
		if !p.Exclusion() {
			continue
		}
		lit := filepath.ToSlash(p.String())
		if i := strings.IndexAny(lit, `*?[\`); i >= 0 {
			lit = lit[:i]
		}
		if strings.HasPrefix(lit, prefix) || strings.HasPrefix(prefix, lit) {
			return true
		}
	}
	return false
}

// addEntry writes one normalised tar entry and returns its name, or ""
// when the file type is not something a build context can carry.
func addEntry(tw *tar.Writer, path, rel string, d fs.DirEntry) (string, error) {
	fi, err := d.Info()
	if err != nil {
		return "", err
	}
	var link string
	switch {
	case fi.Mode().IsRegular(), fi.IsDir():
	case fi.Mode()&fs.ModeSymlink != 0:
		if link, err = os.Readlink(path); err != nil {
			return "", err
		}
	default:
		return "", nil
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return "", err
	}
	hdr.Name = rel
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = contextEpoch, time.Time{}, time.Time{}
	hdr.Mode &= 0o7777
	hdr.PAXRecords = nil
	if err := tw.WriteHeader(hdr); err != nil {
		return "", err
	}
	if fi.Mode().IsRegular() {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		n, err := io.Copy(tw, f)
		f.Close()
		if err != nil {
			return "", err
		}
		if n != hdr.Size {
			return "", fmt.Errorf("file changed size while it was being read (%d of %d bytes)", n, hdr.Size)
		}
	}
	return hdr.Name, nil
}
