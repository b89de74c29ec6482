// Package adopt is hoist init: it writes the magefiles module for a
// repository that has none, carrying over what hoist can express from an
// existing .goreleaser.yaml and Dockerfile, and says what it carried over
// and what it could not, with why. Settings equal to hoist's defaults are
// left out, so the magefile stays as short as the repository allows.
package adopt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/format"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/version"
)

// HoistModule is the module path the magefiles require.
const HoistModule = "github.com/hoistdev/hoist"

// Tools are the tool directives the magefiles module lists.
var Tools = []string{HoistModule + "/cmd/hoist", HoistModule + "/cmd/hoist-registry", HoistModule + "/cmd/mage"}

// Note is one line of the report: a setting and where it came from.
type Note struct {
	// What names the setting, e.g. "port 8080/tcp".
	What string
	// From is where it was read, e.g. "Dockerfile:12 EXPOSE".
	From string
	// Why says why it was not carried over; empty for carried ones.
	Why string
}

// Result is what init found and will write.
type Result struct {
	// Root is the repository root.
	Root string
	// Module is the root module's path.
	Module string
	// Sources are the files read: .goreleaser.yaml, Dockerfile.
	Sources []string
	// Carried are the settings carried over.
	Carried []Note
	// NotCarried are the settings hoist cannot express, with why.
	NotCarried []Note
	// Notes are remarks that are not one setting.
	Notes []string
	// Settings are the Go expressions passed to targets.Set.
	Settings []string
	// Magefile is magefiles/magefile.go.
	Magefile string
	// Version is what VERSION will hold when WriteVersion is set.
	Version string
	// VersionFrom says where Version came from.
	VersionFrom string
	// WriteVersion is set when the repository has no VERSION file.
	WriteVersion bool
	// IgnoreDist is set when .gitignore does not cover dist/ yet.
	IgnoreDist bool
	// TagScheme describes the tag scheme hoist will find at run time.
	TagScheme string
}

func (r *Result) carry(what, from string) {
	r.Carried = append(r.Carried, Note{What: what, From: from})
}

func (r *Result) skip(what, from, why string) {
	r.NotCarried = append(r.NotCarried, Note{What: what, From: from, Why: why})
}

func (r *Result) note(s string) {
	if !slices.Contains(r.Notes, s) {
		r.Notes = append(r.Notes, s)
	}
}

// settings collects what the magefile will set, and the defaults they are
// compared with.
type settings struct {
	defaultName     string
	discoveredMains []string
	discovered      project.Vars

	name, imageName, base, user, workdir, tagPrefix                      string
	mains, platforms, registries, ports, env, cmd, archiveFiles, ldflags []string
	buildTags, binaries                                                  []string
	latest, minor, tzdata                                                bool
	forge, forgeRepo, forgeURL, forgeName                                string
	forgeDraft, universal, sourceArchive                                 bool
	renames                                                              [][2]string // directory name -> binary name
	vars                                                                 project.Vars
	customVars                                                           bool
}

var defaultPlatforms = func() []string {
	var out []string
	for _, p := range platform.Defaults() {
		out = append(out, p.String())
	}
	return out
}()

func (s *settings) projectName() string {
	if s.name != "" {
		return s.name
	}
	return s.defaultName
}

// isBinary reports whether name is a binary the build produces, as a
// GoReleaser Dockerfile copies it from the build context.
func (s *settings) isBinary(name string) bool {
	for _, m := range append(slices.Clone(s.discoveredMains), s.mains...) {
		if binaryName(m, s.projectName()) == name {
			return true
		}
	}
	return slices.Contains(s.binaries, name)
}

// tagPrefixGuess is the monorepo prefix, when one was found.
func (s *settings) tagPrefixGuess() string { return s.tagPrefix }

// discoveredVar reports whether hoist's own discovery already stamps name
// as kind ("version", "commit" or "date").
func (s *settings) discoveredVar(kind, name string) bool {
	var list []string
	switch kind {
	case "version":
		list = s.discovered.Version
	case "commit":
		list = s.discovered.Commit
	case "date":
		list = s.discovered.Date
	}
	return slices.Contains(list, name)
}

// recordVar notes a stamp variable GoReleaser sets. Once one of them is
// not found by discovery (customVars), all are written, since naming any
// replaces discovery.
func (s *settings) recordVar(kind, name string) {
	add := func(l *[]string) {
		if !slices.Contains(*l, name) {
			*l = append(*l, name)
		}
	}
	switch kind {
	case "version":
		add(&s.vars.Version)
	case "commit":
		add(&s.vars.Commit)
	case "date":
		add(&s.vars.Date)
	}
}

// pkgDir is a GoReleaser build's main package as hoist writes it.
func pkgDir(dir, main string) string {
	if main == "" {
		main = "."
	}
	p := filepath.ToSlash(filepath.Clean(filepath.Join(dir, main)))
	if strings.HasSuffix(p, ".go") {
		p = filepath.ToSlash(filepath.Dir(p))
	}
	if p == "." {
		return "."
	}
	return "./" + strings.TrimPrefix(p, "./")
}

// binaryName is the name hoist gives the binary of a main package.
func binaryName(dir, projectName string) string {
	if dir == "." {
		return projectName
	}
	return filepath.Base(dir)
}

// Plan reads the repository at root and decides what init writes.
func Plan(ctx context.Context, root string) (*Result, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("hoist init: %w", err)
	}
	module, err := project.ModulePath(abs)
	if err != nil {
		return nil, fmt.Errorf("hoist init runs at the root of a Go module: %w", err)
	}
	r := &Result{Root: abs, Module: module}
	s := &settings{defaultName: project.NameFromModule(module)}
	if p, err := project.Discover(abs); err == nil {
		for _, m := range p.Mains {
			s.discoveredMains = append(s.discoveredMains, m.Pkg())
			if v, err := p.DiscoverVars(m); err == nil {
				s.discovered.Version = append(s.discovered.Version, v.Version...)
				s.discovered.Commit = append(s.discovered.Commit, v.Commit...)
				s.discovered.Date = append(s.discovered.Date, v.Date...)
			}
		}
	}
	supported, _ := platform.Supported(ctx, "go")
	if err := r.readGoReleaser(ctx, abs, s, supported); err != nil {
		return nil, err
	}
	if err := r.readDockerfile(abs, s); err != nil {
		return nil, err
	}
	if s.tzdata && s.base != "" {
		r.skip("time zone data", "Dockerfile", "it comes with the base "+s.base+"; hoist adds it to its own base only")
		s.tzdata = false
	}
	if err := r.readVersion(ctx, s); err != nil {
		return nil, err
	}
	r.IgnoreDist = !ignored(ctx, abs, "dist/x")
	r.Settings = s.exprs()
	r.Magefile, err = magefile(r.Settings)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// readVersion picks VERSION and describes the tag scheme.
func (r *Result) readVersion(ctx context.Context, s *settings) error {
	if s.tagPrefix != "" {
		r.TagScheme = s.tagPrefix + "X.Y.Z (monorepo prefix, written)"
	}
	prefix, from, err := version.DiscoverPrefix(ctx, r.Root)
	if err != nil {
		return fmt.Errorf("hoist init: %w", err)
	}
	if s.tagPrefix != "" {
		prefix = s.tagPrefix
	} else if from != "" {
		r.TagScheme = fmt.Sprintf("%sX.Y.Z, as tag %s (found at run time; nothing written)", prefix, from)
	} else {
		r.TagScheme = "vX.Y.Z (no version tags yet)"
	}
	if _, err := os.Stat(filepath.Join(r.Root, "VERSION")); err == nil {
		return nil
	}
	r.WriteVersion = true
	latest, err := version.LatestTag(ctx, r.Root, prefix)
	if err != nil {
		return fmt.Errorf("hoist init: %w", err)
	}
	if latest == nil {
		r.Version, r.VersionFrom = "0.1.0", "no release tags yet"
		return nil
	}
	r.Version, r.VersionFrom = latest.Version.String(), "the latest release, tag "+latest.Name
	return nil
}

// ignored reports whether git ignores path in the repository.
func ignored(ctx context.Context, root, path string) bool {
	cmd := exec.CommandContext(ctx, "git", "-C", root, "check-ignore", "-q", path)
	return cmd.Run() == nil
}

// exprs renders the settings as targets.Set arguments, in a fixed order.
func (s *settings) exprs() []string {
	var out []string
	strs := func(fn string, vals []string) {
		if len(vals) == 0 {
			return
		}
		q := make([]string, len(vals))
		for i, v := range vals {
			q[i] = strconv.Quote(v)
		}
		out = append(out, "targets."+fn+"("+strings.Join(q, ", ")+")")
	}
	str := func(fn, v string) {
		if v != "" {
			strs(fn, []string{v})
		}
	}
	str("Name", s.name)
	strs("Mains", s.mains)
	strs("Platforms", s.platforms)
	strs("BuildTags", s.buildTags)
	strs("LDFlags", s.ldflags)
	if s.customVars {
		strs("VersionVars", s.vars.Version)
		strs("CommitVars", s.vars.Commit)
		strs("DateVars", s.vars.Date)
	}
	strs("Registries", s.registries)
	switch {
	case s.latest && s.minor:
		out = append(out, "targets.FloatingTags")
	case s.latest:
		out = append(out, "targets.LatestTag")
	case s.minor:
		out = append(out, "targets.MinorTag")
	}
	str("TagPrefix", s.tagPrefix)
	str("ImageName", s.imageName)
	str("Base", s.base)
	str("User", s.user)
	str("WorkDir", s.workdir)
	strs("Ports", s.ports)
	strs("ImageEnv", s.env)
	strs("Cmd", s.cmd)
	if s.tzdata {
		out = append(out, "targets.TZData")
	}
	strs("ArchiveFiles", s.archiveFiles)
	str("Forge", s.forge)
	str("ForgeRepository", s.forgeRepo)
	str("ForgeURL", s.forgeURL)
	str("ForgeName", s.forgeName)
	if s.forgeDraft {
		out = append(out, "targets.ForgeDraft")
	}
	for _, r := range s.renames {
		out = append(out, "targets.BinaryName("+strconv.Quote(r[0])+", "+strconv.Quote(r[1])+")")
	}
	if s.universal {
		out = append(out, "targets.Universal")
	}
	if s.sourceArchive {
		out = append(out, "targets.SourceArchive")
	}
	return out
}

// oneLine is the longest init function gofmt keeps on one line; wideLine
// is the longest single targets.Set call before each setting gets a line.
const (
	oneLine  = 100
	wideLine = 120
)

// magefile writes magefiles/magefile.go for the settings.
func magefile(settings []string) (string, error) {
	var b strings.Builder
	b.WriteString("//go:build mage\n\npackage main\n\nimport (\n")
	if len(settings) == 0 {
		b.WriteString("\t_ \"" + HoistModule + "/targets\" //mage:import\n")
	} else {
		b.WriteString("\t\"" + HoistModule + "/targets\" //mage:import\n")
	}
	b.WriteString("\t_ \"" + HoistModule + "/targets/release\" //mage:import\n)\n")
	if len(settings) > 0 {
		call := "targets.Set(" + strings.Join(settings, ", ") + ")"
		switch {
		case len("func init() { "+call+" }") <= oneLine:
			b.WriteString("\nfunc init() { " + call + " }\n")
		case len("\t"+call) <= wideLine:
			b.WriteString("\nfunc init() {\n\t" + call + "\n}\n")
		default:
			b.WriteString("\nfunc init() {\n\ttargets.Set(\n")
			for _, s := range settings {
				b.WriteString("\t\t" + s + ",\n")
			}
			b.WriteString("\t)\n}\n")
		}
	}
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		return "", fmt.Errorf("hoist init: format the magefile: %w", err)
	}
	return string(src), nil
}

// Options configures Write.
type Options struct {
	// Hoist is the hoist version the magefiles require. Default: latest.
	Hoist string
	// Replace points the requirement at a local hoist checkout.
	Replace string
	// Force replaces an existing magefiles/ directory.
	Force bool
	// Env is the environment of the go commands. Default: os.Environ().
	Env []string
	// Log receives the go commands' output.
	Log io.Writer
}

// Write creates magefiles/ (magefile.go, go.mod, go.sum), VERSION and the
// .gitignore entry. Anything refused is refused before a file is written;
// a go command that fails takes back every file Write wrote.
func Write(ctx context.Context, r *Result, opts Options) (err error) {
	dir := filepath.Join(r.Root, "magefiles")
	if _, statErr := os.Stat(dir); statErr == nil && !opts.Force {
		return errors.New("magefiles/ already exists; move it aside, or rerun with -force to replace it")
	}
	goVersion, err := goLine(r.Root, opts.Replace)
	if err != nil {
		return err
	}
	backup, err := os.MkdirTemp("", "hoist-init-")
	if err != nil {
		return fmt.Errorf("hoist init: %w", err)
	}
	defer os.RemoveAll(backup)
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	if _, statErr := os.Stat(dir); statErr == nil {
		if err := os.Rename(dir, filepath.Join(backup, "magefiles")); err != nil {
			return fmt.Errorf("hoist init: move the old magefiles/ aside: %w", err)
		}
		undo = append(undo, func() { _ = os.RemoveAll(dir); _ = os.Rename(filepath.Join(backup, "magefiles"), dir) })
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("hoist init: %w", err)
	}
	undo = append(undo, func() { _ = os.RemoveAll(dir) })

	mod := &modfile.File{}
	if err := mod.AddModuleStmt(r.Module + "/magefiles"); err != nil {
		return fmt.Errorf("hoist init: %w", err)
	}
	if err := mod.AddGoStmt(goVersion); err != nil {
		return fmt.Errorf("hoist init: %w", err)
	}
	if opts.Replace != "" {
		abs, err := filepath.Abs(opts.Replace)
		if err != nil {
			return fmt.Errorf("hoist init: %w", err)
		}
		_ = mod.AddRequire(HoistModule, "v0.0.0")
		_ = mod.AddReplace(HoistModule, "", abs, "")
	}
	for _, t := range Tools {
		_ = mod.AddTool(t)
	}
	data, err := mod.Format()
	if err != nil {
		return fmt.Errorf("hoist init: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), data, 0o644); err != nil {
		return fmt.Errorf("hoist init: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "magefile.go"), []byte(r.Magefile), 0o644); err != nil {
		return fmt.Errorf("hoist init: %w", err)
	}
	gocmd := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir, cmd.Env = dir, opts.Env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go %s in magefiles/: %w\n%s\nnothing was written; check the module proxy (GOPROXY) or network, then rerun hoist init",
				strings.Join(args, " "), err, strings.TrimSpace(out.String()))
		}
		if opts.Log != nil {
			_, _ = opts.Log.Write(out.Bytes())
		}
		return nil
	}
	if opts.Replace == "" {
		v := opts.Hoist
		if v == "" {
			v = "latest"
		}
		if err := gocmd("get", HoistModule+"@"+v); err != nil {
			return err
		}
	}
	if err := gocmd("mod", "tidy"); err != nil {
		return err
	}
	if r.WriteVersion {
		path := filepath.Join(r.Root, "VERSION")
		if err := os.WriteFile(path, []byte(r.Version+"\n"), 0o644); err != nil {
			return fmt.Errorf("hoist init: %w", err)
		}
		undo = append(undo, func() { _ = os.Remove(path) })
	}
	if r.IgnoreDist {
		path := filepath.Join(r.Root, ".gitignore")
		old, readErr := os.ReadFile(path)
		content := old
		if len(content) > 0 && !bytes.HasSuffix(content, []byte("\n")) {
			content = append(content, '\n')
		}
		content = append(content, "/dist/\n"...)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return fmt.Errorf("hoist init: %w", err)
		}
		undo = append(undo, func() {
			if readErr != nil {
				_ = os.Remove(path)
			} else {
				_ = os.WriteFile(path, old, 0o644)
			}
		})
	}
	return nil
}

// goLine is the go directive of the magefiles module: the newest of the
// root module's, the local hoist checkout's and 1.24, the first Go with
// tool directives.
func goLine(root, replace string) (string, error) {
	v := "1.24"
	for _, dir := range []string{root, replace} {
		if dir == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			return "", fmt.Errorf("hoist init: %w", err)
		}
		f, err := modfile.ParseLax("go.mod", data, nil)
		if err != nil {
			return "", fmt.Errorf("hoist init: %w", err)
		}
		if f.Go != nil && newerGo(f.Go.Version, v) {
			v = f.Go.Version
		}
	}
	return v, nil
}

// newerGo compares Go versions such as 1.24 and 1.26.0.
func newerGo(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x > y
		}
	}
	return false
}

// Report prints what Plan found, for the terminal.
func (r *Result) Report(w io.Writer) {
	if len(r.Sources) > 0 {
		fmt.Fprintf(w, "hoist init: read %s\n", strings.Join(r.Sources, ", "))
	} else {
		fmt.Fprintln(w, "hoist init: no .goreleaser.yaml or Dockerfile here; hoist's conventions apply")
	}
	width := 0
	for _, n := range slices.Concat(r.Carried, r.NotCarried) {
		width = max(width, len(n.What))
	}
	width = min(width, 48)
	if len(r.Carried) > 0 {
		fmt.Fprintln(w, "carried over:")
		for _, n := range r.Carried {
			fmt.Fprintf(w, "  %-*s  from %s\n", width, n.What, n.From)
		}
	}
	if len(r.NotCarried) > 0 {
		fmt.Fprintln(w, "not carried over:")
		for _, n := range r.NotCarried {
			fmt.Fprintf(w, "  %-*s  from %s: %s\n", width, n.What, n.From, n.Why)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if r.TagScheme != "" {
		fmt.Fprintf(w, "tags: %s\n", r.TagScheme)
	}
}
