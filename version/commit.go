package version

import (
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Commit is one commit message read as a Conventional Commit. Messages that
// do not follow the convention are kept with an empty Type so the changelog
// can still list them.
type Commit struct {
	// Hash is the full commit hash.
	Hash string `json:"hash"`
	// Type is the lower-cased commit type ("feat", "fix", ...), or "" when
	// the message is not a Conventional Commit.
	Type string `json:"type,omitempty"`
	// Scope is the text in parentheses after the type, if any.
	Scope string `json:"scope,omitempty"`
	// Breaking is set by "type!:" or by a BREAKING CHANGE footer.
	Breaking bool `json:"breaking,omitempty"`
	// BreakingNote is the text of the BREAKING CHANGE footer, which usually
	// says what users must change; empty when only "!" marked the commit.
	BreakingNote string `json:"breakingNote,omitempty"`
	// Subject is the description after "type(scope): ", or the whole first
	// line of a message that is not a Conventional Commit.
	Subject string `json:"subject"`
	// Body is everything after the first line, without surrounding blank
	// lines; footers are part of it.
	Body string `json:"body,omitempty"`
}

// ShortHash is the abbreviation the changelog shows; seven characters are
// what git prints by default for small repositories.
func (c Commit) ShortHash() string {
	if len(c.Hash) > 7 {
		return c.Hash[:7]
	}
	return c.Hash
}

// Conventional reports whether the message followed the convention.
func (c Commit) Conventional() bool { return c.Type != "" }

// header matches "type(scope)!: subject". The spec asks for exactly ": "
// after the type; extra spaces before the subject are tolerated.
var header = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_-]*)(?:\(([^()\r\n]*)\))?(!)?: +(\S.*)$`)

// breakingFooter matches the two spellings the spec allows; the token must be
// upper case.
var breakingFooter = regexp.MustCompile(`^BREAKING[ -]CHANGE: *(.*)$`)

// footerToken recognises the start of any footer, to know where a breaking
// change note spanning several lines ends.
var footerToken = regexp.MustCompile(`^(?:[A-Za-z-]+: |[A-Za-z-]+ #|BREAKING CHANGE: )`)

// ParseCommit reads a commit message. It never fails: a message that is not a
// Conventional Commit becomes a Commit with Type "" whose Subject is the
// first line, so it counts as an "other" change and never causes a release.
func ParseCommit(hash, message string) Commit {
	msg := strings.ReplaceAll(message, "\r\n", "\n")
	msg = strings.TrimLeft(msg, "\n")
	first, rest, _ := strings.Cut(msg, "\n")
	first = strings.TrimSpace(first)
	c := Commit{Hash: hash, Subject: first, Body: strings.Trim(rest, "\n")}
	m := header.FindStringSubmatch(first)
	if m == nil {
		return c
	}
	c.Type = strings.ToLower(m[1])
	c.Scope = strings.TrimSpace(m[2])
	c.Breaking = m[3] == "!"
	c.Subject = strings.TrimSpace(m[4])
	if note, ok := breakingNote(c.Body); ok {
		c.Breaking = true
		c.BreakingNote = note
	}
	return c
}

// breakingNote finds a BREAKING CHANGE footer and returns its text, which
// continues on following lines until a blank line or the next footer.
func breakingNote(body string) (string, bool) {
	lines := strings.Split(body, "\n")
	for i, line := range lines {
		m := breakingFooter.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		parts := []string{strings.TrimSpace(m[1])}
		for _, more := range lines[i+1:] {
			if strings.TrimSpace(more) == "" || footerToken.MatchString(more) {
				break
			}
			parts = append(parts, strings.TrimSpace(more))
		}
		return strings.TrimSpace(strings.Join(parts, " ")), true
	}
	return "", false
}

// LevelFor returns the release level the commits ask for, per the rules in
// the package doc: the strongest request wins, and while current is below
// 1.0.0 a breaking change only asks for a minor release. A nil current counts
// as 0.x.
func LevelFor(commits []Commit, current *semver.Version) Level {
	zeroMajor := current == nil || current.Major() == 0
	level := None
	for _, c := range commits {
		l := commitLevel(c)
		if l == Major && zeroMajor {
			l = Minor
		}
		level = max(level, l)
	}
	return level
}

func commitLevel(c Commit) Level {
	switch {
	case !c.Conventional():
		return None
	case c.Breaking:
		return Major
	case c.Type == "feat":
		return Minor
	case c.Type == "fix", c.Type == "perf":
		return Patch
	default:
		return None
	}
}
