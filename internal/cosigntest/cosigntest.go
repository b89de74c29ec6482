// Package cosigntest runs the real cosign CLI in tests, as the independent
// verifier of what hoist signs. .ci/run installs the pinned version
// (github.com/sigstore/cosign/v3/cmd/cosign) and sets HOIST_REQUIRE_COSIGN=1,
// which turns a missing binary into a failure; elsewhere the tests skip.
package cosigntest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Binary finds cosign: HOIST_COSIGN, else PATH.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("HOIST_COSIGN"); p != "" {
		return p
	}
	p, err := exec.LookPath("cosign")
	if err != nil {
		if os.Getenv("HOIST_REQUIRE_COSIGN") == "1" {
			t.Fatalf("cosign is required (HOIST_REQUIRE_COSIGN=1) but not found: set HOIST_COSIGN or put it on PATH")
		}
		t.Skip("cosign not installed (.ci/run installs it); set HOIST_REQUIRE_COSIGN=1 to make this a failure")
	}
	return p
}

// Run runs cosign in dir with env added, offline: its home and TUF cache
// are dir's own, so nothing from the machine's home leaks in.
func Run(t testing.TB, bin, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"HOME=" + dir, "TUF_ROOT=" + filepath.Join(dir, ".sigstore"), "DOCKER_CONFIG=" + filepath.Join(dir, ".docker")}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
