package release

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/registry"
)

// svcDate is the commit time of svcRepo's first commit.
var svcDate = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// svcRepo writes a throwaway service module with one main package,
// cmd/svc, at VERSION 1.4.0 and commits it.
func svcRepo(t testing.TB) *testRepo {
	t.Helper()
	isolateGit(t)
	r := &testRepo{t: t, dir: t.TempDir()}
	for n, c := range map[string]string{
		"go.mod":          "module example.com/acme/svc\n\ngo 1.26\n",
		"VERSION":         "1.4.0\n",
		"cmd/svc/main.go": "package main\n\nimport \"fmt\"\n\nvar version, commit, date string\n\nfunc main() { fmt.Println(version, commit, date) }\n",
		"README.md":       "svc\n",
		".gitignore":      "/dist/\n",
	} {
		r.write(n, c)
	}
	r.git("init", "-q", "-b", "main")
	r.git("config", "user.name", "t")
	r.git("config", "user.email", "t@example.com")
	r.git("config", "commit.gpgsign", "false")
	r.git("config", "tag.gpgsign", "false")
	r.git("add", ".")
	r.gitAt(svcDate, "commit", "-qm", "feat: first")
	return r
}

// gitAt runs git with the author and committer dates pinned to when.
func (r *testRepo) gitAt(when time.Time, args ...string) string {
	r.t.Helper()
	cmd := exec.CommandContext(context.Background(), "git", append([]string{"-C", r.dir}, args...)...)
	d := when.Format(time.RFC3339)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+d, "GIT_COMMITTER_DATE="+d)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// change appends a line to cmd/svc/extra.go and commits it with message,
// a day after the previous commit, so that every build differs.
func (r *testRepo) change(message string) {
	r.t.Helper()
	r.n++
	f := filepath.Join(r.dir, "cmd", "svc", "extra.go")
	old, _ := os.ReadFile(f)
	if len(old) == 0 {
		old = []byte("package main\n")
	}
	if err := os.WriteFile(f, append(old, []byte("// "+message+"\n")...), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.git("add", ".")
	r.gitAt(svcDate.Add(time.Duration(r.n)*24*time.Hour), "commit", "-qm", message)
}

// open opens a workspace on dir with env as the whole environment (HOME
// and GOROOT aside) and edit applied to the configuration.
func open(t testing.TB, dir string, env map[string]string, edit func(*config.Config)) (*Workspace, *bytes.Buffer) {
	t.Helper()
	all := map[string]string{"HOME": os.Getenv("HOME")}
	for k, v := range env {
		all[k] = v
	}
	e, err := config.ReadEnv(func(k string) string { return all[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Dir, cfg.NoRace = dir, true
	if edit != nil {
		edit(&cfg)
	}
	var out bytes.Buffer
	w, err := Open(cfg, e, &out)
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	return w, &out
}

var (
	registryOnce sync.Once
	registryBin  string
	registryErr  error
)

// registryCommand is hoist-registry built once for these tests, standing
// in for `go tool hoist-registry`, which a throwaway module does not
// declare.
func registryCommand(t testing.TB) string {
	t.Helper()
	registryOnce.Do(func() {
		registryBin = filepath.Join(shared, "hoist-registry")
		if out, err := exec.Command("go", "build", "-o", registryBin, registry.ToolPackage).CombinedOutput(); err != nil {
			registryErr = fmt.Errorf("build hoist-registry: %v\n%s", err, out)
		}
	})
	if registryErr != nil {
		t.Fatal(registryErr)
	}
	return registryBin
}

// memRegistry is go-containerregistry's in-process registry.
func memRegistry(t testing.TB) string {
	t.Helper()
	reg := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	return strings.TrimPrefix(reg.URL, "http://")
}

func TestImageTagsAndNames(t *testing.T) {
	w, _ := open(t, svcRepo(t).dir, nil, func(c *config.Config) { c.Publish.Latest, c.Publish.MinorTag = true, true })
	for _, tt := range []struct {
		v    string
		want []string
	}{
		{v: "1.2.3", want: []string{"1.2.3", "1.2", "latest"}},
		{v: "1.2.3-rc.1", want: []string{"1.2.3-rc.1"}},
		{v: "1.2.3+build.5", want: []string{"1.2.3_build.5", "1.2", "latest"}},
	} {
		if got := w.ImageTags(semver.MustParse(tt.v)); !slices.Equal(got, tt.want) {
			t.Errorf("ImageTags(%s) = %v, want %v", tt.v, got, tt.want)
		}
	}
	if got, err := w.imageMain(); err != nil || got != "svc" {
		t.Errorf("imageMain() = %q, %v, want svc", got, err)
	}
	if got := w.imageSource(); got != "" {
		t.Errorf("imageSource(example.com) = %q, want empty", got)
	}
	w.Proj.Module = "github.com/acme/svc/v2"
	if got := w.imageSource(); got != "https://github.com/acme/svc" {
		t.Errorf("imageSource(github) = %q", got)
	}
	w.Cfg.Image.Main = "nope"
	if _, err := w.imageMain(); err == nil || !strings.Contains(err.Error(), "svc") {
		t.Errorf("imageMain(unknown) = %v, want an error listing svc", err)
	}
	w.Cfg.Image.Main = ""
	w.Proj.Mains = []project.Main{{Name: "a"}, {Name: "b"}}
	if _, err := w.imageMain(); err == nil || !strings.Contains(err.Error(), "Image.Main") {
		t.Errorf("imageMain(two binaries) = %v, want one naming Image.Main", err)
	}
	w.Proj.Mains = append(w.Proj.Mains, project.Main{Name: "svc"})
	if got, _ := w.imageMain(); got != "svc" {
		t.Errorf("imageMain(named like project) = %q, want svc", got)
	}
	if got := w.ImageName(); got != "svc" {
		t.Errorf("ImageName() = %q", got)
	}
	w.Cfg.Image.Name = "other"
	if got := w.ImageName(); got != "other" {
		t.Errorf("ImageName(configured) = %q", got)
	}
}

func TestCurrentStamp(t *testing.T) {
	dir := svcRepo(t).dir
	w, _ := open(t, dir, map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}, nil)
	st, err := w.CurrentStamp(t.Context())
	if err != nil || st.Version.String() != "1.4.0" || !st.Rev.Time.Equal(time.Unix(1700000000, 0)) || len(st.Rev.Commit) != 40 {
		t.Fatalf("CurrentStamp() = %+v, %v; want 1.4.0, the commit and SOURCE_DATE_EPOCH", st, err)
	}
	w.Env.SourceDate = time.Time{}
	if st, _ := w.CurrentStamp(t.Context()); !st.Rev.Time.Equal(svcDate) {
		t.Errorf("CurrentStamp().Rev.Time = %v, want the commit time", st.Rev.Time)
	}

	// Outside git: no commit, the epoch as date.
	plain := t.TempDir()
	os.WriteFile(filepath.Join(plain, "go.mod"), []byte("module example.com/p\n"), 0o644)
	os.WriteFile(filepath.Join(plain, "main.go"), []byte("package main\nfunc main(){}\n"), 0o644)
	w2, _ := open(t, plain, nil, nil)
	rev, err := w2.headRevision(t.Context())
	if err != nil || rev.Commit != "unknown" || !rev.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("headRevision(no git) = %+v, %v", rev, err)
	}
	if _, err := w2.CurrentStamp(t.Context()); err == nil || !strings.Contains(err.Error(), "VERSION") {
		t.Errorf("CurrentStamp(no VERSION file) = %v, want an error naming VERSION", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := svcRepo(t).dir
	e, _ := config.ReadEnv(func(string) string { return "" })
	for _, tt := range []struct {
		name string
		edit func(*config.Config)
		want string
	}{
		{"jobs", func(c *config.Config) { c.Jobs = -1 }, "Jobs"},
		{"no go.mod", func(c *config.Config) { c.Dir = t.TempDir() }, "go.mod"},
		{"image main", func(c *config.Config) { c.Image.Main = "api" }, `Image.Main = "api"`},
	} {
		cfg := config.Config{Dir: dir}
		tt.edit(&cfg)
		if _, err := Open(cfg, e, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%s) = %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
	// No image, no entrypoint to check.
	if _, err := Open(config.Config{Dir: dir, Image: config.Image{Main: "api", Skip: true}}, e, nil); err != nil {
		t.Errorf("Open(Image.Main api, Image.Skip) = %v, want nil", err)
	}
}

func TestWriterAndRel(t *testing.T) {
	w, out := open(t, svcRepo(t).dir, nil, nil)
	w.Writer("x:y").Write([]byte("one\ntwo\n"))
	if got := out.String(); got != "x:y: one\nx:y: two\n" {
		t.Errorf("Writer output = %q", got)
	}
	if got := w.Rel(w.Dist("image")); got != "dist/image" {
		t.Errorf("Rel(Dist(image)) = %q", got)
	}
	for n, want := range map[int64]string{3 << 20: "3.0 MiB", 2048: "2.0 KiB", 12: "12 B"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestBuildImageErrorsAndTarball(t *testing.T) {
	dir := svcRepo(t).dir
	ctx := t.Context()
	w, out := open(t, dir, map[string]string{"PLATFORMS": "windows/amd64"}, nil)
	st, _ := w.CurrentStamp(ctx)
	if _, err := w.BuildBinaries(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := w.BuildImage(ctx, "image:build", st); err == nil || !strings.Contains(err.Error(), "no linux binaries") {
		t.Errorf("BuildImage(windows only) = %v, want a no-linux error", err)
	}
	if !strings.Contains(out.String(), "skipping windows/amd64") {
		t.Errorf("output lacks the skip line: %s", out.String())
	}

	w2, _ := open(t, dir, map[string]string{"PLATFORMS": "linux/amd64", "HOIST_IMAGE_TARBALL": "linux/amd64"}, nil)
	if _, err := w2.BuildBinaries(ctx, st); err != nil {
		t.Fatal(err)
	}
	res, err := w2.BuildImage(ctx, "image:build", st)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tarballs) != 1 {
		t.Fatalf("tarballs = %v", res.Tarballs)
	}
	if fi, err := os.Stat(res.Tarballs[0]); err != nil || fi.Size() == 0 {
		t.Errorf("tarball %s: %v", res.Tarballs[0], err)
	}
	w2.Cfg.Image.Tarball = []string{"linux/s390x"}
	if _, err := w2.BuildImage(ctx, "image:build", st); err == nil || !strings.Contains(err.Error(), "no such platform") {
		t.Errorf("BuildImage(tarball for unbuilt platform) = %v", err)
	}
}

func TestPushWithoutImage(t *testing.T) {
	w, _ := open(t, svcRepo(t).dir, map[string]string{"REGISTRY": "127.0.0.1:1/x"}, nil)
	st, _ := w.CurrentStamp(t.Context())
	if err := w.PushImage(t.Context(), "image:push", st, false); err == nil || !strings.Contains(err.Error(), "image:build") {
		t.Errorf("PushImage(no image) = %v, want a hint to run image:build", err)
	}
	if got := w.Repositories(); !slices.Equal(got, []string{"127.0.0.1:1/x/svc"}) {
		t.Errorf("Repositories() = %v", got)
	}
	if err := w.CheckRegistries(t.Context()); err == nil {
		t.Error("CheckRegistries(unreachable) = nil error")
	}
}

// TestRegistryDir checks that the embedded registry runs in the module that
// declares it as a tool, including a separate magefiles module.
func TestRegistryDir(t *testing.T) {
	r := svcRepo(t)
	w, _ := open(t, r.dir, nil, nil)
	if got := w.RegistryDir(); got != r.dir {
		t.Errorf("RegistryDir(no tool anywhere) = %s, want %s", got, r.dir)
	}
	if got := w.RegistryToolHint(); got != "" {
		t.Errorf("RegistryToolHint(no magefiles module) = %q, want none", got)
	}
	mf := filepath.Join(r.dir, "magefiles")
	r.write("magefiles/go.mod", "module example.com/acme/svc/magefiles\n")
	if got := w.RegistryToolHint(); !strings.Contains(got, "cd magefiles && go get -tool "+registry.ToolPackage) {
		t.Errorf("RegistryToolHint(magefiles module without the tool) = %q, want the command for magefiles/", got)
	}
	r.write("magefiles/go.mod", "module example.com/acme/svc/magefiles\n\ntool "+registry.ToolPackage+"\n")
	if got := w.RegistryDir(); got != mf {
		t.Errorf("RegistryDir(tool in magefiles/go.mod) = %s, want %s", got, mf)
	}
	r.write("go.mod", "module example.com/acme/svc\n\ngo 1.26\n\ntool "+registry.ToolPackage+"\n")
	if got := w.RegistryDir(); got != r.dir {
		t.Errorf("RegistryDir(tool in both) = %s, want the module root %s", got, r.dir)
	}
	w.Cfg.Publish.EmbeddedCommand = []string{"/bin/hoist-registry"}
	if got := w.RegistryToolHint(); got != "" {
		t.Errorf("RegistryToolHint(own command) = %q, want none", got)
	}
}

// TestStaticFiles checks the static-directory convention and that the
// image follows the content of those files, not only the binaries.
func TestStaticFiles(t *testing.T) {
	r := svcRepo(t)
	for n, c := range map[string]string{
		"ui/index.html":           "<h1>v1</h1>\n",
		"ui/js/app.js":            "console.log(1)\n",
		"web/handler.go":          "package web\n",
		"static/src/package.json": "{}\n",
		"static/src/index.tsx":    "x\n",
		"public/.env":             "TOKEN=secret\n",
		"public/robots.txt":       "User-agent: *\n",
	} {
		r.write(n, c)
	}
	w, out := open(t, r.dir, map[string]string{"PLATFORMS": "linux/amd64"}, nil)
	files, err := w.staticFiles("image:build", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Src != "ui" || files[0].Dst != "/home/nonroot/ui" {
		t.Errorf("staticFiles() = %+v, want ui -> /home/nonroot/ui only", files)
	}
	for _, want := range []string{"static/ not copied into the image: it holds frontend sources (static/src/package.json)", "web/ not copied into the image: it is a Go package", "public/ not copied into the image: it holds a hidden file (public/.env)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("staticFiles() output = %q, want %q", out.String(), want)
		}
	}

	ctx := t.Context()
	st, _ := w.CurrentStamp(ctx)
	if _, err := w.BuildBinaries(ctx, st); err != nil {
		t.Fatal(err)
	}
	first, err := w.BuildImage(ctx, "image:build", st)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.BuildImage(ctx, "image:build", st)
	if err != nil || !again.Skipped {
		t.Errorf("BuildImage(unchanged) skipped = %v, %v; want skipped", again != nil && again.Skipped, err)
	}
	r.write("ui/index.html", "<h1>v2</h1>\n")
	changed, err := w.BuildImage(ctx, "image:build", st)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Skipped || changed.Digest == first.Digest || changed.Reason != "extra files changed" {
		t.Errorf("BuildImage(ui/index.html edited) = skipped %v, digest %s, reason %q; want a new image because the files changed", changed.Skipped, changed.Digest, changed.Reason)
	}
	w.Cfg.Image.Files = []image.File{}
	none, err := w.BuildImage(ctx, "image:build", st)
	if err != nil {
		t.Fatal(err)
	}
	if none.Digest == changed.Digest {
		t.Error("BuildImage(Files empty) kept the static files, want none")
	}
	w.Cfg.Image.Files = []image.File{{Src: "missing", Dst: "/srv/missing"}}
	if _, err := w.BuildImage(ctx, "image:build", st); err == nil || !strings.Contains(err.Error(), "Image.Files source") {
		t.Errorf("BuildImage(missing Src) = %v, want an error naming Image.Files", err)
	}
}

// TestBuildImagePush runs the build, image and push the targets call,
// against an in-process registry.
func TestBuildImagePush(t *testing.T) {
	r := svcRepo(t)
	host := memRegistry(t)
	w, out := open(t, r.dir, map[string]string{"PLATFORMS": "linux/amd64,linux/arm64,windows/amd64", "REGISTRY": host + "/acme", "HOIST_FLOATING_TAGS": "1"},
		func(c *config.Config) { c.Publish.MinorTag, c.Publish.Latest = true, true })
	ctx := t.Context()
	st, err := w.CurrentStamp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w.HasImage(ctx, st) {
		t.Error("HasImage() before any build = true")
	}
	if _, err := w.BuildBinaries(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := w.BuildImage(ctx, "image:build", st); err != nil {
		t.Fatal(err)
	}
	if err := w.PushImage(ctx, "image:push", st, false); err != nil {
		t.Fatalf("push: %v\n%s", err, out.String())
	}
	log := out.String()
	for _, want := range []string{
		"go:build: svc", "no previous build", "image:build: index sha256:", "linux/arm64",
		host + "/acme/svc:1.4.0", host + "/acme/svc:1.4", host + "/acme/svc:latest",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("output lacks %q:\n%s", want, log)
		}
	}
	if runtime.GOOS+"/"+runtime.GOARCH == "linux/amd64" {
		got, err := exec.Command(filepath.Join(r.dir, "dist", "svc_linux_amd64", "svc")).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(got), "1.4.0 ") || !strings.Contains(string(got), "2025-03-04T05:06:07Z") {
			t.Errorf("stamped binary printed %q, want version 1.4.0 and the commit date", got)
		}
	}
	ref, _ := name.ParseReference(host + "/acme/svc:1.4.0")
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatalf("pull back: %v", err)
	}
	arts, err := artifact.Load(filepath.Join(r.dir, "dist", "artifacts.json"))
	if err != nil {
		t.Fatal(err)
	}
	idx := arts.Filter(artifact.ByType(artifact.ImageIndex))
	if len(idx) != 1 || idx[0].Digest != desc.Digest.String() {
		t.Errorf("artifacts.json index = %+v, registry has %s", idx, desc.Digest)
	}
	if n := len(arts.Filter(artifact.ByType(artifact.Binary))); n != 3 {
		t.Errorf("artifacts.json holds %d binaries, want 3", n)
	}
	if n := len(arts.Filter(artifact.ByType(artifact.ImagePush))); n != 3 {
		t.Errorf("artifacts.json holds %d pushed refs, want 3 (one per tag)", n)
	}

	// A second push reuses dist/image and uploads nothing.
	out.Reset()
	if err := w.PushImage(ctx, "image:push", st, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0 blobs uploaded") || !w.HasImage(ctx, st) {
		t.Errorf("re-push output = %q, want 0 blobs uploaded", out.String())
	}
	// The image skips when nothing changed.
	out.Reset()
	if _, err := w.BuildImage(ctx, "image:build", st); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "skipped: up to date") {
		t.Errorf("image rebuild output = %q, want a skip", out.String())
	}
}

// TestSplitAndMerge builds and pushes each platform separately, as two CI
// runners would, then merges the digests into one tagged index.
func TestSplitAndMerge(t *testing.T) {
	r := svcRepo(t)
	host := memRegistry(t)
	ctx := t.Context()
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		w, out := open(t, r.dir, map[string]string{"PLATFORMS": p, "REGISTRY": host}, nil)
		st, _ := w.CurrentStamp(ctx)
		if _, err := w.BuildBinaries(ctx, st); err != nil {
			t.Fatal(err)
		}
		if _, err := w.BuildImage(ctx, "image:build", st); err != nil {
			t.Fatal(err)
		}
		if err := w.PushPlatforms(ctx, "image:pushByDigest", st); err != nil {
			t.Fatalf("PushPlatforms(%s): %v\n%s", p, err, out)
		}
	}
	w, out := open(t, r.dir, map[string]string{"REGISTRY": host}, nil)
	st, _ := w.CurrentStamp(ctx)
	if err := w.Merge(ctx, "image:merge", st); err != nil {
		t.Fatalf("Merge: %v\n%s", err, out)
	}
	ref, _ := name.ParseReference(host + "/svc:1.4.0")
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range m.Manifests {
		got = append(got, d.Platform.String())
	}
	if strings.Join(got, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("merged index platforms = %v, want linux/amd64 and linux/arm64", got)
	}

	// Errors name the fix.
	w2, _ := open(t, r.dir, nil, nil)
	if err := w2.PushPlatforms(ctx, "x", st); err == nil || !strings.Contains(err.Error(), "REGISTRY") {
		t.Errorf("PushPlatforms(no registry) = %v", err)
	}
	if err := w2.Merge(ctx, "x", st); err == nil || !strings.Contains(err.Error(), "REGISTRY") {
		t.Errorf("Merge(no registry) = %v", err)
	}
	w3, _ := open(t, r.dir, map[string]string{"REGISTRY": host}, nil)
	os.RemoveAll(filepath.Join(r.dir, "dist", "digests"))
	if err := w3.Merge(ctx, "x", st); err == nil || !strings.Contains(err.Error(), "DIGESTS") {
		t.Errorf("Merge(no digests) = %v, want the DIGESTS hint", err)
	}
}

// TestPushNeverMovesReleasedTag pushes outside a release after a release:
// a commit past the release goes out under a snapshot version, the tagged
// commit can be pushed again (the same digest), and a version tag that
// names another build is refused.
func TestPushNeverMovesReleasedTag(t *testing.T) {
	r := svcRepo(t)
	host := memRegistry(t)
	env := map[string]string{"PLATFORMS": "linux/amd64", "REGISTRY": host}
	latest := func(c *config.Config) { c.Publish.Latest = true }
	rl := &releaser{t: t, r: r, env: env, edit: latest}
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	released := rl.manifest().Images[0].Digest
	push := func(extra map[string]string) (string, error) {
		t.Helper()
		w, out := open(t, r.dir, rl.with(extra), latest)
		ctx := t.Context()
		st, err := w.CurrentStamp(ctx)
		if err != nil {
			return "", err
		}
		if _, err := w.BuildBinaries(ctx, st); err != nil {
			return "", err
		}
		if _, err := w.BuildImage(ctx, "image:build", st); err != nil {
			return "", err
		}
		err = w.PushImage(ctx, "image:push", st, false)
		return out.String(), err
	}
	tagDigest := func(tag string) string {
		d, err := publishTagDigest(t, host+"/svc", tag)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	r.change("fix: after the release")
	out, err := push(map[string]string{"HOIST_FLOATING_TAGS": "1"})
	if err != nil || !strings.Contains(out, "HEAD is past v1.4.0: pushing this build as 1.4.1-snapshot.") {
		t.Fatalf("push past the release = %v, want a snapshot push that says so:\n%s", err, out)
	}
	if tagDigest("1.4.0") != released || tagDigest("latest") != released {
		t.Errorf("a push past the release moved 1.4.0 or latest")
	}

	// The released commit pushes again as 1.4.0: the same bytes, nothing moves.
	r.git("checkout", "-q", "v1.4.0")
	if out, err := push(nil); err != nil || tagDigest("1.4.0") != released {
		t.Errorf("push of the released commit = %v, 1.4.0 = %s, want %s:\n%s", err, tagDigest("1.4.0"), released, out)
	}
	r.git("checkout", "-q", "main")

	// VERSION 1.5.0 is not released yet: the first push names 1.5.0, a
	// push of a later commit may not move it.
	r.write("VERSION", "1.5.0\n")
	r.git("commit", "-qam", "chore: 1.5.0")
	if out, err := push(nil); err != nil {
		t.Fatalf("push of unreleased 1.5.0: %v\n%s", err, out)
	}
	r.change("fix: another")
	_, err = push(nil)
	if err == nil || !strings.Contains(err.Error(), "svc:1.5.0 already names") || !strings.Contains(err.Error(), "never moves outside a release") {
		t.Errorf("push moving 1.5.0 = %v, want a refusal", err)
	}
}

// publishTagDigest reads what a tag names in the in-process registry.
func publishTagDigest(t *testing.T, repo, tag string) (string, error) {
	t.Helper()
	ref, err := name.ParseReference(repo + ":" + tag)
	if err != nil {
		return "", err
	}
	d, err := remote.Head(ref)
	if err != nil {
		return "", err
	}
	return d.Digest.String(), nil
}

// TestDistLock runs two builds of one dist/ at once: the second is refused
// at once, naming the first, and the lock is free again afterwards.
func TestDistLock(t *testing.T) {
	r := svcRepo(t)
	first, _ := open(t, r.dir, map[string]string{"PLATFORMS": "linux/amd64"}, nil)
	first.Targets = "image:push"
	unlock, err := first.lockDist()
	if err != nil {
		t.Fatal(err)
	}
	second, _ := open(t, r.dir, map[string]string{"PLATFORMS": "linux/amd64"}, nil)
	st, _ := second.CurrentStamp(t.Context())
	_, err = second.BuildBinaries(t.Context(), st)
	if err == nil || !strings.Contains(err.Error(), "another hoist run (pid") || !strings.Contains(err.Error(), "image:push") || !strings.Contains(err.Error(), "is using dist") {
		t.Errorf("build while another run holds dist/ = %v, want a refusal naming it", err)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "dist", "svc_linux_amd64")); err == nil {
		t.Error("the refused build wrote its output")
	}
	unlock()
	if _, err := second.BuildBinaries(t.Context(), st); err != nil {
		t.Errorf("build after the lock was released = %v", err)
	}
}

// TestEmbeddedShared has two runs push to one embedded registry: the run
// that started it waits for the other before stopping it, so both pushes
// succeed, and the registry stops once both are done.
func TestEmbeddedShared(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"PLATFORMS": "linux/amd64", "HOIST_REGISTRY_DATA": data, "HOIST_REGISTRY_COMMAND": registryCommand(t)}
	a, outA := open(t, svcRepo(t).dir, env, nil)
	// The second run finds the directory served and uses that registry
	// without starting its own command, which here could not even start
	// (a real first start would compile hoist-registry).
	envB := maps.Clone(env)
	envB["HOIST_REGISTRY_COMMAND"] = "/nonexistent/hoist-registry"
	b, _ := open(t, svcRepo(t).dir, envB, nil)
	ctx := t.Context()
	ea, err := a.StartEmbedded(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := b.StartEmbedded(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if eb.proc != nil || eb.Host != ea.Host {
		t.Fatalf("the second run started its own registry at %s, want it to use %s", eb.Host, ea.Host)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- ea.Stop(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("the first run stopped the registry (%v) while the second still uses it", err)
	case <-time.After(700 * time.Millisecond):
	}
	if err := registry.Ping(ctx, eb.Host); err != nil {
		t.Fatalf("the registry went away under the second run: %v", err)
	}
	if err := eb.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("stopping the registry after the last user = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the registry did not stop after its last user left")
	}
	if !strings.Contains(outA.String(), "waiting for 1 other run still pushing") {
		t.Errorf("the first run did not say what it waited for:\n%s", outA.String())
	}
	if registry.Ping(ctx, ea.Host) == nil {
		t.Error("the registry still answers after both runs stopped")
	}
}

// TestEmbeddedRepair deletes a layer from the embedded registry's storage
// after a push: the next push must notice and send it again, not take the
// tag for proof that the image is complete.
func TestEmbeddedRepair(t *testing.T) {
	r := svcRepo(t)
	data := t.TempDir()
	w, out := open(t, r.dir, map[string]string{"PLATFORMS": "linux/amd64", "HOIST_REGISTRY_DATA": data, "HOIST_REGISTRY_COMMAND": registryCommand(t)}, nil)
	ctx := t.Context()
	st, _ := w.CurrentStamp(ctx)
	if _, err := w.BuildBinaries(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := w.BuildImage(ctx, "image:build", st); err != nil {
		t.Fatal(err)
	}
	if err := w.PushImage(ctx, "image:push", st, false); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := w.PushImage(ctx, "image:push", st, false); err != nil || !strings.Contains(out.String(), "already holds") {
		t.Fatalf("second push = %v, want the shortcut:\n%s", err, out)
	}
	idx, err := w.readImage(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	_, blobs, _ := imageParts(idx)
	hex := strings.TrimPrefix(blobs[len(blobs)-1], "sha256:")
	if err := os.RemoveAll(filepath.Join(data, "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex)); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := w.PushImage(ctx, "image:push", st, false); err != nil {
		t.Fatalf("push after a layer went missing = %v\n%s", err, out)
	}
	if strings.Contains(out.String(), "already holds") || !strings.Contains(out.String(), "1 blob uploaded") {
		t.Errorf("push after a layer went missing did not send it again:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(data, "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex, "data")); err != nil {
		t.Errorf("the missing layer is still missing: %v", err)
	}

	// A damaged tag link is named, with its repair, before any request.
	tagDir := filepath.Join(data, "docker", "registry", "v2", "repositories", "svc", "_manifests", "tags", "1.4.0")
	os.WriteFile(filepath.Join(tagDir, "current", "link"), []byte("garbage"), 0o644)
	err = w.PushImage(ctx, "image:push", st, false)
	if err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), "remove "+tagDir) {
		t.Fatalf("push with a damaged tag link = %v, want the file and the repair named", err)
	}
	os.RemoveAll(tagDir)
	if err := w.PushImage(ctx, "image:push", st, false); err != nil {
		t.Errorf("push after the repair the error named = %v", err)
	}
}
