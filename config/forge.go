package config

import (
	"fmt"
	"strings"
	"text/template"

	"github.com/hoistdev/hoist/forge"
)

// Forge configures the release page on the repository's forge (GitHub,
// GitLab, Gitea or Forgejo): a release for the new tag with the changelog
// as its notes and every archive, checksums.txt, SBOM, signature and the
// provenance statement as assets. It is made as a draft before the tag and
// published once the release commit and tag are pushed, so nobody sees
// half a release. The token comes from GITHUB_TOKEN, GITLAB_TOKEN or
// GITEA_TOKEN.
type Forge struct {
	// Kind is github, gitlab, gitea or forgejo; "auto" finds it from the
	// remote's host (github.com, gitlab.com, gitea.com, codeberg.org). The
	// empty default publishes no forge release. Env: HOIST_FORGE ("off"
	// turns it off).
	Kind string
	// URL is the forge's web address, for GitHub Enterprise and
	// self-hosted GitLab, Gitea or Forgejo, such as
	// https://git.example.com. Default: the remote's host over https (http
	// when the remote itself is http).
	URL string
	// Repository is OWNER/NAME (GROUP/SUBGROUP/NAME on GitLab). Default:
	// the remote's path.
	Repository string
	// Remote is the git remote the forge is read from and the release
	// commit and tag are pushed to. Default: "origin".
	Remote string
	// Draft leaves the release a draft for a person to publish; the tag is
	// pushed all the same.
	Draft bool
	// Prerelease is "auto" (the default: a semver prerelease such as
	// 1.2.0-rc.1 is one), "always" or "never".
	Prerelease string
	// Latest is "auto" (the default: the release is marked latest when it
	// is the newest stable version), "always" or "never". Only GitHub has
	// the flag; the other forges take the newest release.
	Latest string
	// Name is the release's title, a Go template over .Tag, .Version and
	// .Project. Default: "{{.Tag}}".
	Name string
	// Header and Footer are Markdown put before and after the changelog in
	// the release notes.
	Header, Footer string
}

// Enabled reports whether a forge release is configured.
func (f Forge) Enabled() bool { return f.Kind != "" && f.Kind != "off" }

func (f Forge) validate() []error {
	var errs []error
	if f.Enabled() && f.Kind != "auto" {
		if _, err := forge.ParseKind(f.Kind); err != nil {
			errs = append(errs, fmt.Errorf("Forge.Kind: %w, or auto to find it from the remote", err))
		}
	}
	for field, v := range map[string]string{"Forge.Prerelease": f.Prerelease, "Forge.Latest": f.Latest} {
		switch v {
		case "", "auto", "always", "never":
		default:
			errs = append(errs, fmt.Errorf("%s = %q: use auto, always or never", field, v))
		}
	}
	if f.Name != "" {
		if _, err := template.New("name").Option("missingkey=error").Parse(f.Name); err != nil {
			errs = append(errs, fmt.Errorf("Forge.Name = %q: %w", f.Name, err))
		}
	}
	if f.URL != "" && !strings.HasPrefix(f.URL, "https://") && !strings.HasPrefix(f.URL, "http://") {
		errs = append(errs, fmt.Errorf("Forge.URL = %q: give the forge's web address, such as https://git.example.com", f.URL))
	}
	if r := strings.Trim(f.Repository, "/"); f.Repository != "" && (!strings.Contains(r, "/") || strings.Contains(r, "//")) {
		errs = append(errs, fmt.Errorf("Forge.Repository = %q: give OWNER/NAME", f.Repository))
	}
	return errs
}
