package vuln

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/vuln/scan"
)

// DefaultDB is the public Go vulnerability database.
const DefaultDB = "https://vuln.go.dev"

// ErrDBUnreachable means the vulnerability database could not be read, so
// nothing can be said about the build: the gate fails rather than pass.
var ErrDBUnreachable = errors.New("vulnerability database unreachable")

// Level says how close a vulnerability comes to the released binaries.
type Level int

// The levels, from least to most serious.
const (
	// Required: the vulnerable module is in the build list, but no
	// vulnerable package of it is linked.
	Required Level = iota
	// Imported: a vulnerable package is linked, but none of its
	// vulnerable functions is reachable from an entry point.
	Imported
	// Called: a vulnerable function is reachable: the binary can run it.
	Called
)

// String names the level as the gate's output does.
func (l Level) String() string {
	switch l {
	case Called:
		return "called"
	case Imported:
		return "imported"
	}
	return "required"
}

// Frame is one step of a call path.
type Frame struct {
	// Module, Version and Package locate the function.
	Module, Version, Package string
	// Function is the function's name, with Receiver for a method.
	Function, Receiver string
	// Position is file:line of the call, when known.
	Position string
}

// String renders the frame as package.Function or package.Receiver.Method.
func (f Frame) String() string {
	name := f.Function
	if f.Receiver != "" {
		name = strings.TrimPrefix(f.Receiver, "*") + "." + name
	}
	if name == "" {
		return f.Package
	}
	return f.Package + "." + name
}

// Finding is one vulnerability in one module, at the most serious level
// any scanned platform reached.
type Finding struct {
	// ID is the OSV identifier, such as GO-2024-2687.
	ID string
	// Aliases are other names of it (CVE, GHSA).
	Aliases []string
	// Summary is the database's one-line description.
	Summary string
	// Module is the vulnerable module ("stdlib" for the standard library,
	// "toolchain" for the go command).
	Module string
	// Found is the version in the build; Fixed the first version without
	// the vulnerability, empty when none is known.
	Found, Fixed string
	// Level is Called, Imported or Required.
	Level Level
	// Path is, for a Called finding, the call path from the binary's entry
	// point to the vulnerable function.
	Path []Frame
	// Platforms are the GOOS/GOARCH pairs it was found for.
	Platforms []string
}

// Fix says how to get rid of the finding: the go get that upgrades the
// module, or the Go release that fixes the standard library.
func (f Finding) Fix() string {
	switch {
	case f.Fixed == "":
		return "no fixed version is known yet: remove the dependency, or accept the risk with an Allow entry"
	case f.Module == "stdlib" || f.Module == "toolchain":
		return "build with Go " + strings.TrimPrefix(f.Fixed, "v") + " or later (go get toolchain@go" + strings.TrimPrefix(f.Fixed, "v") + ")"
	}
	return "go get " + f.Module + "@" + f.Fixed
}

// Report is what a scan found.
type Report struct {
	// DB is the database read, and DBModified when it last changed.
	DB         string
	DBModified time.Time
	// Findings are sorted by level (Called first), then ID.
	Findings []Finding
}

// Option configures Scan.
type Option func(*options)

type options struct {
	db        string
	dir       string
	packages  []string
	platforms []string
	env       []string
	client    *http.Client
}

// WithDB reads the database at url: https://…, or file:///… for a local
// copy in the v1 layout (see ModuleDB). Default: DefaultDB.
func WithDB(url string) Option { return func(o *options) { o.db = url } }

// WithDir scans the module at dir. Default: the working directory.
func WithDir(dir string) Option { return func(o *options) { o.dir = dir } }

// WithPackages scans these package patterns, such as the main packages a
// release builds. Default: ./...
func WithPackages(pkgs ...string) Option {
	return func(o *options) { o.packages = slices.Clone(pkgs) }
}

// WithPlatforms scans for each GOOS/GOARCH, since build constraints change
// what is linked. Default: the host platform.
func WithPlatforms(platforms ...string) Option {
	return func(o *options) { o.platforms = slices.Clone(platforms) }
}

// WithEnv adds environment variables for the go command the scan runs
// (GOFLAGS, GOPROXY, ...). Default: this process's environment.
func WithEnv(env ...string) Option { return func(o *options) { o.env = append(o.env, env...) } }

// withHTTPClient replaces the client the reachability check uses, for
// tests.
func withHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// Scan runs govulncheck at symbol level over the packages, once per
// platform, and merges the findings. It first checks that the database can
// be read and fails with ErrDBUnreachable if it cannot.
func Scan(ctx context.Context, opts ...Option) (*Report, error) {
	o := options{db: DefaultDB, packages: []string{"./..."}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.client == nil {
		o.client = &http.Client{Timeout: 20 * time.Second}
	}
	if len(o.platforms) == 0 {
		o.platforms = []string{""}
	}
	if err := checkDB(ctx, o.client, o.db); err != nil {
		return nil, err
	}
	rep := &Report{DB: o.db}
	byKey := map[string]*Finding{}
	for _, plat := range o.platforms {
		env := append(os.Environ(), o.env...)
		if plat != "" {
			goos, goarch, ok := strings.Cut(plat, "/")
			if !ok {
				return nil, fmt.Errorf("vuln: platform %q: want GOOS/GOARCH", plat)
			}
			env = append(env, "GOOS="+goos, "GOARCH="+goarch)
		}
		msgs, err := run(ctx, o, env)
		if err != nil {
			return nil, err
		}
		merge(rep, byKey, msgs, plat)
	}
	for _, f := range byKey {
		rep.Findings = append(rep.Findings, *f)
	}
	slices.SortFunc(rep.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Level, a.Level), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Module, b.Module))
	})
	return rep, nil
}

// message is one value of govulncheck's JSON stream, the fields read here.
type message struct {
	Config *struct {
		DB             string     `json:"db"`
		DBLastModified *time.Time `json:"db_last_modified"`
	} `json:"config"`
	OSV *struct {
		ID      string   `json:"id"`
		Aliases []string `json:"aliases"`
		Summary string   `json:"summary"`
		Details string   `json:"details"`
	} `json:"osv"`
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Package  string `json:"package"`
			Function string `json:"function"`
			Receiver string `json:"receiver"`
			Position *struct {
				Filename string `json:"filename"`
				Line     int    `json:"line"`
			} `json:"position"`
		} `json:"trace"`
	} `json:"finding"`
}

// run is one govulncheck run, in this process, its JSON output decoded.
func run(ctx context.Context, o options, env []string) ([]message, error) {
	args := []string{"-format", "json", "-scan", "symbol", "-db", o.db}
	if o.dir != "" {
		args = append(args, "-C", o.dir)
	}
	args = append(args, o.packages...)
	var stdout, stderr bytes.Buffer
	cmd := scan.Command(ctx, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Env = strings.NewReader(""), &stdout, &stderr, env
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("govulncheck: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("govulncheck: %w", context.Cause(ctx))
		}
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "fetching vulnerabilities") || strings.Contains(msg, "vulndb") {
			return nil, fmt.Errorf("%w: %s (%v)", ErrDBUnreachable, msg, err)
		}
		return nil, fmt.Errorf("govulncheck %s: %w\n%s", strings.Join(o.packages, " "), err, msg)
	}
	var out []message
	dec := json.NewDecoder(&stdout)
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("govulncheck: read its JSON output: %w", err)
		}
		out = append(out, m)
	}
	return out, nil
}

// merge folds one run's messages into the report, keeping per finding the
// most serious level and, for a call, the first path found.
func merge(rep *Report, byKey map[string]*Finding, msgs []message, plat string) {
	type osvInfo struct {
		aliases []string
		summary string
	}
	infos := map[string]osvInfo{}
	for _, m := range msgs {
		if m.Config != nil && m.Config.DBLastModified != nil {
			rep.DBModified = *m.Config.DBLastModified
		}
		if m.OSV != nil {
			infos[m.OSV.ID] = osvInfo{aliases: m.OSV.Aliases, summary: cmp.Or(m.OSV.Summary, firstLine(m.OSV.Details))}
		}
	}
	for _, m := range msgs {
		f := m.Finding
		if f == nil || len(f.Trace) == 0 {
			continue
		}
		top := f.Trace[0]
		level := Required
		switch {
		case top.Function != "":
			level = Called
		case top.Package != "":
			level = Imported
		}
		key := f.OSV + " " + top.Module
		cur := byKey[key]
		if cur == nil {
			info := infos[f.OSV]
			cur = &Finding{ID: f.OSV, Aliases: info.aliases, Summary: info.summary, Module: top.Module, Found: top.Version, Fixed: f.FixedVersion, Level: level}
			byKey[key] = cur
		}
		if plat != "" && !slices.Contains(cur.Platforms, plat) {
			cur.Platforms = append(cur.Platforms, plat)
		}
		if level > cur.Level {
			cur.Level, cur.Path = level, nil
		}
		if level == Called && cur.Path == nil {
			// govulncheck lists the vulnerable function first and the
			// entry point last; a path reads the other way round.
			for i := len(f.Trace) - 1; i >= 0; i-- {
				t := f.Trace[i]
				fr := Frame{Module: t.Module, Version: t.Version, Package: t.Package, Function: t.Function, Receiver: t.Receiver}
				if t.Position != nil && t.Position.Filename != "" {
					fr.Position = fmt.Sprintf("%s:%d", filepath.Base(t.Position.Filename), t.Position.Line)
				}
				cur.Path = append(cur.Path, fr)
			}
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// checkDB makes sure the database can be read before a scan that would
// otherwise fail deep inside govulncheck, or not fail at all.
func checkDB(ctx context.Context, client *http.Client, db string) error {
	u, err := url.Parse(db)
	if err != nil {
		return fmt.Errorf("%w: %q is not a URL: give https://… or file:///…", ErrDBUnreachable, db)
	}
	switch u.Scheme {
	case "file":
		p := filepath.FromSlash(u.Path)
		if _, err := os.Stat(filepath.Join(p, "index", "modules.json")); err != nil {
			return fmt.Errorf("%w: %s has no index/modules.json: it is not a vulnerability database in the v1 layout", ErrDBUnreachable, p)
		}
		return nil
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, strings.TrimRight(db, "/")+"/index/modules.json.gz", nil)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrDBUnreachable, err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrDBUnreachable, db, errors.Unwrap(err))
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%w: %s answers %s for index/modules.json.gz: it is not a vulnerability database", ErrDBUnreachable, db, resp.Status)
		}
		return nil
	}
	return fmt.Errorf("%w: %q: give an https:// URL or a file:/// directory", ErrDBUnreachable, db)
}
