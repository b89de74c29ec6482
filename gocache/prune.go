package gocache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Pruned reports what Prune removed and what it kept.
type Pruned struct {
	// Entries and Outputs count the action entries and output files removed.
	Entries int `json:"entries"`
	Outputs int `json:"outputs"`
	// Bytes is the space freed, leftover temporary files included.
	Bytes int64 `json:"bytes"`
	// KeptEntries and KeptBytes describe what is left.
	KeptEntries int   `json:"keptEntries"`
	KeptBytes   int64 `json:"keptBytes"`
}

// pruneGrace protects fresh files Prune cannot account for: an output is
// written before the entry naming it, and a temporary file may still be
// being written, by a build running beside Prune.
const pruneGrace = 10 * time.Minute

// Prune trims the local tier at dir. It removes entries not used within
// maxAge, then, while the tier holds more than maxBytes, the least recently
// used entries; an output goes with the last entry naming it. Entries count
// as used when stored and when a lookup hits them (refreshed at most
// hourly). maxAge or maxBytes of zero or less means no limit of that kind.
//
// Prune is meant for the time between builds, such as a CI step before the
// cache directory is saved. It does not coordinate with a Serve running on
// dir; it only leaves alone temporary files from the last ten minutes, and
// outputs from the last ten minutes that no entry names yet.
func Prune(ctx context.Context, dir string, maxAge time.Duration, maxBytes int64) (Pruned, error) {
	var p Pruned
	if fi, err := os.Stat(dir); err != nil {
		return p, fmt.Errorf("prune cache: %w", err)
	} else if !fi.IsDir() {
		return p, fmt.Errorf("prune cache: %s is not a directory", dir)
	}
	now := time.Now()
	var errs []error
	remove := func(path string, size int64) bool {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			return false
		}
		p.Bytes += size
		return true
	}

	type file struct {
		path  string
		name  string
		size  int64
		mtime time.Time
	}
	// scan lists the files in the shards under sub, removing stale
	// temporary files on the way.
	scan := func(sub string) ([]file, error) {
		var files []file
		root := filepath.Join(dir, sub)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && path == root {
					return fs.SkipDir
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // removed under us
				}
				return err
			}
			f := file{path: path, name: d.Name(), size: fi.Size(), mtime: fi.ModTime()}
			if strings.HasPrefix(f.name, ".") {
				if now.Sub(f.mtime) > pruneGrace {
					remove(f.path, f.size)
				}
				return nil
			}
			files = append(files, f)
			return nil
		})
		return files, err
	}

	entryFiles, err := scan(entriesDir)
	if err != nil {
		return p, fmt.Errorf("prune cache %s: %w", dir, err)
	}
	outputFiles, err := scan(outputsDir)
	if err != nil {
		return p, fmt.Errorf("prune cache %s: %w", dir, err)
	}
	outputs := make(map[string]file, len(outputFiles))
	for _, f := range outputFiles {
		outputs[f.name] = f
	}

	type entry struct {
		file
		output string
	}
	var entries []entry
	refs := map[string]int{}
	named := map[string]bool{} // outputs some entry named before this prune
	for _, f := range entryFiles {
		data, err := os.ReadFile(f.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e, perr := parseEntry(data)
		out := ""
		if perr == nil {
			out = fmt.Sprintf("%x", e.OutputID)
			named[out] = true
		}
		_, present := outputs[out]
		expired := maxAge > 0 && now.Sub(f.mtime) > maxAge
		if perr != nil || !present || expired {
			// Unreadable and dangling entries can only ever miss.
			if remove(f.path, f.size) {
				p.Entries++
			}
			continue
		}
		entries = append(entries, entry{file: f, output: out})
		refs[out]++
	}

	var total int64
	for _, e := range entries {
		total += e.size
	}
	for name, f := range outputs {
		// An output no entry ever named may be a put in progress.
		if refs[name] == 0 && (named[name] || now.Sub(f.mtime) > pruneGrace) {
			if remove(f.path, f.size) {
				p.Outputs++
			}
			delete(outputs, name)
			continue
		}
		total += f.size
	}

	p.KeptEntries = len(entries)
	if maxBytes > 0 && total > maxBytes {
		slices.SortFunc(entries, func(a, b entry) int {
			return cmp.Or(a.mtime.Compare(b.mtime), strings.Compare(a.name, b.name))
		})
		for _, e := range entries {
			if total <= maxBytes {
				break
			}
			if err := ctx.Err(); err != nil {
				return p, fmt.Errorf("prune cache %s: %w", dir, err)
			}
			if !remove(e.path, e.size) {
				continue
			}
			p.Entries++
			p.KeptEntries--
			total -= e.size
			if refs[e.output]--; refs[e.output] == 0 {
				if f, ok := outputs[e.output]; ok && remove(f.path, f.size) {
					p.Outputs++
					total -= f.size
				}
			}
		}
	}
	p.KeptBytes = total
	if err := errors.Join(errs...); err != nil {
		return p, fmt.Errorf("prune cache %s: %w", dir, err)
	}
	return p, nil
}
