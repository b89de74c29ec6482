package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/hoistdev/hoist/internal/atomicfile"
)

// WithToolRecord lets Start skip the go command's check of the tool on
// later starts. `go tool hoist-registry` makes the go command work out
// whether the registry binary is up to date, hashing the sources of
// hoist-registry and every package it imports: most of a second of CPU on
// each start, twice in a release that pushes to the embedded registry. With
// a record directory, Start asks `go tool -n hoist-registry` once for the
// binary's path, keeps it in dir under a key made of the go environment, the
// module's go.mod and go.sum, and the names, sizes and times of the files in
// every local directory the module graph points at, and runs that binary
// directly while the key holds. Any change to those (another Go, a new
// requirement, an edited file in a replaced module) misses and asks the go
// command again; so does a binary the Go build cache no longer holds. Only
// the default command uses it. Default: no record, `go tool` every time.
func WithToolRecord(dir string) Option {
	return func(o *options) { o.toolRecord = dir }
}

// toolBinary returns the hoist-registry binary that `go tool
// hoist-registry` runs in dir, from the record in records when its key
// still holds, else from `go tool -n`, which builds the tool when the cache
// lacks it; env is the go command's environment. The record is written
// after a lookup; failing to write it only costs the next start the lookup.
func toolBinary(ctx context.Context, dir, records string, env []string) (string, error) {
	key, err := toolKey(ctx, dir, env)
	if err != nil {
		return "", err
	}
	record := filepath.Join(records, key)
	if b, err := os.ReadFile(record); err == nil {
		if path := strings.TrimSpace(string(b)); isExecutable(path) {
			return path, nil
		}
	}
	cmd := exec.CommandContext(ctx, "go", "tool", "-n", "hoist-registry")
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n hoist-registry: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	path := strings.TrimSpace(string(out))
	if strings.Contains(path, "\n") || !isExecutable(path) {
		return "", fmt.Errorf("go tool -n hoist-registry printed %q, not one executable", path)
	}
	if err := os.MkdirAll(records, 0o755); err == nil {
		_ = atomicfile.ReplaceBytes(ctx, record, []byte(path+"\n"), 0o644)
	}
	return path, nil
}

// goEnvKeys are the go command's settings that choose which binary `go
// tool` builds.
var goEnvKeys = []string{"GOVERSION", "GOROOT", "GOFLAGS", "GOOS", "GOARCH", "GOAMD64", "GOARM64", "GOEXPERIMENT",
	"CGO_ENABLED", "CC", "CGO_CFLAGS", "CGO_LDFLAGS", "GOCACHE", "GOMOD", "GOWORK", "GOTOOLCHAIN", "GOFIPS140"}

// toolKey names what the tool binary depends on, as cheaply as it can be
// read: the go environment, go.mod and go.sum of the module at dir, and a
// listing (path, size, modification time) of every file in the local
// directories the build reads packages from: the targets of directory
// replacements, and the main module itself when it is hoist. A workspace
// (GOWORK) is not keyed; it fails, and Start asks the go command.
func toolKey(ctx context.Context, dir string, env []string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"env", "-json"}, goEnvKeys...)...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	var goenv map[string]string
	if err := json.Unmarshal(out, &goenv); err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	if w := goenv["GOWORK"]; w != "" && w != "off" {
		return "", fmt.Errorf("a workspace (%s) is in use", w)
	}
	gomod := goenv["GOMOD"]
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("%s is not inside a module", dir)
	}
	h := sha256.New()
	h.Write(out)
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "go.mod %d\n", len(data))
	h.Write(data)
	if sum, err := os.ReadFile(strings.TrimSuffix(gomod, ".mod") + ".sum"); err == nil {
		fmt.Fprintf(h, "go.sum %d\n", len(sum))
		h.Write(sum)
	}
	mf, err := modfile.Parse(gomod, data, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", gomod, err)
	}
	root := filepath.Dir(gomod)
	var local []string
	if mf.Module != nil && mf.Module.Mod.Path == "github.com/hoistdev/hoist" {
		local = append(local, root)
	}
	for _, r := range mf.Replace {
		if r.New.Version != "" {
			continue // a module version, immutable in the module cache
		}
		p := r.New.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		local = append(local, p)
	}
	for _, d := range local {
		if err := listTree(h, d); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// listTree writes a line per file of the module rooted at dir into h:
// its path, size and modification time. Like the go command it leaves out
// directories that hold another module, hidden ones, testdata and those
// starting with an underscore; it also leaves out the module's dist/, where
// a release writes while it runs and which no build reads.
func listTree(h interface{ Write([]byte) (int, error) }, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p == dir {
				return nil
			}
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || (name == "dist" && filepath.Dir(p) == dir) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d %d\n", p, fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
}

// isExecutable reports whether path is a regular file that can be run:
// with an execute bit, except on Windows, whose file modes have none.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && (runtime.GOOS == "windows" || fi.Mode()&0o111 != 0)
}
