package launch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// protocol changes whenever the way a binary is compiled or run changes,
// so that an upgraded launcher never runs a binary an older one made.
const protocol = "hoist-launch/1"

// keyEnv are the variables that change what the go command builds. The
// rest of the environment (proxies, caches, credentials) does not.
var keyEnv = []string{
	"CC", "CGO_CFLAGS", "CGO_ENABLED", "CGO_LDFLAGS", "GO386", "GOAMD64", "GOARCH", "GOARM", "GOARM64", "GOENV",
	"GOEXPERIMENT", "GOFIPS140", "GOFLAGS", "GOMIPS", "GOOS", "GOPPC64", "GORISCV64", "GOROOT", "GOTOOLCHAIN",
	"GOWASM", "GOWORK", "MAGEFILE_GOCMD",
}

// inputs names every input of the cached binary that is cheap to read on
// each run, each with a digest: the magefile sources, the module files of
// the module that builds them, the go command and the variables that steer
// it. Sources of local modules the magefile imports are tracked apart, by
// the entry (see entry.stale), because listing them needs the go command.
func (p *Project) inputs(getenv func(string) string) (map[string]string, error) {
	in := map[string]string{"launcher": protocol + " " + runtime.GOOS + "/" + runtime.GOARCH}
	for _, f := range p.Files {
		d, err := fileDigest(f)
		if err != nil {
			return nil, fmt.Errorf("read magefile: %w", err)
		}
		in[p.rel(f)] = d
	}
	for _, name := range []string{"go.mod", "go.sum", "vendor/modules.txt"} {
		f := filepath.Join(p.Module, filepath.FromSlash(name))
		d, err := fileDigest(f)
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		in[p.rel(f)] = d
	}
	if work := p.workFile(getenv); work != "" {
		for _, f := range []string{work, work + ".sum"} {
			d, err := fileDigest(f)
			if err != nil && !os.IsNotExist(err) {
				return nil, fmt.Errorf("read %s: %w", f, err)
			}
			in[p.rel(f)] = d
		}
	}
	goCmd := goCommand(getenv)
	in["go command"] = toolchainStamp(goCmd)
	var env []string
	for _, k := range keyEnv {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	in["environment"] = digest([]byte(strings.Join(env, "\n")))
	if f := goEnvFile(getenv); f != "" {
		d, err := fileDigest(f)
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		in["go env -w settings"] = d
	}
	return in, nil
}

// key folds inputs into the cache key.
func key(in map[string]string) string {
	names := make([]string, 0, len(in))
	for n := range in {
		names = append(names, n)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%s\n", n, in[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// changed names the inputs that differ between two sets, for the line
// that says why a compile happens.
func changed(old, cur map[string]string) []string {
	var out []string
	for n, d := range cur {
		if od, ok := old[n]; !ok || od != d {
			out = append(out, n)
		}
	}
	for n := range old {
		if _, ok := cur[n]; !ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// rel shows a path relative to the repository root when it is inside it.
func (p *Project) rel(path string) string {
	if r, err := filepath.Rel(p.Root, path); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return path
}

// workFile is the go.work file the go command would use in the magefiles
// module, or "" when workspaces are off or none exists.
func (p *Project) workFile(getenv func(string) string) string {
	switch w := getenv("GOWORK"); w {
	case "off":
		return ""
	case "":
	default:
		return w
	}
	for d := p.Module; ; {
		f := filepath.Join(d, "go.work")
		if _, err := os.Stat(f); err == nil {
			return f
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// goCommand is the go command mage would run.
func goCommand(getenv func(string) string) string {
	if c := getenv("MAGEFILE_GOCMD"); c != "" {
		return c
	}
	return "go"
}

// toolchainStamp identifies the go command without running it: its
// resolved path, size and modification time. Installing another Go
// replaces the file and so changes the stamp; a go.mod toolchain line that
// switches toolchains is part of go.mod's digest.
func toolchainStamp(goCmd string) string {
	path, err := exec.LookPath(goCmd)
	if err != nil {
		return "missing " + goCmd
	}
	if r, err := filepath.EvalSymlinks(path); err == nil {
		path = r
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "missing " + path
	}
	return fmt.Sprintf("%s %d %d", path, fi.Size(), fi.ModTime().UnixNano())
}

// goEnvFile is where `go env -w` keeps its settings.
func goEnvFile(getenv func(string) string) string {
	if f := getenv("GOENV"); f != "" {
		if f == "off" {
			return ""
		}
		return f
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "go", "env")
}

func fileDigest(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return "absent", err
		}
		return "", err
	}
	return digest(data), nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
