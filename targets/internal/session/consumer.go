package session

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/Masterminds/semver/v3"
)

// This file holds what the mage layer checks about how it was started: from
// the right module, by a mage CLI recent enough.

// magefilesDir is the directory mage reads by default, which a consumer
// turns into a module of its own to keep hoist's dependencies out of the
// service's go.mod.
const magefilesDir = "magefiles"

// checkServiceModule refuses to treat the magefiles module as the service:
// run from inside magefiles/ without -w, every target would look for main
// packages in the wrong module and fail with a misleading message.
func checkServiceModule(dir string) error {
	if filepath.Base(dir) != magefilesDir {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "go.mod")); err != nil {
		return nil
	}
	return fmt.Errorf("hoist is running in %s, the module of your magefiles, not the service's module: "+
		"pass -w .. to mage so the targets run in the module root (go tool -C magefiles mage -w .. TARGET), or set Dir in targets.Configure", dir)
}

// MinMage is the oldest mage CLI that runs every hoist target: v1.11.0 was
// the first to pass typed arguments such as release:level's level. Older
// CLIs drop those targets from -l and answer "Unknown targets specified".
const MinMage = "v1.11.0"

// MageFix is the command that moves a consumer to hoist's mage launcher,
// mage's CLI at the version hoist requires, pinned as a tool so that
// nothing is installed globally.
const MageFix = "go get -tool github.com/hoistdev/hoist/cmd/mage"

// mageWarning returns a warning when exe, the mage CLI that started this
// process, is older than MinMage, and "" when it is recent or cannot be
// identified (a binary built without module information, or no CLI at all).
func mageWarning(exe string) string {
	if exe == "" {
		return ""
	}
	info, err := buildinfo.ReadFile(exe)
	if err != nil || info.Main.Path != "github.com/magefile/mage" {
		return ""
	}
	v, err := semver.NewVersion(info.Main.Version)
	if err != nil || !v.LessThan(semver.MustParse(MinMage)) {
		return ""
	}
	return fmt.Sprintf("warning: this mage CLI is %s, older than %s: it cannot pass arguments to targets, so release:level is missing; "+
		"upgrade mage: %s (in the module that holds your magefiles) and run it as go tool mage", info.Main.Version, MinMage, MageFix)
}

// parentExe is the executable of the process that started this one: the
// mage CLI when a magefile binary runs a target. It is known on Linux only;
// elsewhere the mage version check is skipped.
func parentExe() string {
	if runtime.GOOS != "linux" {
		return ""
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", os.Getppid()))
	if err != nil {
		return ""
	}
	return exe
}
