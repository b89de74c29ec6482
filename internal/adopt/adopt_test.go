package adopt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// repo writes a repository with the given files, committed, and tags.
func repo(t *testing.T, files map[string]string, tags ...string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "first")
	for _, tag := range tags {
		git(t, dir, "tag", tag)
	}
	return dir
}

const stampMain = "package main\n\nimport \"fmt\"\n\nvar version, commit string\n\nfunc main() { fmt.Println(version, commit) }\n"

const goreleaserYAML = `version: 2
project_name: shop
builds:
  - id: api
    main: ./cmd/api
    goos: [linux, windows]
    goarch: [amd64, arm64, arm]
    goarm: [6, 7]
    ignore:
      - goos: windows
        goarch: arm
    flags: -trimpath
    ldflags:
      - -s -w -X main.version={{.Version}} -X main.commit={{.ShortCommit}}
      - -X example.com/acme/shop/internal/build.Date={{ .Date }} -X main.flavor=oss -X main.host={{.Env.HOST}}
    tags: [netgo]
    env: [CGO_ENABLED=1]
  - id: worker
    dir: cmd/worker
    binary: shop-worker
    targets: [linux_amd64_v1, darwin_arm64]
archives:
  - format: tar.gz
    files:
      - LICENSE
      - docs/*.md
      - src: NOTICE
checksum:
  name_template: "{{ .ProjectName }}_SHA256SUMS"
dockers_v2:
  - images: ["ghcr.io/acme/shop-api", "quay.io/acme/shop-api"]
    tags: ["{{ .Version }}", "latest", "v{{ .Major }}"]
nfpms:
  - formats: [deb]
release:
  draft: true
  github: {owner: acme, name: shop}
  name_template: "{{.ProjectName}} {{.Version}}"
universal_binaries:
  - replace: false
source:
  enabled: true
custom_thing: {}
`

const dockerfile = `# syntax=docker/dockerfile:1
FROM golang:1.26 AS builder
RUN go build -o /out/api ./cmd/api

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=builder /out/api /usr/local/bin/api
COPY --from=builder /usr/share/zoneinfo /usr/share/zoneinfo
COPY ui/dist /home/nonroot/ui
COPY config.yaml /etc/shop/config.yaml
USER nonroot:nonroot
EXPOSE 8080 9090/udp
ENV LOG_FORMAT=json \
    MODE=prod
HEALTHCHECK CMD ["/usr/local/bin/api", "-healthcheck"]
ENTRYPOINT ["/usr/local/bin/api", "serve"]
`

func TestPlanCarriesGoReleaserAndDockerfile(t *testing.T) {
	dir := repo(t, map[string]string{
		"go.mod":                         "module example.com/acme/shop\n\ngo 1.26\n",
		"cmd/api/main.go":                stampMain,
		"cmd/worker/main.go":             stampMain,
		"internal/build/build.go":        "package build\n\n// Date is stamped.\nvar Date string\n",
		".goreleaser.yaml":               goreleaserYAML,
		"Dockerfile":                     dockerfile,
		".gitignore":                     "/dist/\n",
		"ui/dist/index.html":             "<html>\n",
		"docs/a.md":                      "a\n",
		"internal/build/build_import.go": "package build\n",
	}, "shop-0.9.0", "v1.2.0")
	r, err := Plan(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	wantSettings := []string{
		`targets.Platforms("darwin/arm64", "linux/amd64", "linux/arm/v6", "linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm64")`,
		`targets.BuildTags("netgo")`,
		`targets.LDFlags("-X=main.flavor=oss")`,
		`targets.VersionVars("main.version")`,
		`targets.CommitVars("main.commit")`,
		`targets.DateVars("example.com/acme/shop/internal/build.Date")`,
		`targets.Registries("ghcr.io/acme", "quay.io/acme")`,
		`targets.LatestTag`,
		`targets.ImageName("shop-api")`,
		`targets.Ports("8080/tcp", "9090/udp")`,
		`targets.ImageEnv("LOG_FORMAT=json", "MODE=prod")`,
		`targets.Cmd("serve")`,
		`targets.TZData`,
		`targets.ArchiveFiles("NOTICE")`,
		`targets.Forge("github")`,
		`targets.ForgeRepository("acme/shop")`,
		`targets.ForgeName("{{.Project}} {{.Version}}")`,
		`targets.ForgeDraft`,
		`targets.BinaryName("worker", "shop-worker")`,
		`targets.Universal`,
		`targets.SourceArchive`,
	}
	if !slices.Equal(r.Settings, wantSettings) {
		t.Errorf("settings:\n%s\nwant:\n%s", strings.Join(r.Settings, "\n"), strings.Join(wantSettings, "\n"))
	}
	for _, want := range []string{"CGO_ENABLED=1", "ldflag -X main.host={{.Env.HOST}}", "archive files docs/*.md",
		"checksum name", "image tag v{{ .Major }}", "nfpms", "custom_thing", "files config.yaml → /etc/shop/config.yaml", "healthcheck"} {
		if !slices.ContainsFunc(r.NotCarried, func(n Note) bool { return strings.Contains(n.What, want) && n.Why != "" }) {
			t.Errorf("not carried over misses %q with a reason:\n%+v", want, r.NotCarried)
		}
	}
	for _, want := range []string{"project name shop", "registry ghcr.io/acme", "user nonroot:nonroot (hoist's default", "static files ui/dist",
		"base gcr.io/distroless/static-debian12:nonroot → hoist's built-in"} {
		if !slices.ContainsFunc(r.Carried, func(n Note) bool { return strings.Contains(n.What, want) && n.From != "" }) {
			t.Errorf("carried over misses %q:\n%+v", want, r.Carried)
		}
	}
	if !r.WriteVersion || r.Version != "1.2.0" || !strings.Contains(r.VersionFrom, "v1.2.0") || r.IgnoreDist {
		t.Errorf("VERSION %v %q (%s), ignore dist %v; want 1.2.0 from v1.2.0 and .gitignore left alone", r.WriteVersion, r.Version, r.VersionFrom, r.IgnoreDist)
	}
	if !strings.Contains(r.TagScheme, "v1.2.0") {
		t.Errorf("tag scheme %q", r.TagScheme)
	}
	if !strings.HasPrefix(r.Magefile, "//go:build mage\n") || !strings.Contains(r.Magefile, "targets.Set(\n") {
		t.Errorf("magefile:\n%s", r.Magefile)
	}
}

func TestPlanDefaults(t *testing.T) {
	// A repository hoist handles by convention gets the short magefile.
	dir := repo(t, map[string]string{
		"go.mod":  "module example.com/acme/tiny\n\ngo 1.26\n",
		"main.go": stampMain,
		".goreleaser.yml": `builds:
  - main: .
    goos: [linux, darwin, windows]
    goarch: [amd64, arm64]
    ignore: [{goos: darwin, goarch: amd64}, {goos: windows, goarch: arm64}]
    ldflags: ["-s -w -X main.version={{.Version}} -X main.commit={{.Commit}}"]
`,
	}, "3.2.1")
	r, err := Plan(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Settings) != 0 {
		t.Errorf("settings %q, want none: everything equals hoist's defaults", r.Settings)
	}
	want := "//go:build mage\n\npackage main\n\nimport (\n\t_ \"github.com/hoistdev/hoist/targets\"         //mage:import\n\t_ \"github.com/hoistdev/hoist/targets/release\" //mage:import\n)\n"
	if r.Magefile != want {
		t.Errorf("magefile:\n%s\nwant:\n%s", r.Magefile, want)
	}
	if r.Version != "3.2.1" || !strings.Contains(r.TagScheme, "as tag 3.2.1") || !r.IgnoreDist {
		t.Errorf("version %q, scheme %q, ignore dist %v; want 3.2.1, plain tags, a /dist/ line", r.Version, r.TagScheme, r.IgnoreDist)
	}
}

func TestPlanOneLine(t *testing.T) {
	dir := repo(t, map[string]string{
		"go.mod":     "module example.com/acme/svc\n\ngo 1.26\n",
		"main.go":    stampMain,
		"VERSION":    "0.4.0\n",
		"Dockerfile": "FROM scratch\nCOPY svc /usr/local/bin/svc\nUSER 65532:65532\n",
		".goreleaser.yaml": `kos:
  - repository: ghcr.io/acme/svc
    tags: ["{{.Version}}", latest, "{{.Major}}.{{.Minor}}"]
    base_image: cgr.dev/chainguard/static
`,
	})
	r, err := Plan(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.WriteVersion {
		t.Error("VERSION exists and must be kept")
	}
	lines := strings.Count(r.Magefile, "\n")
	if lines > 10 || !strings.Contains(r.Magefile, `func init() { targets.Set(targets.Registries("ghcr.io/acme"), targets.FloatingTags) }`) {
		t.Errorf("magefile (%d lines), want ten at most with a one-line init:\n%s", lines, r.Magefile)
	}

	// One setting more no longer fits gofmt's one-line function: the
	// call gets a line of its own, and the magefile two more.
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\nEXPOSE 8080\n"})
	if r, err = Plan(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(r.Magefile, "\n"); lines != 12 || !strings.Contains(r.Magefile, "func init() {\n\ttargets.Set(targets.Registries") {
		t.Errorf("magefile (%d lines):\n%s", lines, r.Magefile)
	}
}

func TestPlanRefuses(t *testing.T) {
	if _, err := Plan(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "root of a Go module") {
		t.Errorf("Plan without go.mod: %v", err)
	}
	dir := repo(t, map[string]string{"go.mod": "module example.com/x\n", "main.go": stampMain, ".goreleaser.yaml": "builds: [\n"})
	if _, err := Plan(context.Background(), dir); err == nil || !strings.Contains(err.Error(), ".goreleaser.yaml") {
		t.Errorf("Plan with broken YAML: %v", err)
	}
}

// TestWriteTakesBack makes the go commands fail (the replace directive
// points nowhere) and checks that nothing Write wrote stays.
func TestWriteTakesBack(t *testing.T) {
	dir := repo(t, map[string]string{"go.mod": "module example.com/acme/svc\n\ngo 1.26\n", "main.go": stampMain, ".gitignore": "*.log"})
	r, err := Plan(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "no-hoist")
	writeFiles(t, missing, map[string]string{"go.mod": "module github.com/hoistdev/hoist\n\ngo 1.26\n"})
	env := append(os.Environ(), "GOPROXY=off", "GOWORK=off")
	err = Write(context.Background(), r, Options{Replace: missing, Env: env})
	if err == nil || !strings.Contains(err.Error(), "go mod tidy") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("Write with a broken hoist: %v", err)
	}
	for _, p := range []string{"magefiles", "VERSION"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("%s is left after the failed init: %v", p, err)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(dir, ".gitignore")); string(data) != "*.log" {
		t.Errorf(".gitignore = %q, want it unchanged", data)
	}

	writeFiles(t, dir, map[string]string{"magefiles/magefile.go": "package main\n"})
	if err := Write(context.Background(), r, Options{Replace: missing, Env: env}); err == nil || !strings.Contains(err.Error(), "-force") {
		t.Errorf("Write over existing magefiles: %v, want a refusal naming -force", err)
	}
	if err := Write(context.Background(), r, Options{Replace: missing, Env: env, Force: true}); err == nil {
		t.Fatal("Write -force with a broken hoist succeeded")
	}
	if data, err := os.ReadFile(filepath.Join(dir, "magefiles/magefile.go")); err != nil || string(data) != "package main\n" {
		t.Errorf("the old magefiles/ was not put back: %q, %v", data, err)
	}
}

func TestParseDockerfile(t *testing.T) {
	stages := parseDockerfile("FROM a AS b\n# c\nRUN x \\\n  y\n\nfrom c\nenv A 1 2\n")
	if len(stages) != 2 || stages[0][1].Cmd != "RUN" || stages[0][1].Args != "x  y" || stages[1][1].Line != 7 {
		t.Errorf("stages = %+v", stages)
	}
	if got := envPairs("A 1 2"); !slices.Equal(got, []string{"A=1 2"}) {
		t.Errorf("envPairs legacy = %q", got)
	}
	if p, ok := installs("apk update && apk add --no-cache ca-certificates tzdata && rm -rf /var/cache/apk/*"); !ok || !slices.Equal(p, []string{"ca-certificates", "tzdata"}) {
		t.Errorf("installs = %q, %v", p, ok)
	}
	if _, ok := installs("apk add curl && curl -o x y"); ok {
		t.Error("a RUN that downloads counts as package installs only")
	}
}
