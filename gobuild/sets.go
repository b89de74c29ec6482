package gobuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hoistdev/hoist/internal/atomicfile"
)

// A source set is a scan (every file of one binary for one platform, with
// the directory listings that chose them) stored once under its digest in
// dist/.hoist/build/sets/. Build records name their set instead of
// holding it: binaries that share their sources (the platforms of a main
// package without platform-specific files) share one file, and a no-op
// reads and checks each set once.

// setFile is a set's path under the build records' directory.
func setFile(recDir, digest string) string { return filepath.Join(recDir, "sets", digest+".json") }

// setDigest names a scan by its content. encoding/json writes map keys in
// sorted order, so equal scans have equal digests.
func setDigest(s scan) (string, []byte, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return "", nil, fmt.Errorf("encode source set: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), data, nil
}

// loadSet reads a stored set once per Build.
func (h *hasher) loadSet(digest string) (scan, error) {
	return memoize(&h.mu, h.sets, digest, func() (scan, error) {
		var s scan
		data, err := os.ReadFile(setFile(h.recDir, digest))
		if err != nil {
			return s, err
		}
		if err := json.Unmarshal(data, &s); err != nil {
			return s, fmt.Errorf("read source set %s: %w", digest, err)
		}
		return s, nil
	})
}

// saveSet stores s (once per Build) and returns its digest.
func (h *hasher) saveSet(s scan) (string, error) {
	digest, data, err := setDigest(s)
	if err != nil {
		return "", err
	}
	_, err = memoize(&h.mu, h.saved, digest, func() (bool, error) {
		p := setFile(h.recDir, digest)
		if _, err := os.Stat(p); err == nil {
			return true, nil
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return false, fmt.Errorf("write source set: %w", err)
		}
		if err := atomicfile.WriteBytes(context.Background(), p, data, 0o644); err != nil {
			return false, fmt.Errorf("write source set: %w", err)
		}
		return true, nil
	})
	return digest, err
}

// unchangedSet is unchanged, once per stored set.
func (h *hasher) unchangedSet(digest string, s scan) bool {
	ok, _ := memoize(&h.mu, h.checked, digest, func() (bool, error) { return h.unchanged(s), nil })
	return ok
}

// pruneSets removes the sets no build record names any more.
func (h *hasher) pruneSets() {
	entries, err := os.ReadDir(filepath.Join(h.recDir, "sets"))
	if err != nil {
		return
	}
	used := map[string]bool{}
	recs, _ := filepath.Glob(filepath.Join(h.recDir, "*.json"))
	for _, p := range recs {
		r, err := readRecord(p)
		if err != nil {
			return // a record being written: prune another time
		}
		used[r.SourceSet] = true
	}
	for _, e := range entries {
		digest, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && !used[digest] {
			_ = os.Remove(filepath.Join(h.recDir, "sets", e.Name()))
		}
	}
}
