package sbom

import (
	"sort"
	"strings"
)

// purl builds a package URL in the canonical form of the purl
// specification: every component percent-encoded except for ASCII letters,
// digits, ".-_~" and the colon, and qualifiers sorted by key with empty
// values dropped. The namespace may hold several "/"-separated segments;
// each is encoded on its own. It is used for the OS, OCI and component
// purls; Go module purls keep their older form (purlRef) so that
// per-binary SBOMs do not change.
type purl struct {
	typ, namespace, name, version string
	qualifiers                    map[string]string
}

func (p purl) String() string {
	var b strings.Builder
	b.WriteString("pkg:")
	b.WriteString(p.typ)
	b.WriteByte('/')
	if ns := strings.Trim(p.namespace, "/"); ns != "" {
		for _, seg := range strings.Split(ns, "/") {
			b.WriteString(purlEscape(seg))
			b.WriteByte('/')
		}
	}
	b.WriteString(purlEscape(p.name))
	if p.version != "" {
		b.WriteByte('@')
		b.WriteString(purlEscape(p.version))
	}
	keys := make([]string, 0, len(p.qualifiers))
	for k, v := range p.qualifiers {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(strings.ToLower(k))
		b.WriteByte('=')
		b.WriteString(purlEscape(p.qualifiers[k]))
	}
	return b.String()
}

// purlEscape percent-encodes s byte by byte, UTF-8 included, keeping what
// the purl specification lets stand: letters, digits, ".-_~" and ":".
func purlEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '-', c == '_', c == '~', c == ':':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	return b.String()
}
