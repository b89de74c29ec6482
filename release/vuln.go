package release

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/vuln"
)

// vulnPlatforms are the platforms the vulnerability gate scans: the first
// of each GOOS in the build matrix. Build constraints mostly split code by
// operating system; scanning every architecture too would multiply the
// gate's time for little.
func (w *Workspace) vulnPlatforms() []string {
	ps, err := w.Cfg.ParsedPlatforms()
	if err != nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range ps {
		if !seen[p.OS] {
			seen[p.OS] = true
			out = append(out, p.OS+"/"+p.Arch)
		}
	}
	return out
}

// vulnPackages are the released main packages.
func (w *Workspace) vulnPackages() []string {
	var out []string
	for _, m := range w.Proj.Mains {
		out = append(out, m.Pkg())
	}
	return out
}

// vulnDB is the database to read.
func (w *Workspace) vulnDB() string {
	if w.Cfg.Vuln.DB == "" {
		return vuln.DefaultDB
	}
	return w.Cfg.Vuln.DB
}

// vulnDBShown is the database as plans, logs and errors name it: without
// a user or token a mirror's URL may carry.
func (w *Workspace) vulnDBShown() string {
	db := w.vulnDB()
	if u, err := url.Parse(db); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return db
}

// vulnPlan is the gate's line in plans and release.json.
func (w *Workspace) vulnPlan() string {
	return fmt.Sprintf("govulncheck at symbol level over %s for %s against %s: fails on a reachable vulnerability",
		strings.Join(w.vulnPackages(), " "), strings.Join(w.vulnPlatforms(), ", "), w.vulnDBShown())
}

// VulnCheck is the vulnerability gate: govulncheck over the released main
// packages, for each operating system of the build matrix, against the
// configured database. It prints every finding with its ID, module,
// versions, call path and fix, and fails on a reachable one that
// Vuln.Allow does not accept, or when the database cannot be read.
func (w *Workspace) VulnCheck(ctx context.Context) error {
	const target = "go:vuln"
	if w.Cfg.Vuln.Off {
		w.Logf(target, "skipped: HOIST_VULN=off (Vuln.Off)")
		return nil
	}
	start := time.Now()
	db := w.vulnDB()
	if db == config.ModuleVulnDB || strings.HasPrefix(db, config.ModuleVulnDB+"@") {
		if w.Env.CacheDir == "" {
			return errors.New("HOIST_VULN_DB=module needs a cache directory: set HOME or XDG_CACHE_HOME")
		}
		_, version, _ := strings.Cut(db, "@")
		w.Logf(target, "reading the vulnerability database from %s through the Go module proxy", vuln.ModulePath)
		url, resolved, err := vuln.ModuleDB(ctx, filepath.Join(w.Env.CacheDir, "vulndb"), version, nil)
		if err != nil {
			return w.explainVulnDB(db, err)
		}
		db = url
		w.Logf(target, "database %s@%s", vuln.ModulePath, resolved)
	}
	w.Logf(target, "%s", w.vulnPlan())
	rep, err := vuln.Scan(ctx, vuln.WithDB(db), vuln.WithDir(w.Cfg.Dir), vuln.WithPackages(w.vulnPackages()...), vuln.WithPlatforms(w.vulnPlatforms()...))
	if err != nil {
		return w.explainVulnDB(w.vulnDB(), err)
	}
	if shown := w.vulnDBShown(); shown != db {
		rep.DB = shown
	}
	allow := make([]vuln.Allow, len(w.Cfg.Vuln.Allow))
	for i, a := range w.Cfg.Vuln.Allow {
		allow[i] = vuln.Allow{ID: a.ID, Reason: a.Reason, Until: a.Until}
	}
	out := w.Writer(target)
	err = rep.Gate(out, allow, now())
	w.Logf(target, "done in %s", time.Since(start).Round(time.Millisecond))
	return err
}

// explainVulnDB turns an unreadable database into the message that says
// how to point the gate elsewhere or skip it on purpose.
func (w *Workspace) explainVulnDB(db string, err error) error {
	if !errors.Is(err, vuln.ErrDBUnreachable) {
		return err
	}
	alt := "HOIST_VULN_DB=module (the same database from the golang.org/x/vulndb module, through GOPROXY)"
	if db == config.ModuleVulnDB || strings.HasPrefix(db, config.ModuleVulnDB+"@") {
		alt = "HOIST_VULN_DB=https://vuln.go.dev, or a file:/// copy of the database"
	}
	if shown := w.vulnDBShown(); shown != db {
		// The error may quote the URL it failed on.
		err = &rewordedError{msg: strings.ReplaceAll(err.Error(), db, shown), err: err}
		return fmt.Errorf("the vulnerability gate cannot read its database %s, so it cannot vouch for the build: %w; point it elsewhere with %s, or skip the gate on purpose with HOIST_VULN=off", shown, err, alt)
	}
	return fmt.Errorf("the vulnerability gate cannot read its database %s, so it cannot vouch for the build: %w; point it elsewhere with %s, or skip the gate on purpose with HOIST_VULN=off", db, err, alt)
}

// rewordedError shows msg in place of err's own text, which may quote a
// secret, and still unwraps to err.
type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }
