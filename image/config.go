package image

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Binary is one already-compiled executable, as the go:build step left it in
// dist/<name>_<os>_<arch>[_<variant>]/<name>.
type Binary struct {
	// Name is the file name inside the image, under /usr/local/bin.
	// Default: the base name of Path.
	Name string
	// Platform is the platform the binary was compiled for. Only linux
	// binaries go into images; others are reported in Result.Skipped.
	Platform v1.Platform
	// Path is the binary on the local disk.
	Path string
}

// File copies something from the local disk into the image's extra-files
// layer, for example config files or static assets.
type File struct {
	// Src is a local file or directory. A directory is copied recursively
	// in sorted order; symlinks are followed, and a symlink to a directory
	// inside it is refused to rule out loops.
	Src string
	// Dst is the absolute destination; for a directory Src, the directory
	// that receives its contents.
	Dst string
	// Mode is applied to every regular file copied. Default: 0755 if the
	// source has any execute bit, else 0644. Directories created for a
	// directory Src are 0755. Source modes are not copied otherwise,
	// because they depend on the umask of whoever checked out the repo.
	Mode fs.FileMode
	// UID and GID own the copied files and directories. Default: 0 (root).
	UID, GID int
}

// Dir creates an empty directory in the image, typically a writable data
// directory for a service that runs as nonroot.
type Dir struct {
	// Path is the absolute directory path.
	Path string
	// Mode is the directory mode; the sticky, setgid and setuid bits may be
	// given as fs.ModeSticky etc. or as octal 0o1000 etc. Default: 0755.
	Mode fs.FileMode
	// UID and GID own the directory. Default: 0 (root); use NonrootUID for
	// a directory the default user writes to.
	UID, GID int
}

// Healthcheck asks Docker to run the main binary with -healthcheck. The
// service is expected to answer that flag by probing itself and exiting 0
// when healthy. OCI configs have no such field, so only Docker-compatible
// runtimes use it; Kubernetes ignores it.
type Healthcheck struct {
	// Interval between checks. Default (zero): Docker's, 30s.
	Interval time.Duration
	// Timeout of one check. Default (zero): Docker's, 30s.
	Timeout time.Duration
	// StartPeriod during which failures do not count. Default (zero): 0.
	StartPeriod time.Duration
	// Retries before the container is marked unhealthy. Default (zero): 3.
	Retries int
}

// Config describes the image around the binaries. The zero value is a valid
// configuration for a single binary on the built-in base.
type Config struct {
	// Base is the base image. Default (""): the built-in static base,
	// generated in code (see BuiltinBaseName). Otherwise a registry
	// reference ("repo:tag", "repo@sha256:...") resolved with the keychain,
	// or an OCI image layout "oci:DIR", "oci:DIR:REFNAME" (the manifest whose
	// org.opencontainers.image.ref.name is REFNAME) or "oci:DIR@sha256:...".
	// A multi-platform base must cover every linux platform built.
	Base string
	// Main is the binary the entrypoint and healthcheck run. Default: the
	// only binary name; required when there are several.
	Main string
	// Entrypoint overrides the default [<Main's path>]. Its program must be
	// a file the image holds: a binary, one of Files, or anything on a
	// base other than the built-in one; a bare name is looked up in PATH.
	// Anything else is refused before the image is built (see
	// CheckEntrypoint).
	Entrypoint []string
	// Paths puts binaries elsewhere than /usr/local/bin: binary name to
	// its path in the image, absolute ("/app", "/usr/bin/app") or relative
	// to WorkDir ("app" for a binary run as ./app from the working
	// directory).
	Paths map[string]string
	// Cmd holds the default arguments after the entrypoint. Default: none
	// (a base image's Cmd is dropped, as Docker does when the entrypoint
	// changes).
	Cmd []string
	// Env entries "KEY=VALUE" are added to the base's environment; a key
	// already there is replaced in place. The built-in base sets PATH and
	// SSL_CERT_FILE.
	Env []string
	// User is "uid", "uid:gid" or a name the base's /etc/passwd knows.
	// Default: DefaultUser ("65532:65532", nonroot).
	User string
	// WorkDir is the absolute working directory. Default: DefaultWorkDir.
	WorkDir string
	// ExposedPorts are "8080/tcp", "53/udp" or "8080" (meaning tcp).
	ExposedPorts []string
	// Labels are added to the config's labels on top of the base's. The
	// org.opencontainers.image.* keys that hoist sets are refused here.
	Labels map[string]string
	// Annotations are extra manifest and index annotations. The keys that
	// hoist sets itself are refused here.
	Annotations map[string]string
	// Version, Revision, Source and Title fill the standard
	// org.opencontainers.image.* annotations and labels. Empty values are
	// left out, except Title, which defaults to Main.
	Version, Revision, Source, Title string
	// Files are copied into an extra layer above the binaries.
	Files []File
	// Dirs are created in the extra layer, after Files; a Dir may restate
	// the owner and mode of a directory that Files created. Parent
	// directories nobody listed are 0755 root, except those the built-in
	// base defines (/tmp 1777, /home/nonroot owned by nonroot, /root 0700),
	// which keep the base's metadata whatever Base is.
	Dirs []Dir
	// Healthcheck, when set, adds a Docker healthcheck that runs
	// ["/usr/local/bin/<Main>", "-healthcheck"].
	Healthcheck *Healthcheck
	// Created is the commit time. It is the config's created time, every
	// history entry's time, every tar entry's mtime and the created
	// annotation, truncated to seconds. Default (zero): the Unix epoch,
	// never the wall clock, so that builds stay reproducible.
	Created time.Time
	// TZData adds the time zone database to the built-in base under
	// /usr/share/zoneinfo, unpacked from $GOROOT/lib/time/zoneinfo.zip (see
	// WithGoRoot). About 100 KB compressed. Refused with another Base, which
	// should bring its own.
	TZData bool
}

// Annotation keys that hoist sets on the index, on every manifest, and as
// config labels.
const (
	AnnotationVersion    = "org.opencontainers.image.version"
	AnnotationRevision   = "org.opencontainers.image.revision"
	AnnotationSource     = "org.opencontainers.image.source"
	AnnotationCreated    = "org.opencontainers.image.created"
	AnnotationTitle      = "org.opencontainers.image.title"
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
	// AnnotationRefName names an index inside an OCI layout; WriteLayout
	// sets it, and `skopeo inspect oci:DIR:NAME` looks for it.
	AnnotationRefName = "org.opencontainers.image.ref.name"
)

var reservedKeys = []string{AnnotationVersion, AnnotationRevision, AnnotationSource, AnnotationCreated,
	AnnotationTitle, AnnotationBaseName, AnnotationBaseDigest, AnnotationRefName}

// plan is Config checked and with its defaults filled in.
type plan struct {
	cfg        Config
	created    time.Time
	main       string
	entrypoint []string
	user       string
	workdir    string
	ports      map[string]struct{}
	healthTest []string
}

func (c Config) plan(names []string) (*plan, error) {
	p := &plan{cfg: c, created: c.Created.UTC().Truncate(time.Second)}
	if c.Created.IsZero() {
		p.created = time.Unix(0, 0).UTC()
	}
	p.main = c.Main
	switch {
	case p.main != "":
		if !contains(names, p.main) {
			return nil, fmt.Errorf("Config.Main %q is not among the binaries (%s): set Main to one of them", p.main, strings.Join(names, ", "))
		}
	case len(names) == 1:
		p.main = names[0]
	default:
		return nil, fmt.Errorf("several binaries (%s) and no Config.Main: set Main to the one the entrypoint runs", strings.Join(names, ", "))
	}
	p.workdir = c.WorkDir
	if p.workdir == "" {
		p.workdir = DefaultWorkDir
	}
	if !strings.HasPrefix(p.workdir, "/") {
		return nil, fmt.Errorf("Config.WorkDir %q: use an absolute path such as %s", p.workdir, DefaultWorkDir)
	}
	if err := c.CheckEntrypoint(names); err != nil {
		return nil, err
	}
	mainPath := c.BinaryPath(p.main)
	p.entrypoint = []string{mainPath}
	if c.Entrypoint != nil {
		p.entrypoint = c.Entrypoint
	}
	p.user = c.User
	if p.user == "" {
		p.user = DefaultUser
	}
	for _, kv := range c.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("Config.Env entry %q: write it as KEY=VALUE", kv)
		}
	}
	p.ports = map[string]struct{}{}
	for _, port := range c.ExposedPorts {
		norm, err := normalizePort(port)
		if err != nil {
			return nil, err
		}
		p.ports[norm] = struct{}{}
	}
	for _, m := range []struct {
		field string
		kv    map[string]string
	}{{"Labels", c.Labels}, {"Annotations", c.Annotations}} {
		for _, k := range reservedKeys {
			if _, ok := m.kv[k]; ok {
				return nil, fmt.Errorf("Config.%s sets %s, which hoist fills in itself: remove it (use Version, Revision, Source, Title or Created instead)", m.field, k)
			}
		}
	}
	if c.Healthcheck != nil {
		h := c.Healthcheck
		if h.Interval < 0 || h.Timeout < 0 || h.StartPeriod < 0 || h.Retries < 0 {
			return nil, fmt.Errorf("Config.Healthcheck %+v: durations and retries cannot be negative; use zero for Docker's default", *h)
		}
		p.healthTest = []string{"CMD", mainPath, "-healthcheck"}
	}
	if c.TZData && c.Base != "" {
		return nil, fmt.Errorf("Config.TZData needs the built-in base, but Base is %q: drop TZData and use a base that ships /usr/share/zoneinfo", c.Base)
	}
	return p, nil
}

// normalizePort turns "8080" into "8080/tcp" and checks the protocol, since
// runtimes silently ignore a malformed port.
func normalizePort(s string) (string, error) {
	num, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("Config.ExposedPorts entry %q: use a port 1-65535, optionally with /tcp, /udp or /sctp, as in \"8080/tcp\"", s)
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return "", fmt.Errorf("Config.ExposedPorts entry %q: protocol %q is not tcp, udp or sctp", s, proto)
	}
	return strconv.Itoa(n) + "/" + proto, nil
}

// mergeEnv replaces existing keys in place and appends new ones, keeping
// the base's order so that the config does not churn.
func mergeEnv(base, add []string) []string {
	out := append([]string(nil), base...)
	idx := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		idx[k] = i
	}
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// platformString is like v1.Platform.String but without os.version and
// features, which hoist never sets: "linux/arm/v7".
func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// workDir is the working directory the image will have.
func (c Config) workDir() string {
	if c.WorkDir == "" {
		return DefaultWorkDir
	}
	return c.WorkDir
}

// BinaryPath is where the binary name goes in the image: Paths[name],
// resolved against WorkDir when relative, else /usr/local/bin/name.
func (c Config) BinaryPath(name string) string {
	p, ok := c.Paths[name]
	if !ok || p == "" {
		return BinDir + "/" + name
	}
	if !path.IsAbs(p) {
		p = path.Join(c.workDir(), p)
	}
	return path.Clean(p)
}

// builtinPATH is the search path of the built-in base, in order.
var builtinPATH = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// CheckEntrypoint refuses, before anything is built, an image whose
// entrypoint names a program it will not hold, and paths that collide or
// are malformed. names are the binaries that go in. The program is
// resolved as the runtime does: an absolute path as is, one with a slash
// against WorkDir, a bare name through PATH. On the built-in base the
// image holds exactly the binaries and Files; on another base, whose
// contents hoist does not read, only a name that is clearly one of the
// binaries put elsewhere is refused.
func (c Config) CheckEntrypoint(names []string) error {
	where := map[string]string{} // path in the image -> binary
	for _, n := range names {
		if p, ok := c.Paths[n]; ok && (p == "" || strings.HasSuffix(p, "/") || path.Clean("/"+p) == "/") {
			return fmt.Errorf("Config.Paths[%q] = %q: give the binary's file path in the image, such as /app, /usr/bin/%s or %s (in the working directory)", n, p, n, n)
		}
		bp := c.BinaryPath(n)
		if other, dup := where[bp]; dup {
			return fmt.Errorf("binaries %s and %s both go to %s: give one of them another path in Config.Paths", other, n, bp)
		}
		where[bp] = n
	}
	for n := range c.Paths {
		if !contains(names, n) {
			return fmt.Errorf("Config.Paths names %q, which is not a binary of the image (%s)", n, strings.Join(names, ", "))
		}
	}
	if len(c.Entrypoint) == 0 {
		return nil
	}
	prog := c.Entrypoint[0]
	builtin := c.Base == ""
	holds := func(p string) bool {
		if _, ok := where[p]; ok {
			return true
		}
		for _, f := range c.Files {
			if d := path.Clean(f.Dst); p == d || strings.HasPrefix(p, d+"/") {
				return true
			}
		}
		return false
	}
	var hint []string
	for _, n := range names {
		hint = append(hint, c.BinaryPath(n))
	}
	fix := fmt.Sprintf("use one of %s, or put the binary there with Config.Paths", strings.Join(hint, ", "))
	if !strings.Contains(prog, "/") {
		dirs := builtinPATH
		for _, kv := range c.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				dirs = strings.Split(v, ":")
			}
		}
		for _, d := range dirs {
			if holds(path.Join(d, prog)) {
				return nil
			}
		}
		if builtin || contains(names, prog) {
			return fmt.Errorf("Config.Entrypoint runs %q, which is on no PATH directory of the image (%s): %s", prog, strings.Join(dirs, ":"), fix)
		}
		return nil
	}
	abs := prog
	if !path.IsAbs(abs) {
		abs = path.Join(c.workDir(), abs)
	}
	abs = path.Clean(abs)
	if holds(abs) {
		return nil
	}
	if builtin || contains(names, path.Base(abs)) {
		return fmt.Errorf("Config.Entrypoint runs %s, which the image will not hold (it would fail with \"stat %s: no such file or directory\"): %s", abs, abs, fix)
	}
	return nil
}
