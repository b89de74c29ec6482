package registry

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
)

// DefaultDataDir says where the embedded registry keeps its content when the
// user has not chosen: every repository on the machine shares one store, the
// way a machine-wide localhost:5000 would.
//
// It returns, in order of preference:
//   - $HOIST_REGISTRY_DATA, made absolute;
//   - $XDG_DATA_HOME/hoist/registry, if XDG_DATA_HOME is absolute (the XDG
//     base directory spec says to ignore relative values);
//   - %LOCALAPPDATA%\hoist\registry on Windows;
//   - $HOME/.local/share/hoist/registry.
//
// getenv is usually os.Getenv; taking it as a parameter keeps the environment
// at the caller's edge and makes the lookup testable.
func DefaultDataDir(getenv func(string) string) (string, error) {
	if dir := getenv("HOIST_REGISTRY_DATA"); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", fmt.Errorf("resolve HOIST_REGISTRY_DATA=%s: %w", dir, err)
		}
		return abs, nil
	}
	if xdg := getenv("XDG_DATA_HOME"); xdg != "" && filepath.IsAbs(xdg) {
		return filepath.Join(xdg, "hoist", "registry"), nil
	}
	if runtime.GOOS == "windows" {
		if local := getenv("LOCALAPPDATA"); local != "" {
			return filepath.Join(local, "hoist", "registry"), nil
		}
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".local", "share", "hoist", "registry"), nil
	}
	return "", errors.New("no data dir for the embedded registry: HOME is not set; set HOIST_REGISTRY_DATA to a directory")
}
