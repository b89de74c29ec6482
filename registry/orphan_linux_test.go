//go:build linux

package registry

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestChildStopsWhenParentDies kills the parent outright, as SIGTERM does
// to mage, and expects the registry to shut down instead of living on.
func TestChildStopsWhenParentDies(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HOIST_TEST_PARENT_OF="+hoistRegistry, "HOIST_TEST_DATA="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	host := strings.TrimSpace(line)
	if err != nil || strings.HasPrefix(host, "error") {
		t.Fatalf("parent printed %q, %v", line, err)
	}
	if err := Ping(context.Background(), host); err != nil {
		t.Fatalf("registry at %s not serving: %v", host, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for Ping(context.Background(), host) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the registry at %s still serves 15 s after its parent died", host)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
