package adopt

import (
	"context"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v2"
)

// list is a YAML value that is one string or a list of them; GoReleaser
// accepts both for ldflags, flags, formats and more.
type list []string

// UnmarshalYAML reads a scalar or a sequence of scalars.
func (l *list) UnmarshalYAML(unmarshal func(any) error) error {
	var many []any
	if err := unmarshal(&many); err == nil {
		for _, v := range many {
			*l = append(*l, fmt.Sprint(v))
		}
		return nil
	}
	var one any
	if err := unmarshal(&one); err != nil {
		return err
	}
	if one != nil {
		*l = list{fmt.Sprint(one)}
	}
	return nil
}

// goreleaser is the part of a .goreleaser.yaml (version 1 or 2) that hoist
// can express.
type goreleaser struct {
	ProjectName string      `yaml:"project_name"`
	Builds      []grBuild   `yaml:"builds"`
	Archives    []grArchive `yaml:"archives"`
	Checksum    struct {
		NameTemplate string `yaml:"name_template"`
		Disable      any    `yaml:"disable"`
	} `yaml:"checksum"`
	Dockers []struct {
		ImageTemplates list `yaml:"image_templates"`
		Goarch         string
	} `yaml:"dockers"`
	DockersV2 []struct {
		Images    list `yaml:"images"`
		Tags      list `yaml:"tags"`
		Platforms list `yaml:"platforms"`
	} `yaml:"dockers_v2"`
	DockerManifests []struct {
		NameTemplate   string `yaml:"name_template"`
		ImageTemplates list   `yaml:"image_templates"`
	} `yaml:"docker_manifests"`
	Kos []struct {
		Repository string `yaml:"repository"`
		Repo       string `yaml:"repo"`
		Tags       list   `yaml:"tags"`
		BaseImage  string `yaml:"base_image"`
		Platforms  list   `yaml:"platforms"`
		Main       string `yaml:"main"`
	} `yaml:"kos"`
	Monorepo struct {
		TagPrefix string `yaml:"tag_prefix"`
	} `yaml:"monorepo"`
	Release struct {
		GitHub       grRepo `yaml:"github"`
		GitLab       grRepo `yaml:"gitlab"`
		Gitea        grRepo `yaml:"gitea"`
		Draft        bool   `yaml:"draft"`
		Disable      any    `yaml:"disable"`
		NameTemplate string `yaml:"name_template"`
	} `yaml:"release"`
	GitHubURLs struct {
		Download string `yaml:"download"`
	} `yaml:"github_urls"`
	GitLabURLs struct {
		Download string `yaml:"download"`
	} `yaml:"gitlab_urls"`
	GiteaURLs struct {
		Download string `yaml:"download"`
	} `yaml:"gitea_urls"`
	UniversalBinaries []struct {
		Replace bool `yaml:"replace"`
	} `yaml:"universal_binaries"`
	Source struct {
		Enabled bool `yaml:"enabled"`
	} `yaml:"source"`
}

type grRepo struct {
	Owner string `yaml:"owner"`
	Name  string `yaml:"name"`
}

type grBuild struct {
	ID      string `yaml:"id"`
	Main    string `yaml:"main"`
	Dir     string `yaml:"dir"`
	Binary  string `yaml:"binary"`
	Env     list   `yaml:"env"`
	Goos    list   `yaml:"goos"`
	Goarch  list   `yaml:"goarch"`
	Goarm   list   `yaml:"goarm"`
	Goamd64 list   `yaml:"goamd64"`
	Ignore  []struct {
		Goos, Goarch string
		Goarm        any
	} `yaml:"ignore"`
	Targets list   `yaml:"targets"`
	Flags   list   `yaml:"flags"`
	Ldflags list   `yaml:"ldflags"`
	Tags    list   `yaml:"tags"`
	Skip    any    `yaml:"skip"`
	Builder string `yaml:"builder"`
}

type grArchive struct {
	Format  list `yaml:"format"`
	Formats list `yaml:"formats"`
	Files   []any
}

// notCarriedKeys explains the top-level GoReleaser sections hoist does not
// take over.
var notCarriedKeys = map[string]string{
	"before":         "hooks run before the build; run them in a target of your own that go:build depends on",
	"changelog":      "hoist writes its own changelog from conventional commits into the tag message",
	"nfpms":          "hoist does not build Linux packages",
	"brews":          "hoist does not publish Homebrew formulas",
	"homebrew_casks": "hoist does not publish Homebrew casks",
	"scoops":         "hoist does not publish Scoop manifests",
	"snapcrafts":     "hoist does not build snaps",
	"signs":          "hoist does not sign artifacts yet",
	"docker_signs":   "hoist does not sign images yet",
	"binary_signs":   "hoist does not sign binaries yet",
	"announce":       "hoist does not announce releases",
	"snapshot":       "hoist names snapshots <next>-snapshot.<commit> itself",
	"upx":            "hoist does not compress binaries with upx",
	"aurs":           "hoist does not publish AUR packages",
	"nix":            "hoist does not publish Nix packages",
	"winget":         "hoist does not publish winget manifests",
	"chocolateys":    "hoist does not publish Chocolatey packages",
	"blobs":          "hoist does not upload to object storage",
	"uploads":        "hoist does not upload artifacts to HTTP servers",
	"artifactories":  "hoist does not upload to Artifactory",
	"milestones":     "hoist does not close milestones",
	"metadata":       "hoist writes its own release.json",
	"git":            "hoist reads tags itself; its tag scheme is found from the repository",
}

// handledKeys are the sections readGoReleaser interprets (or that carry no
// behaviour).
var handledKeys = []string{"version", "project_name", "builds", "archives", "checksum", "dockers", "dockers_v2",
	"docker_manifests", "kos", "monorepo", "dist", "env", "report_sizes", "sboms", "gomod", "release",
	"github_urls", "gitlab_urls", "gitea_urls", "universal_binaries", "source"}

// goreleaserFiles are the names GoReleaser looks for, in its order.
var goreleaserFiles = []string{".goreleaser.yml", ".goreleaser.yaml", "goreleaser.yml", "goreleaser.yaml"}

var defaultGoos = []string{"darwin", "linux", "windows"}
var defaultGoarch = []string{"386", "amd64", "arm64"}

// readGoReleaser carries a GoReleaser configuration over into s.
func (r *Result) readGoReleaser(ctx context.Context, root string, s *settings, supported []string) error {
	var file string
	for _, name := range goreleaserFiles {
		if _, err := os.Stat(path.Join(root, name)); err == nil {
			file = name
			break
		}
	}
	if file == "" {
		return nil
	}
	data, err := os.ReadFile(path.Join(root, file))
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	var cfg goreleaser
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("read %s: %w; fix the YAML or move the file aside and rerun hoist init", file, err)
	}
	var top yaml.MapSlice
	_ = yaml.Unmarshal(data, &top)
	r.Sources = append(r.Sources, file)

	switch cfg.ProjectName {
	case "":
	case s.defaultName:
		r.carry("project name "+cfg.ProjectName+" (hoist's default; nothing written)", file+" project_name")
	default:
		s.name = cfg.ProjectName
		r.carry("project name "+cfg.ProjectName, file+" project_name")
	}
	r.readBuilds(file, cfg.Builds, s, supported)
	r.readArchives(file, cfg, s)
	r.readImages(file, cfg, s)
	if cfg.Monorepo.TagPrefix != "" {
		s.tagPrefix = cfg.Monorepo.TagPrefix
		r.carry("tag prefix "+cfg.Monorepo.TagPrefix, file+" monorepo.tag_prefix")
	}
	if len(cfg.UniversalBinaries) > 0 {
		s.universal = true
		r.carry("universal darwin binaries", file+" universal_binaries")
		if cfg.UniversalBinaries[0].Replace {
			r.note("universal_binaries.replace: set c.Release.UniversalReplace in targets.Configure to ship only the universal binary")
		}
	}
	if cfg.Source.Enabled {
		s.sourceArchive = true
		r.carry("source archive", file+" source")
	}
	r.readRelease(file, cfg, s, slices.ContainsFunc(top, func(i yaml.MapItem) bool { return fmt.Sprint(i.Key) == "release" }))
	for _, item := range top {
		key := fmt.Sprint(item.Key)
		if slices.Contains(handledKeys, key) {
			continue
		}
		why, ok := notCarriedKeys[key]
		if !ok {
			why = "hoist has no equivalent"
		}
		r.skip(key, file, why)
	}
	return nil
}

func (r *Result) readBuilds(file string, builds []grBuild, s *settings, supported []string) {
	var mains []string
	var matrix []string
	for i, b := range builds {
		where := fmt.Sprintf("%s builds[%d]", file, i)
		if b.ID != "" {
			where = fmt.Sprintf("%s builds[%s]", file, b.ID)
		}
		if b.Skip != nil && fmt.Sprint(b.Skip) == "true" {
			r.skip("build "+b.ID, where, "it is skipped there")
			continue
		}
		if b.Builder != "" && b.Builder != "go" {
			r.skip("build "+b.ID, where, "hoist builds Go only, not "+b.Builder)
			continue
		}
		dir := pkgDir(b.Dir, b.Main)
		mains = append(mains, dir)
		if b.Binary != "" {
			s.binaries = append(s.binaries, path.Base(b.Binary))
		}
		if b.Binary != "" && path.Base(b.Binary) != binaryName(dir, s.defaultName) {
			if name := path.Base(b.Binary); strings.Contains(b.Binary, "{{") || strings.Contains(b.Binary, "/") {
				r.skip("binary name "+b.Binary, where, fmt.Sprintf("a template or a path; hoist names the binary after its directory (%s) unless Binaries[…].Name says otherwise", binaryName(dir, s.defaultName)))
			} else {
				s.renames = append(s.renames, [2]string{binaryName(dir, s.defaultName), name})
				r.carry("binary name "+name+" for "+dir, where+" binary")
			}
		}
		for _, e := range b.Env {
			if strings.HasPrefix(e, "CGO_ENABLED=") && e != "CGO_ENABLED=0" {
				r.skip(e, where, "hoist builds static binaries with cgo off")
			}
		}
		plats := b.platforms(supported)
		for _, p := range plats {
			if !slices.Contains(matrix, p) {
				matrix = append(matrix, p)
			}
		}
		r.readLdflags(where, b.Ldflags, s)
		for _, f := range b.Flags {
			if f != "-trimpath" {
				r.skip("build flag "+f, where, "hoist passes -trimpath and its own flags only")
			}
		}
		for _, t := range b.Tags {
			if !slices.Contains(s.buildTags, t) {
				s.buildTags = append(s.buildTags, t)
			}
		}
	}
	if len(builds) > 1 {
		r.note("every binary is built for the union of the builds' platforms; hoist has one matrix for all binaries")
	}
	if len(mains) > 0 && !slices.Equal(sorted(mains), sorted(s.discoveredMains)) {
		s.mains = mains
		r.carry("main packages "+strings.Join(mains, ", "), file+" builds[].main")
	} else if len(mains) > 0 {
		r.carry("main packages "+strings.Join(mains, ", ")+" (hoist finds the same ones; nothing written)", file+" builds[].main")
	}
	if len(matrix) > 0 {
		slices.Sort(matrix)
		if !slices.Equal(matrix, sorted(defaultPlatforms)) {
			s.platforms = matrix
		}
		r.carry("platforms "+strings.Join(matrix, ", "), file+" builds[].goos/goarch")
	}
	if len(s.buildTags) > 0 {
		r.carry("build tags "+strings.Join(s.buildTags, ", "), file+" builds[].tags")
	}
}

// platforms expands a build's matrix the way GoReleaser does, keeping the
// pairs the toolchain supports.
func (b grBuild) platforms(supported []string) []string {
	var out []string
	add := func(p string) {
		osArch := strings.Join(strings.Split(p, "/")[:2], "/")
		if supported != nil && !slices.Contains(supported, osArch) {
			return
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(b.Targets) > 0 {
		for _, t := range b.Targets {
			if p, ok := targetPlatform(t); ok {
				add(p)
			}
		}
		return out
	}
	goos, goarch := []string(b.Goos), []string(b.Goarch)
	if len(goos) == 0 {
		goos = defaultGoos
	}
	if len(goarch) == 0 {
		goarch = defaultGoarch
	}
	goarm := []string(b.Goarm)
	if len(goarm) == 0 {
		goarm = []string{"6"}
	}
	goamd64 := []string(b.Goamd64)
	for _, o := range goos {
		for _, a := range goarch {
			if b.ignored(o, a) {
				continue
			}
			switch a {
			case "arm":
				for _, v := range goarm {
					add(o + "/arm/v" + v)
				}
			case "amd64":
				if len(goamd64) == 0 {
					add(o + "/amd64")
				}
				for _, v := range goamd64 {
					if v == "v1" {
						add(o + "/amd64")
					} else {
						add(o + "/amd64/" + v)
					}
				}
			default:
				add(o + "/" + a)
			}
		}
	}
	return out
}

func (b grBuild) ignored(goos, goarch string) bool {
	for _, ig := range b.Ignore {
		if (ig.Goos == "" || ig.Goos == goos) && (ig.Goarch == "" || ig.Goarch == goarch) && ig.Goarm == nil {
			return true
		}
	}
	return false
}

// targetPlatform reads a GoReleaser target such as linux_amd64_v1 or
// linux_arm_7.
func targetPlatform(t string) (string, bool) {
	f := strings.Split(t, "_")
	if len(f) < 2 {
		return "", false
	}
	p := f[0] + "/" + f[1]
	if len(f) > 2 {
		switch {
		case f[1] == "arm":
			p += "/v" + f[2]
		case f[1] == "amd64" && f[2] != "v1":
			p += "/" + f[2]
		}
	}
	return p, true
}

// stampTemplate matches -X name={{ .Field }} in GoReleaser ldflags.
var stampTemplate = regexp.MustCompile(`^-X=?([^=\s]+)=\{\{\s*\.(\w+)\s*\}\}$`)

// templateAction matches one {{ ... }} of a GoReleaser template.
var templateAction = regexp.MustCompile(`\{\{[^}]*\}\}`)

// readLdflags keeps the flags that are not the stamps hoist sets itself.
func (r *Result) readLdflags(where string, flags list, s *settings) {
	var words []string
	for _, f := range flags {
		// Spaces inside {{ }} do not separate flags.
		f = templateAction.ReplaceAllStringFunc(f, func(a string) string { return strings.Join(strings.Fields(a), "") })
		words = append(words, strings.Fields(f)...)
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "-s" || w == "-w":
			continue
		case w == "-X" && i+1 < len(words):
			i++
			w = "-X=" + words[i]
		}
		if m := stampTemplate.FindStringSubmatch(w); m != nil {
			name, field := m[1], m[2]
			kind, ok := map[string]string{"Version": "version", "Commit": "commit", "FullCommit": "commit", "ShortCommit": "commit",
				"Date": "date", "CommitDate": "date", "Timestamp": "date", "CommitTimestamp": "date"}[field]
			switch {
			case !ok:
				r.skip("ldflag -X "+name+"={{."+field+"}}", where, "hoist stamps the version, the commit and the date only")
			case s.discoveredVar(kind, name):
				s.recordVar(kind, name)
				r.carry(fmt.Sprintf("stamp %s (%s; hoist finds it)", name, kind), where+" ldflags")
			default:
				s.recordVar(kind, name)
				s.customVars = true
				r.carry(fmt.Sprintf("stamp %s (%s)", name, kind), where+" ldflags")
			}
			if field == "ShortCommit" {
				r.note(name + " gets the full commit hash; hoist has no short-commit stamp")
			}
			continue
		}
		if strings.Contains(w, "{{") {
			r.skip("ldflag "+strings.Replace(w, "-X=", "-X ", 1), where, "it uses a GoReleaser template hoist cannot evaluate")
			continue
		}
		if !slices.Contains(s.ldflags, w) {
			s.ldflags = append(s.ldflags, w)
			r.carry("ldflag "+w, where+" ldflags")
		}
	}
}

func (r *Result) readArchives(file string, cfg goreleaser, s *settings) {
	for i, a := range cfg.Archives {
		where := fmt.Sprintf("%s archives[%d]", file, i)
		for _, f := range append(a.Format, a.Formats...) {
			if f == "binary" {
				r.skip("archive format binary", where, "hoist always writes archives (tar.gz, zip on windows)")
			}
		}
		for _, f := range a.Files {
			src := ""
			switch v := f.(type) {
			case string:
				src = v
			case map[any]any:
				src = fmt.Sprint(v["src"])
			}
			base := strings.ToLower(path.Base(src))
			if src == "" || strings.HasPrefix(base, "readme") || strings.HasPrefix(base, "license") || strings.HasPrefix(base, "licence") {
				continue // hoist adds README and LICENSE itself
			}
			if strings.ContainsAny(src, "*?[") {
				r.skip("archive files "+src, where, "hoist takes file names, not patterns; list the files")
				continue
			}
			if !slices.Contains(s.archiveFiles, src) {
				s.archiveFiles = append(s.archiveFiles, src)
				r.carry("archive file "+src, where+" files")
			}
		}
	}
	if len(cfg.Archives) > 0 {
		r.note("archives are named NAME_VERSION_OS_ARCH.tar.gz (zip on windows); GoReleaser name templates are not carried")
	}
	if t := cfg.Checksum.NameTemplate; t != "" && t != "checksums.txt" && !strings.Contains(t, "checksums.txt") {
		r.skip("checksum name "+t, file+" checksum", "hoist writes checksums.txt")
	}
}

// readImages turns image templates into registries and floating tags.
func (r *Result) readImages(file string, cfg goreleaser, s *settings) {
	type ref struct{ repo, tag, where string }
	var refs []ref
	split := func(where, t string) {
		repo, tag := t, "latest"
		if i := strings.LastIndex(t, ":"); i > strings.LastIndex(t, "/") {
			repo, tag = t[:i], t[i+1:]
		}
		refs = append(refs, ref{repo, tag, where})
	}
	for i, d := range cfg.Dockers {
		for _, t := range d.ImageTemplates {
			split(fmt.Sprintf("%s dockers[%d]", file, i), t)
		}
	}
	for i, m := range cfg.DockerManifests {
		if m.NameTemplate != "" {
			split(fmt.Sprintf("%s docker_manifests[%d]", file, i), m.NameTemplate)
		}
	}
	for i, d := range cfg.DockersV2 {
		for _, img := range d.Images {
			for _, tag := range d.Tags {
				refs = append(refs, ref{img, tag, fmt.Sprintf("%s dockers_v2[%d]", file, i)})
			}
		}
		r.readImagePlatforms(fmt.Sprintf("%s dockers_v2[%d]", file, i), d.Platforms, s)
	}
	for i, k := range cfg.Kos {
		where := fmt.Sprintf("%s kos[%d]", file, i)
		repo := k.Repository
		if repo == "" {
			repo = k.Repo
		}
		tags := k.Tags
		if len(tags) == 0 {
			tags = list{"latest"}
		}
		for _, tag := range tags {
			if repo != "" {
				refs = append(refs, ref{repo, tag, where})
			}
		}
		if k.BaseImage != "" {
			s.readBase(r, k.BaseImage, where+" base_image")
		}
		r.readImagePlatforms(where, k.Platforms, s)
	}
	if len(refs) == 0 {
		return
	}
	if len(cfg.Dockers) > 0 || len(cfg.DockersV2) > 0 {
		r.note("the image is built by hoist from the compiled binaries (no Dockerfile, no daemon); see the Dockerfile notes for what it carries over")
	}
	var latest, minor bool
	for _, rf := range refs {
		if strings.Contains(rf.repo, "{{") {
			r.skip("image "+rf.repo, rf.where, "the repository name uses a template; set Registries yourself")
			continue
		}
		i := strings.LastIndex(rf.repo, "/")
		if i < 0 {
			r.skip("image "+rf.repo, rf.where, "it names no registry; hoist pushes to REGISTRY/NAME")
			continue
		}
		prefix, imageName := rf.repo[:i], rf.repo[i+1:]
		if !slices.Contains(s.registries, prefix) {
			s.registries = append(s.registries, prefix)
			r.carry("registry "+prefix, rf.where)
		}
		if imageName != s.projectName() && s.imageName == "" {
			s.imageName = imageName
			r.carry("image name "+imageName, rf.where)
		}
		switch tag := strings.Join(strings.Fields(rf.tag), ""); tag {
		case "{{.Version}}", "{{.Tag}}":
			if tag == "{{.Tag}}" && s.tagPrefixGuess() != "" {
				r.skip("image tag "+rf.tag, rf.where, "hoist tags images with the version, without the tag's prefix")
			}
		case "latest":
			latest = true
		case "{{.Major}}.{{.Minor}}":
			minor = true
		default:
			r.skip("image tag "+rf.tag, rf.where, "hoist tags VERSION, and latest and MAJOR.MINOR when asked")
		}
	}
	s.latest, s.minor = latest, minor
	switch {
	case latest && minor:
		r.carry("floating tags latest and MAJOR.MINOR", file)
	case latest:
		r.carry("floating tag latest", file)
	case minor:
		r.carry("floating tag MAJOR.MINOR", file)
	}
}

func (r *Result) readImagePlatforms(where string, plats list, s *settings) {
	for _, p := range plats {
		if !strings.HasPrefix(p, "linux/") {
			continue
		}
		if len(s.platforms) > 0 && !slices.Contains(s.platforms, p) {
			r.skip("image platform "+p, where, "the image has every linux platform of the build matrix; add it to the builds")
		}
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// readRelease carries GoReleaser's forge release over from a release
// section: a release on the origin remote's forge unless release.github,
// gitlab or gitea names another repository, none with release.disable.
// Without the section GoReleaser still publishes a release, which hoist
// does only when asked: a note says how.
func (r *Result) readRelease(file string, cfg goreleaser, s *settings, present bool) {
	if !present {
		r.note(`GoReleaser publishes a forge release by default; hoist does with targets.Forge("auto") and a GITHUB_TOKEN, GITLAB_TOKEN or GITEA_TOKEN`)
		return
	}
	rel := cfg.Release
	if rel.Disable != nil && fmt.Sprint(rel.Disable) != "false" {
		if fmt.Sprint(rel.Disable) == "true" {
			r.carry("no forge release (release.disable)", file+" release.disable")
		} else {
			r.skip("release.disable", file, "it is a template hoist cannot evaluate; set targets.Forge yourself")
		}
		return
	}
	s.forge = "auto"
	from := file + " (GoReleaser publishes a release by default)"
	for _, f := range []struct {
		kind, url string
		repo      grRepo
	}{{"github", cfg.GitHubURLs.Download, rel.GitHub}, {"gitlab", cfg.GitLabURLs.Download, rel.GitLab}, {"gitea", cfg.GiteaURLs.Download, rel.Gitea}} {
		if f.repo.Owner == "" && f.repo.Name == "" && f.url == "" {
			continue
		}
		s.forge, from = f.kind, file+" release."+f.kind
		if f.repo.Owner != "" && f.repo.Name != "" && !strings.Contains(f.repo.Owner+f.repo.Name, "{{") {
			s.forgeRepo = f.repo.Owner + "/" + f.repo.Name
		}
		if f.url != "" && !strings.Contains(f.url, "{{") {
			s.forgeURL = strings.TrimSuffix(f.url, "/")
		}
	}
	what := "forge release on " + s.forge
	if s.forge == "auto" {
		what = "forge release on the origin remote's forge"
	}
	r.carry(what+" (needs GITHUB_TOKEN, GITLAB_TOKEN or GITEA_TOKEN, as GoReleaser did)", from)
	if rel.Draft {
		s.forgeDraft = true
		r.carry("draft forge releases", file+" release.draft")
	}
	if t := rel.NameTemplate; t != "" {
		name := strings.NewReplacer("{{.ProjectName}}", "{{.Project}}", "{{ .ProjectName }}", "{{ .Project }}").Replace(t)
		if unknown := regexp.MustCompile(`\{\{\s*\.(\w+)`).FindAllStringSubmatch(name, -1); slices.ContainsFunc(unknown, func(m []string) bool {
			return m[1] != "Tag" && m[1] != "Version" && m[1] != "Project"
		}) {
			r.skip("release.name_template", file, "it uses fields other than .Tag, .Version and .ProjectName")
		} else {
			s.forgeName = name
			r.carry("forge release name "+name, file+" release.name_template")
		}
	}
}
