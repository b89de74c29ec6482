package registry

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// DefaultAddr is where the embedded registry serves when nothing else is
// asked for (registry:serve, HOIST_REGISTRY_ADDR), and the host that names
// the embedded registry's images in records: the conventional
// localhost:5000 of a private registry.
const DefaultAddr = "localhost:5000"

// lockFile is the file in the data dir that a serving hoist-registry holds
// locked and writes its pid and address into (registry/server.LockFile;
// this package must not import the server, which pulls in distribution).
const lockFile = "hoist-registry.lock"

// Running reports the address of the hoist-registry that serves dataDir
// right now, such as a registry:serve in another terminal, without starting
// anything: it reads the owner the lock file names and checks that a
// registry answers there. ok is false when nothing serves the directory.
// Start would hand the same instance back as an [*InUseError], so a dry run
// can name the registry a real run would use.
func Running(ctx context.Context, dataDir string) (host string, pid int, ok bool) {
	data, err := os.ReadFile(filepath.Join(dataDir, lockFile))
	if err != nil {
		return "", 0, false
	}
	var info struct {
		PID  int    `json:"pid"`
		Addr string `json:"addr"`
	}
	if json.Unmarshal(data, &info) != nil || info.Addr == "" {
		return "", 0, false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if Ping(ctx, info.Addr) != nil {
		return "", 0, false
	}
	return info.Addr, info.PID, true
}
