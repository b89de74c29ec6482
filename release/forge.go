package release

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/forge"
)

// forgeTarget is the forge a release publishes to, as configured and
// found from the remote.
type forgeTarget struct {
	repo   forge.Repo
	remote string // the git remote's name
	client forge.Client
	token  string
}

// forgeAssetTypes are the artifacts a forge release carries.
var forgeAssetTypes = []artifact.Type{artifact.Archive, artifact.Checksums, artifact.SBOM, artifact.Signature, artifact.Provenance, artifact.PublicKey}

// forgeHTTP is the HTTP client of the forge APIs. It has no overall
// timeout, which would cut off the upload of a large archive on a slow
// link; the run's context ends a request, and a server that stops
// answering is given up on after two minutes of silence.
var forgeHTTP = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	TLSHandshakeTimeout:   30 * time.Second,
	ResponseHeaderTimeout: 2 * time.Minute,
	IdleConnTimeout:       90 * time.Second,
}}

// forge resolves the configured forge once per workspace: nil when none
// is configured, an error that names the setting to fix otherwise.
func (w *Workspace) forge(ctx context.Context) (*forgeTarget, error) {
	w.forgeMu.Lock()
	defer w.forgeMu.Unlock()
	if w.forgeDone {
		return w.forgeT, w.forgeErr
	}
	w.forgeT, w.forgeErr = w.resolveForge(ctx)
	w.forgeDone = true
	return w.forgeT, w.forgeErr
}

// forgeRemote is the git remote a forge release pushes to, or "" when
// no forge is configured.
func (w *Workspace) forgeRemote() string {
	if !w.Cfg.Forge.Enabled() {
		return ""
	}
	if w.Cfg.Forge.Remote != "" {
		return w.Cfg.Forge.Remote
	}
	return "origin"
}

func (w *Workspace) resolveForge(ctx context.Context) (*forgeTarget, error) {
	f := w.Cfg.Forge
	remote := w.forgeRemote()
	if remote == "" {
		return nil, nil
	}
	url, err := git(ctx, w.Cfg.Dir, "remote", "get-url", remote)
	if err != nil {
		return nil, fmt.Errorf("a forge release is configured (Forge.Kind=%s) but the git remote %q does not exist: add it (git remote add %s URL) or name another with Forge.Remote", f.Kind, remote, remote)
	}
	r, perr := forge.ParseRemote(url)
	if perr != nil && (f.URL == "" || f.Repository == "") {
		return nil, perr
	}
	var kind forge.Kind
	if f.Kind == "auto" {
		k, ok := forge.KindOfHost(r.Host)
		if !ok {
			return nil, fmt.Errorf("cannot tell which forge %s runs: set Forge.Kind (or HOIST_FORGE) to github, gitlab, gitea or forgejo, and Forge.URL to its web address", r.Host)
		}
		kind = k
	} else if kind, err = forge.ParseKind(f.Kind); err != nil {
		return nil, fmt.Errorf("Forge.Kind: %w", err)
	}
	repo := forge.Repo{Kind: kind, URL: r.URL, Path: r.Path}
	if f.URL != "" {
		repo.URL = strings.TrimSuffix(f.URL, "/")
	}
	if f.Repository != "" {
		repo.Path = strings.Trim(f.Repository, "/")
	}
	tok, ok := w.Env.ForgeTokens[kind]
	if !ok || !tok.IsSet() {
		return nil, fmt.Errorf("a %s release on %s is configured (Forge.Kind) but %s is not set: export a token that can write the repository's releases, or set HOIST_FORGE=off to release without one", kind, repo, kind.TokenVar())
	}
	newClient := map[forge.Kind]func(forge.Repo, string, *http.Client) (forge.Client, error){
		forge.GitHub: forge.NewGitHub, forge.GitLab: forge.NewGitLab, forge.Gitea: forge.NewGitea,
	}[kind]
	c, err := newClient(repo, tok.Reveal(), forgeHTTP)
	if err != nil {
		return nil, err
	}
	return &forgeTarget{repo: repo, remote: remote, client: c, token: tok.Reveal()}, nil
}

// checkForge is preflight's part for the forge: the token can write the
// repository, the tag is on neither the remote nor a published release.
func (w *Workspace) checkForge(ctx context.Context, tag string) error {
	ft, err := w.forge(ctx)
	if err != nil || ft == nil {
		return err
	}
	if _, err := ft.client.Check(ctx); err != nil {
		return err
	}
	if on, err := remoteHasTag(ctx, w.Cfg.Dir, ft.remote, tag); err != nil {
		return fmt.Errorf("ask the remote %s for its tags: %s", ft.remote, forge.Redact(err.Error(), ft.token))
	} else if on {
		return fmt.Errorf("tag %s already exists on the remote %s: fetch it (git fetch --tags %s) and release the next version", tag, ft.remote, ft.remote)
	}
	rel, err := ft.client.Find(ctx, tag)
	if err != nil {
		return fmt.Errorf("look for a release of %s on %s: %w", tag, ft.repo, err)
	}
	if rel != nil && !rel.Draft {
		return fmt.Errorf("%s already has a published release of %s (%s): hoist never changes a published release; release the next version", ft.repo, tag, rel.URL)
	}
	return nil
}

// remoteHasTag asks remote whether it has tag.
func remoteHasTag(ctx context.Context, dir, remote, tag string) (bool, error) {
	out, err := git(ctx, dir, "ls-remote", "--tags", remote, "refs/tags/"+tag)
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(out) != "", nil
}

// forgeSpec is the release st publishes: its tag, title, notes and flags.
func (w *Workspace) forgeSpec(ctx context.Context, st *State, withNotes bool) (forge.Spec, error) {
	f := w.Cfg.Forge
	v := st.Stamp.Version
	if v == nil {
		v = st.Decision.Next
	}
	s := forge.Spec{Tag: st.Decision.Tag, Commit: st.Stamp.Rev.Commit}
	name := f.Name
	if name == "" {
		name = "{{.Tag}}"
	}
	tmpl, err := template.New("Forge.Name").Option("missingkey=error").Parse(name)
	if err != nil {
		return s, fmt.Errorf("Forge.Name: %w", err)
	}
	var buf bytes.Buffer
	ver := ""
	if v != nil {
		ver = v.String()
	}
	if err := tmpl.Execute(&buf, map[string]string{"Tag": s.Tag, "Version": ver, "Project": w.Proj.Name}); err != nil {
		return s, fmt.Errorf("Forge.Name %q: %w", f.Name, err)
	}
	s.Name = buf.String()
	pre := v != nil && v.Prerelease() != ""
	s.Prerelease = f.Prerelease == "always" || (pre && f.Prerelease != "never")
	switch f.Latest {
	case "always":
		s.Latest = true
	case "never":
	default:
		s.Latest = !pre && v != nil && w.newestStable(ctx, v)
	}
	if withNotes {
		notes, err := os.ReadFile(w.Dist("CHANGELOG.md"))
		if err != nil {
			return s, fmt.Errorf("the release notes: %w", err)
		}
		var parts []string
		for _, p := range []string{f.Header, string(notes), f.Footer} {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		s.Notes = strings.Join(parts, "\n\n") + "\n"
	}
	return s, nil
}

// newestStable reports whether v is at least every stable version tagged
// with the release's prefix, so that a fix on an old line does not become
// the latest release.
func (w *Workspace) newestStable(ctx context.Context, v *semver.Version) bool {
	prefix, _, err := w.tagPrefix(ctx)
	if err != nil {
		return true
	}
	out, err := git(ctx, w.Cfg.Dir, "tag", "--list", prefix+"*")
	if err != nil {
		return true
	}
	for _, t := range strings.Fields(out) {
		o, err := semver.StrictNewVersion(strings.TrimPrefix(t, prefix))
		if err == nil && o.Prerelease() == "" && o.GreaterThan(v) {
			return false
		}
	}
	return true
}

// forgeAssets are the files of this release that go on the forge.
func (w *Workspace) forgeAssets() ([]forge.Asset, error) {
	var out []forge.Asset
	seen := map[string]string{}
	for _, a := range w.Arts.All() {
		if !slices.Contains(forgeAssetTypes, a.Type) || a.Path == "" {
			continue
		}
		fa, err := forge.FileAsset(w.Cfg.Path(a.Path))
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[fa.Name]; dup {
			return nil, fmt.Errorf("two release files are both named %s (%s and %s): a forge release holds one file per name", fa.Name, prev, a.Path)
		}
		seen[fa.Name] = a.Path
		if want := strings.TrimPrefix(a.Digest, "sha256:"); a.Digest != "" && want != fa.SHA256 {
			return nil, fmt.Errorf("%s changed after it was recorded (sha256 %s, recorded %s): run release again", a.Path, fa.SHA256, want)
		}
		out = append(out, fa)
	}
	slices.SortFunc(out, func(a, b forge.Asset) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// forgeSkip is the skip rule of the forge stages and the git push.
func forgeSkip(st *State) (string, bool) {
	if reason, skip := st.nothing(); skip {
		return reason, true
	}
	if st.Mode == ModeSnapshot {
		return "snapshots publish no forge release and push nothing to git", true
	}
	if !st.W.Cfg.Forge.Enabled() {
		return "no forge configured (Forge.Kind, HOIST_FORGE): push the release commit and tag yourself, git push --atomic --follow-tags origin HEAD", true
	}
	return "", false
}

// forgeDraftStage makes the forge release as a draft with every file.
type forgeDraftStage struct{}

func (forgeDraftStage) Name() string                  { return "forge draft" }
func (forgeDraftStage) Skip(st *State) (string, bool) { return forgeSkip(st) }

func (forgeDraftStage) Plan(ctx context.Context, st *State) (string, error) {
	ft, err := st.W.forge(ctx)
	if err != nil {
		return "", err
	}
	s, err := st.W.forgeSpec(ctx, st, false)
	if err != nil {
		return "", err
	}
	st.forgePlan = &PlannedForge{Kind: string(ft.repo.Kind), Repository: ft.repo.String(), Remote: ft.remote, Name: s.Name, Tag: s.Tag, Prerelease: s.Prerelease, Latest: s.Latest, Draft: st.W.Cfg.Forge.Draft}
	return fmt.Sprintf("creates the draft release %q of %s on %s (or finds the one an interrupted run left) and uploads every archive, checksums.txt, SBOM, signature and the provenance, each checked by size and sha256; nobody sees it until it is published", s.Name, s.Tag, ft.repo), nil
}

// forgeStart is what both forge stages' Run begin with: the reason their
// Plan gives, the forge, and the release with its notes.
func forgeStart(ctx context.Context, st *State, plan func(context.Context, *State) (string, error)) (string, *forgeTarget, forge.Spec, error) {
	reason, err := plan(ctx, st)
	if err != nil {
		return "", nil, forge.Spec{}, err
	}
	ft, err := st.W.forge(ctx)
	if err != nil {
		return "", nil, forge.Spec{}, err
	}
	spec, err := st.W.forgeSpec(ctx, st, true)
	return reason, ft, spec, err
}

func (s forgeDraftStage) Run(ctx context.Context, st *State) (string, error) {
	reason, ft, spec, err := forgeStart(ctx, st, s.Plan)
	if err != nil {
		return "", err
	}
	w := st.W
	assets, err := w.forgeAssets()
	if err != nil {
		return "", err
	}
	rep, err := forge.Draft(ctx, ft.client, spec, assets)
	if err != nil {
		return "", err
	}
	how := "found the draft"
	if rep.Created {
		how = "created the draft"
	}
	w.Logf("forge", "%s %s on %s: %d uploaded, %d already there, %d removed", how, spec.Tag, ft.repo, len(rep.Uploaded), len(rep.Kept), len(rep.Removed))
	return reason, nil
}

// Undo deletes the draft, if there is one: a published release is never
// touched.
func (forgeDraftStage) Undo(ctx context.Context, st *State) error {
	ft, err := st.W.forge(ctx)
	if err != nil || ft == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := forge.Discard(ctx, ft.client, st.Decision.Tag); err != nil {
		return fmt.Errorf("remove the draft release: %w (delete it on %s by hand, or run release again, which reuses it)", err, ft.repo)
	}
	return nil
}

// gitPushStage pushes the release commit and the tag to the forge's
// remote, atomically. It is the point of no return: from here on the
// release is public, and a failure is finished by the next run rather
// than undone.
type gitPushStage struct{}

func (gitPushStage) Name() string                  { return "git push" }
func (gitPushStage) Skip(st *State) (string, bool) { return forgeSkip(st) }

func (gitPushStage) Plan(ctx context.Context, st *State) (string, error) {
	ft, err := st.W.forge(ctx)
	if err != nil {
		return "", err
	}
	branch, _ := git(ctx, st.W.Cfg.Dir, "symbolic-ref", "--quiet", "--short", "HEAD")
	what := "the tag " + st.Decision.Tag
	if branch != "" {
		what = branch + " and the tag " + st.Decision.Tag
	}
	return fmt.Sprintf("pushes %s to %s in one atomic push, once the registry tags are in place; from then on the release is public and a failure is finished by the next run, never undone", what, ft.remote), nil
}

func (s gitPushStage) Run(ctx context.Context, st *State) (string, error) {
	reason, err := s.Plan(ctx, st)
	if err != nil {
		return "", err
	}
	w := st.W
	ft, _ := w.forge(ctx)
	tag := st.Decision.Tag
	refs := []string{"refs/tags/" + tag + ":refs/tags/" + tag}
	if branch, _ := git(ctx, w.Cfg.Dir, "symbolic-ref", "--quiet", "--short", "HEAD"); branch != "" {
		refs = append([]string{"HEAD:refs/heads/" + branch}, refs...)
	}
	killpoint("git push: before")
	_, perr := git(context.WithoutCancel(ctx), w.Cfg.Dir, append([]string{"push", "--atomic", "--quiet", ft.remote}, refs...)...)
	// Whatever git said, the remote decides: a push cut off after the
	// remote took it is public all the same.
	on, lerr := remoteHasTag(context.WithoutCancel(ctx), w.Cfg.Dir, ft.remote, tag)
	if lerr == nil && on {
		st.public = true
	}
	if perr != nil {
		msg := forge.Redact(perr.Error(), ft.token)
		if st.public {
			return "", fmt.Errorf("git push reported a failure, but %s has the tag %s: %s", ft.remote, tag, msg)
		}
		if strings.Contains(msg, "non-fast-forward") || strings.Contains(msg, "fetch first") || strings.Contains(msg, "rejected") {
			return "", fmt.Errorf("push the release to %s: the remote branch has commits this release lacks (%s): pull them and release again", ft.remote, msg)
		}
		return "", fmt.Errorf("push the release to %s: %s", ft.remote, msg)
	}
	if lerr != nil {
		st.public = true // the push succeeded
	}
	w.Logf("release", "pushed %s to %s", strings.Join(refs, " "), ft.remote)
	return reason, nil
}

// forgePublishStage makes the draft public once the tag is on the forge.
type forgePublishStage struct{}

func (forgePublishStage) Name() string { return "forge publish" }

func (forgePublishStage) Skip(st *State) (string, bool) {
	if reason, skip := forgeSkip(st); skip {
		return reason, true
	}
	if st.W.Cfg.Forge.Draft {
		return "Forge.Draft: the release stays a draft for a person to publish", true
	}
	return "", false
}

func (forgePublishStage) Plan(ctx context.Context, st *State) (string, error) {
	ft, err := st.W.forge(ctx)
	if err != nil {
		return "", err
	}
	s, err := st.W.forgeSpec(ctx, st, false)
	if err != nil {
		return "", err
	}
	flags := "a release"
	switch {
	case s.Prerelease:
		flags = "a prerelease"
	case s.Latest:
		flags = "the latest release"
	}
	return fmt.Sprintf("publishes the draft of %s on %s as %s, once the tag is there", s.Tag, ft.repo, flags), nil
}

func (s forgePublishStage) Run(ctx context.Context, st *State) (string, error) {
	reason, ft, spec, err := forgeStart(ctx, st, s.Plan)
	if err != nil {
		return "", err
	}
	w := st.W
	killpoint("forge publish: before")
	rel, err := forge.Publish(ctx, ft.client, spec)
	if err != nil {
		return "", err
	}
	st.forgeURL = rel.URL
	w.Logf("forge", "published %s: %s", spec.Tag, rel.URL)
	return reason, nil
}
