package version

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// maxQuoted bounds how much of a broken VERSION file an error repeats, so a
// binary file written there by mistake does not flood the terminal.
const maxQuoted = 64

// ReadFile reads the version a project declares in its VERSION file.
//
// The file must hold one strict semantic version (no leading "v", all three
// numbers) followed by at most one newline ("\n" or "\r\n", so checkouts with
// autocrlf still work). Errors for a malformed file quote the content and
// propose a value to write instead.
func ReadFile(path string) (*semver.Version, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w (create it with a first version, e.g. `echo 0.1.0 > %s`)", path, err, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return parseFileContent(path, string(b))
}

// parseFileContent holds ReadFile's rules apart from the I/O so each rule can
// be tested from a string.
func parseFileContent(path, content string) (*semver.Version, error) {
	s := strings.TrimSuffix(content, "\n")
	s = strings.TrimSuffix(s, "\r")
	if s == "" {
		return nil, fmt.Errorf("%s is empty: write a semantic version such as 0.1.0", path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%s holds %q: it must contain a single line with one version such as %s",
			path, quoteable(content), suggest(firstLine(s)))
	}
	if strings.TrimSpace(s) != s {
		return nil, fmt.Errorf("%s holds %q: remove the surrounding spaces and write just %s",
			path, quoteable(content), suggest(strings.TrimSpace(s)))
	}
	if rest, ok := strings.CutPrefix(s, "v"); ok {
		if _, err := semver.StrictNewVersion(rest); err == nil {
			return nil, fmt.Errorf("%s holds %q: drop the leading \"v\" and write %s (the tag prefix adds it back)",
				path, quoteable(s), rest)
		}
	}
	v, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("%s holds %q: write a full semantic version such as %s (%w)",
			path, quoteable(s), suggest(s), err)
	}
	return v, nil
}

// suggest proposes a valid version close to what the user wrote, falling back
// to a generic first version when nothing sensible can be derived.
func suggest(s string) string {
	if v, err := semver.NewVersion(strings.TrimSpace(s)); err == nil {
		return v.String()
	}
	return "0.1.0"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSuffix(line, "\r")
}

func quoteable(s string) string {
	if len(s) > maxQuoted {
		return s[:maxQuoted] + "..."
	}
	return s
}

// WriteFile replaces the VERSION file with v so that a reader never sees a
// half-written file: the new content goes to a temporary file in the same
// directory, which is then renamed over the old one. An existing file keeps
// its permission bits; a new one is created 0644.
func WriteFile(path string, v *semver.Version) error {
	if v == nil {
		return fmt.Errorf("write %s: no version given", path)
	}
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.WriteString(v.String() + "\n"); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		done = true
		return fmt.Errorf("write %s: %w", path, err)
	}
	done = true
	return nil
}
