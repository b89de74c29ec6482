package launch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/hoistdev/hoist/internal/atomicfile"
	"github.com/hoistdev/hoist/internal/lockfile"
)

// mageMainfile is the file mage writes beside the magefiles while it
// compiles them and removes afterwards.
const mageMainfile = "mage_output_file.go"

// keepKeys is how many compiled binaries the cache keeps per magefiles
// directory: switching between two branches with different magefiles
// then costs no compile.
const keepKeys = 3

// Cache is the launcher's store of compiled magefile binaries.
type Cache struct {
	// Dir is the cache's root directory.
	Dir string
}

// DefaultCache is $MAGEFILE_CACHE/hoist when MAGEFILE_CACHE is set (where
// mage keeps its own binaries), else hoist/magefiles in the user's cache
// directory.
func DefaultCache(getenv func(string) string) (*Cache, error) {
	if d := getenv("MAGEFILE_CACHE"); d != "" {
		return &Cache{Dir: filepath.Join(d, "hoist")}, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return nil, fmt.Errorf("no cache directory for compiled magefiles (%w); set MAGEFILE_CACHE to one", err)
	}
	return &Cache{Dir: filepath.Join(d, "hoist", "magefiles")}, nil
}

// projectRecord remembers, per magefiles directory, the inputs of the
// last compile (to say what changed) and the keys still cached.
type projectRecord struct {
	Dir    string            `json:"dir"`
	Inputs map[string]string `json:"inputs"`
	Keys   []string          `json:"keys"`
}

func (c *Cache) entryDir(key string) string { return filepath.Join(c.Dir, key[:40]) }

func (c *Cache) dirID(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return hex.EncodeToString(sum[:8])
}

func (c *Cache) projectPath(dir string) string {
	return filepath.Join(c.Dir, "projects", c.dirID(dir)+".json")
}

func exeName() string {
	if runtime.GOOS == "windows" {
		return "hoist.exe"
	}
	return "hoist"
}

// Binary is a compiled magefile, ready to run.
type Binary struct {
	// Path is the executable.
	Path string
	// Aliases are the magefile's aliases (see [Aliases]).
	Aliases map[string]string
	// Compiled reports whether this run compiled it.
	Compiled bool
}

// Ensure returns the binary for p's current magefiles, compiling it when
// the cache holds none for their inputs, when a local source it links
// changed, or when force is set. Compiles of one magefiles directory take
// turns. Notes (what is compiled and why) go to log.
func (c *Cache) Ensure(ctx context.Context, p *Project, env []string, force bool, log io.Writer) (*Binary, error) {
	getenv := envLookup(env)
	in, err := p.inputs(getenv)
	if err != nil {
		return nil, err
	}
	k := key(in)
	if !force {
		if b, ok := c.lookup(ctx, p, k); ok {
			return b, nil
		}
	}
	lock, err := c.lock(ctx, p, log)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if !force {
		// Another run may have compiled it while this one waited.
		if b, ok := c.lookup(ctx, p, k); ok {
			return b, nil
		}
	}
	return c.compile(ctx, p, env, in, k, log)
}

// lookup finds a fresh cached binary for key.
func (c *Cache) lookup(ctx context.Context, p *Project, k string) (*Binary, bool) {
	dir := c.entryDir(k)
	e := readEntry(filepath.Join(dir, "entry.json"))
	if e == nil || e.Key != k {
		return nil, false
	}
	exe := filepath.Join(dir, exeName())
	if _, err := os.Stat(exe); err != nil {
		return nil, false
	}
	if reason, refreshed := e.stale(p); reason != "" {
		return nil, false
	} else if refreshed {
		_ = e.write(ctx, filepath.Join(dir, "entry.json"))
	}
	return &Binary{Path: exe, Aliases: e.Aliases}, true
}

// lock waits for other compiles of the same magefiles to finish.
func (c *Cache) lock(ctx context.Context, p *Project, log io.Writer) (*lockfile.Lock, error) {
	path := filepath.Join(c.Dir, "locks", c.dirID(p.Dir)+".lock")
	l, err := lockfile.Wait(ctx, path, lockfile.Holder{PID: os.Getpid(), What: "compiling " + p.Dir}, func(h lockfile.Holder) {
		fmt.Fprintf(log, "hoist: waiting for pid %d, which is compiling these magefiles\n", h.PID)
	})
	if err != nil && ctx.Err() != nil {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("compiled magefiles cache %s: %w; set MAGEFILE_CACHE to a writable directory", c.Dir, err)
	}
	return l, nil
}

// why says what made this compile necessary.
func (c *Cache) why(p *Project, in map[string]string, k string) string {
	var rec projectRecord
	data, err := os.ReadFile(c.projectPath(p.Dir))
	if err != nil || json.Unmarshal(data, &rec) != nil || rec.Inputs == nil {
		return "first run here"
	}
	if e := readEntry(filepath.Join(c.entryDir(k), "entry.json")); e != nil && e.Key == k {
		if reason, _ := e.stale(p); reason != "" {
			return reason
		}
	}
	names := changed(rec.Inputs, in)
	switch {
	case len(names) == 0:
		return "rebuild asked for"
	case len(names) > 3:
		return strings.Join(names[:3], ", ") + fmt.Sprintf(" and %d more changed", len(names)-3)
	}
	return strings.Join(names, ", ") + " changed"
}

// compile builds the binary with the mage of the magefiles' own module
// and records it.
func (c *Cache) compile(ctx context.Context, p *Project, env []string, in map[string]string, k string, log io.Writer) (*Binary, error) {
	fmt.Fprintf(log, "hoist: compiling the magefiles in %s/ (%s); this happens once per change to them, their modules or Go\n", p.rel(p.Dir), c.why(p, in, k))
	start := time.Now()
	dir := c.entryDir(k)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("compiled magefiles cache: %w; set MAGEFILE_CACHE to a writable directory", err)
	}
	// mage names the binary in its usage text after the output file, so
	// the partial binary gets its final name in a directory of its own.
	work, err := os.MkdirTemp(dir, ".partial-")
	if err != nil {
		return nil, fmt.Errorf("compiled magefiles cache: %w; set MAGEFILE_CACHE to a writable directory", err)
	}
	defer os.RemoveAll(work)
	partial := filepath.Join(work, exeName())
	if err := p.runMageCompile(ctx, env, partial, log); err != nil {
		return nil, err
	}
	aliases, err := Aliases(p.Files)
	if err != nil {
		return nil, err
	}
	files, dirs, err := p.localSources(ctx, env)
	if err != nil {
		return nil, err
	}
	exe := filepath.Join(dir, exeName())
	if err := os.Rename(partial, exe); err != nil {
		return nil, fmt.Errorf("store compiled magefiles: %w", err)
	}
	e := &entry{Version: entryVersion, Dir: p.Dir, Key: k, Built: time.Now().UTC(), Aliases: aliases, Files: files, Dirs: dirs}
	if err := e.write(ctx, filepath.Join(dir, "entry.json")); err != nil {
		return nil, err
	}
	c.remember(ctx, p, in, k)
	fmt.Fprintf(log, "hoist: compiled in %s\n", time.Since(start).Round(100*time.Millisecond))
	return &Binary{Path: exe, Aliases: aliases, Compiled: true}, nil
}

// remember updates the project record and drops binaries beyond keepKeys.
func (c *Cache) remember(ctx context.Context, p *Project, in map[string]string, k string) {
	path := c.projectPath(p.Dir)
	var rec projectRecord
	if data, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(data, &rec)
	}
	keys := append([]string{k}, slices.DeleteFunc(rec.Keys, func(s string) bool { return s == k })...)
	for _, old := range keys[min(len(keys), keepKeys):] {
		_ = os.RemoveAll(c.entryDir(old))
	}
	rec = projectRecord{Dir: p.Dir, Inputs: in, Keys: keys[:min(len(keys), keepKeys)]}
	if data, err := json.MarshalIndent(rec, "", "  "); err == nil {
		_ = atomicfile.ReplaceBytes(ctx, path, append(data, '\n'), 0o644)
	}
}

// mageCommand is the argv that runs mage in the magefiles module: the mage
// tool its go.mod lists (hoist's or mage's own), else mage at the version
// the module requires, through go run.
func (p *Project) mageCommand(goCmd string) ([]string, error) {
	gomod := filepath.Join(p.Module, "go.mod")
	data, err := os.ReadFile(gomod)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", gomod, err)
	}
	f, err := modfile.ParseLax(gomod, data, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", gomod, err)
	}
	for _, t := range f.Tool {
		if t.Path == "github.com/hoistdev/hoist/cmd/mage" || t.Path == "github.com/magefile/mage" {
			return []string{goCmd, "tool", t.Path}, nil
		}
	}
	return []string{goCmd, "run", "github.com/magefile/mage"}, nil
}

// runMageCompile runs `mage -compile out` for the repository root. The
// child and everything it starts (go, the compiler, the linker) share a
// process group of their own, and their temporary files a directory of
// their own: when SIGINT or SIGTERM arrives, the whole group is killed, and
// the directory, the partial binary and the main file mage writes beside
// the magefiles are removed, so that nothing is left running or behind.
func (p *Project) runMageCompile(ctx context.Context, env []string, out string, log io.Writer) error {
	argv, err := p.mageCommand(goCommand(envLookup(env)))
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "hoist-compile-")
	if err != nil {
		return fmt.Errorf("compile magefiles: %w", err)
	}
	defer os.RemoveAll(tmp)
	mainfile := filepath.Join(p.Dir, mageMainfile)
	_, statErr := os.Stat(mainfile)
	hadMainfile := statErr == nil

	argv = append(argv, "-d", p.Root, "-compile", out)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = p.Module
	cmd.Env = append(slices.Clone(env), "GOTMPDIR="+tmp)
	cmd.Stdout, cmd.Stderr = log, log
	ownGroup(cmd)

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("compile magefiles: start %s: %w", strings.Join(argv, " "), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var stopped error
	select {
	case err = <-done:
	case s := <-sigs:
		stopped = &Interrupted{Signal: s}
	case <-ctx.Done():
		stopped = context.Cause(ctx)
	}
	if stopped != nil {
		killGroup(cmd)
		<-done
		if !hadMainfile {
			_ = os.Remove(mainfile)
		}
		return stopped
	}
	if err != nil {
		return fmt.Errorf("compile the magefiles in %s (%s): %w", p.Dir, strings.Join(argv, " "), err)
	}
	return nil
}

// Interrupted reports that a signal stopped the compile.
type Interrupted struct {
	// Signal is the signal that arrived.
	Signal os.Signal
}

func (e *Interrupted) Error() string {
	name := "SIGINT"
	if e.Signal == syscall.SIGTERM {
		name = "SIGTERM"
	}
	return fmt.Sprintf("interrupted by %s while compiling the magefiles; nothing was left running or half-written", name)
}

// ExitCode is the conventional status for the signal: 130 for SIGINT,
// 143 for SIGTERM.
func (e *Interrupted) ExitCode() int {
	if e.Signal == syscall.SIGTERM {
		return 143
	}
	return 130
}
