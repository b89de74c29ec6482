package version

import (
	"fmt"
	"strings"
	"time"
)

// group is one changelog section. The order of groups is fixed so that the
// same commits always give the same text, and the changes users must act on
// come first.
type group struct {
	title string
	match func(Commit) bool
}

var groups = []group{
	{"Breaking changes", func(c Commit) bool { return c.Conventional() && c.Breaking }},
	{"Features", func(c Commit) bool { return c.Type == "feat" }},
	{"Bug fixes", func(c Commit) bool { return c.Type == "fix" }},
	{"Performance", func(c Commit) bool { return c.Type == "perf" }},
	{"Other changes", func(Commit) bool { return true }},
}

// grouped sorts commits into the groups, each commit into the first group
// that takes it, keeping the given order within a group.
func grouped(commits []Commit) [][]Commit {
	out := make([][]Commit, len(groups))
	for _, c := range commits {
		for i, g := range groups {
			if g.match(c) {
				out[i] = append(out[i], c)
				break
			}
		}
	}
	return out
}

// entry is one list line: "scope: subject (shorthash)".
func entry(c Commit) string {
	var b strings.Builder
	b.WriteString("- ")
	if c.Scope != "" {
		b.WriteString(c.Scope + ": ")
	}
	b.WriteString(c.Subject)
	if h := c.ShortHash(); h != "" {
		b.WriteString(" (" + h + ")")
	}
	if c.Breaking && c.BreakingNote != "" && c.BreakingNote != c.Subject {
		b.WriteString("\n  " + c.BreakingNote)
	}
	return b.String()
}

// Changelog renders the release notes for next (usually its tag name) in
// Markdown: a heading with the date, then the commits grouped as Breaking
// changes, Features, Bug fixes, Performance and Other changes, each line
// "- scope: subject (shorthash)". Commits keep their given order within a
// group. previousTag "" marks a first release; a zero date is left out.
func Changelog(previousTag, next string, commits []Commit, date time.Time) string {
	var b strings.Builder
	b.WriteString("## " + next)
	if !date.IsZero() {
		b.WriteString(" (" + date.UTC().Format(time.DateOnly) + ")")
	}
	b.WriteString("\n\n")
	if previousTag == "" {
		b.WriteString("First release.\n")
	} else {
		fmt.Fprintf(&b, "Changes since %s.\n", previousTag)
	}
	if len(commits) == 0 {
		b.WriteString("\nNo changes.\n")
		return b.String()
	}
	for i, cs := range grouped(commits) {
		if len(cs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n", groups[i].title)
		for _, c := range cs {
			b.WriteString(entry(c) + "\n")
		}
	}
	return b.String()
}

// TagMessage renders the message of the annotated release tag: "Release
// <tag>", a blank line, then the same groups as Changelog as plain text, since
// `git show` does not render Markdown and git would strip "#" headings.
func TagMessage(tag string, commits []Commit) string {
	var b strings.Builder
	b.WriteString("Release " + tag + "\n")
	for i, cs := range grouped(commits) {
		if len(cs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", groups[i].title)
		for _, c := range cs {
			b.WriteString(entry(c) + "\n")
		}
	}
	return b.String()
}
