package sbom

import (
	"bufio"
	"bytes"
	"cmp"
	"path"
	"slices"
	"strings"
)

// Where distributions keep their package databases and release files,
// as paths inside the image without the leading slash.
const (
	dpkgStatus     = "var/lib/dpkg/status"
	dpkgStatusDir  = "var/lib/dpkg/status.d/" // distroless: one file per package
	apkInstalled   = "lib/apk/db/installed"
	apkInstalled2  = "usr/lib/apk/db/installed" // where newer apk-tools keep it
	osReleaseEtc   = "etc/os-release"
	osReleaseUsr   = "usr/lib/os-release"
	maxMetadataLen = 64 << 20 // a database larger than this is not read
)

// isMetadataFile reports whether the layer reader must keep a file's
// content because a package database or the OS release lives there.
func isMetadataFile(name string) bool {
	switch name {
	case dpkgStatus, apkInstalled, apkInstalled2, osReleaseEtc, osReleaseUsr:
		return true
	}
	if rest, ok := strings.CutPrefix(name, dpkgStatusDir); ok {
		// status.d also holds <pkg>.md5sums lists, which describe no package.
		return rest != "" && !strings.Contains(rest, "/") && !strings.HasSuffix(rest, ".md5sums")
	}
	return false
}

// osPackage is one package an OS package database lists as installed.
type osPackage struct {
	typ           string // purl type: "deb" or "apk"
	name, version string
	arch          string
	source        string // source package (deb) or origin (apk), when it differs
	sourceVersion string
	license       string // as the database states it (apk only)
	db            string // the database it was read from, for the comment
}

// osRelease is what /etc/os-release says about the distribution.
type osRelease struct {
	id, versionID, prettyName string
}

// distro is the purl distro qualifier, "debian-12" or "alpine-3.20.3", or
// "" when the release is unknown.
func (r osRelease) distro() string {
	if r.id == "" || r.versionID == "" {
		return ""
	}
	return r.id + "-" + r.versionID
}

// parseOSRelease reads the KEY=value lines of an os-release file, whose
// values may be quoted in shell style.
func parseOSRelease(data []byte) osRelease {
	var r osRelease
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		v = unquoteShell(v)
		switch k {
		case "ID":
			r.id = strings.ToLower(v)
		case "VERSION_ID":
			r.versionID = v
		case "PRETTY_NAME":
			r.prettyName = v
		}
	}
	return r
}

func unquoteShell(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
		if v != "" && strings.Contains(v, `\`) {
			var b strings.Builder
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				b.WriteByte(v[i])
			}
			v = b.String()
		}
	}
	return v
}

// parseDpkg reads a dpkg status file, or one file of distroless's
// status.d, and returns the packages marked as installed. A stanza without
// a Status field counts as installed: distroless writes none.
func parseDpkg(data []byte, db string) []osPackage {
	var out []osPackage
	for _, stanza := range controlStanzas(data) {
		name := stanza["package"]
		if name == "" {
			continue
		}
		if st, ok := stanza["status"]; ok {
			if f := strings.Fields(st); len(f) == 0 || f[len(f)-1] != "installed" {
				continue
			}
		}
		p := osPackage{typ: "deb", name: name, version: stanza["version"], arch: stanza["architecture"], db: db}
		// Source is "name" or "name (version)"; either part may match the
		// binary package, and only a difference is worth recording.
		if src := stanza["source"]; src != "" {
			srcName, srcVersion, _ := strings.Cut(src, " ")
			srcVersion = strings.Trim(strings.TrimSpace(srcVersion), "()")
			p.source = srcName
			p.sourceVersion = cmp.Or(srcVersion, p.version)
		}
		out = append(out, p)
	}
	return out
}

// controlStanzas splits Debian control data into stanzas of lowercased
// field names. Continuation lines (starting with a space or tab) are
// folded into the field they continue; no field read here has any.
func controlStanzas(data []byte) []map[string]string {
	var out []map[string]string
	cur := map[string]string{}
	var last string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
			cur = map[string]string{}
		}
		last = ""
	}
	for line := range bytes.Lines(data) {
		l := strings.TrimRight(string(line), "\r\n")
		switch {
		case strings.TrimSpace(l) == "":
			flush()
		case l[0] == ' ' || l[0] == '\t':
			if last != "" {
				cur[last] += "\n" + strings.TrimSpace(l)
			}
		default:
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			cur[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

// parseApk reads Alpine's installed database: stanzas of "K:value" lines
// separated by blank lines, where P is the name, V the version, A the
// architecture, o the origin (source) package and L the license.
func parseApk(data []byte, db string) []osPackage {
	var out []osPackage
	var cur osPackage
	flush := func() {
		if cur.name != "" {
			cur.typ, cur.db = "apk", db
			if cur.source == cur.name {
				cur.source = ""
			}
			if cur.source != "" {
				cur.sourceVersion = cur.version
			}
			out = append(out, cur)
		}
		cur = osPackage{}
	}
	for line := range bytes.Lines(data) {
		l := strings.TrimRight(string(line), "\r\n")
		if l == "" {
			flush()
			continue
		}
		if len(l) < 2 || l[1] != ':' {
			continue
		}
		v := l[2:]
		switch l[0] {
		case 'P':
			cur.name = v
		case 'V':
			cur.version = v
		case 'A':
			cur.arch = v
		case 'o':
			cur.source = v
		case 'L':
			cur.license = v
		}
	}
	flush()
	return out
}

// osPackages reads every package database among the image's files and
// returns the packages sorted by type, name, architecture and version,
// with the distribution from os-release when one is present.
func osPackages(files map[string]*fileInfo) ([]osPackage, osRelease) {
	var rel osRelease
	// /etc/os-release is usually a symlink to /usr/lib/os-release, which
	// the flattened file list does not follow, so look at both.
	for _, name := range []string{osReleaseEtc, osReleaseUsr} {
		if f := files[name]; f != nil && f.data != nil {
			rel = parseOSRelease(f.data)
			break
		}
	}
	var pkgs []osPackage
	var names []string
	for name, f := range files {
		if f.data != nil && name != osReleaseEtc && name != osReleaseUsr {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		data := files[name].data
		switch {
		case name == apkInstalled || name == apkInstalled2:
			pkgs = append(pkgs, parseApk(data, "/"+name)...)
		case name == dpkgStatus || path.Dir(name)+"/" == dpkgStatusDir:
			pkgs = append(pkgs, parseDpkg(data, "/"+name)...)
		}
	}
	slices.SortStableFunc(pkgs, func(a, b osPackage) int {
		return cmp.Or(cmp.Compare(a.typ, b.typ), cmp.Compare(a.name, b.name), cmp.Compare(a.arch, b.arch), cmp.Compare(a.version, b.version))
	})
	// A package listed in two databases (status and status.d) is one
	// package.
	pkgs = slices.CompactFunc(pkgs, func(a, b osPackage) bool {
		return a.typ == b.typ && a.name == b.name && a.arch == b.arch && a.version == b.version
	})
	return pkgs, rel
}

// purl is pkg:deb/<vendor>/<name>@<version>?arch=..&distro=.. (or apk),
// where the vendor comes from os-release's ID and defaults to debian for
// dpkg and alpine for apk.
func (p osPackage) purl(rel osRelease) string {
	vendor := rel.id
	if vendor == "" {
		vendor = map[string]string{"deb": "debian", "apk": "alpine"}[p.typ]
	}
	return purl{
		typ:        p.typ,
		namespace:  vendor,
		name:       strings.ToLower(p.name),
		version:    p.version,
		qualifiers: map[string]string{"arch": p.arch, "distro": rel.distro()},
	}.String()
}
