package sbom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/hoistdev/hoist/checksum"
)

var commitTime = time.Date(2024, 5, 17, 13, 45, 10, 0, time.UTC)

// secret is planted in the build environment; it must never reach an SBOM.
const secret = "HOIST_SECRET=hunter2"

// buildModule writes a module from files into a fresh directory and builds
// it with the real toolchain, offline: only the module cache can satisfy
// dependencies.
func buildModule(t testing.TB, files map[string]string, env []string, args ...string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go toolchain not on PATH")
	}
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "hello")
	cmd := exec.CommandContext(t.Context(), goTool, append(append([]string{"build", "-o", out}, args...), ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	cmd.Env = append(cmd.Env, env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v = %v:\n%s", args, err, b)
	}
	return out
}

var helloModule = map[string]string{
	"go.mod":  "module example.com/hello\n\ngo 1.24\n",
	"main.go": "package main\n\nvar version = \"dev\"\n\nfunc main() { println(version) }\n",
}

// buildHello builds a dependency-free binary the way a release does, but
// without -trimpath so that Go records -ldflags, and with cgo enabled and
// a secret in CGO_CFLAGS so that Go records that too.
func buildHello(t testing.TB) string {
	return buildModule(t, helloModule, []string{"CGO_ENABLED=1", "CGO_CFLAGS=-O2 -D" + secret},
		"-ldflags=-s -w -X main.version=1.2.3")
}

func TestWriteRealBinary(t *testing.T) {
	bin := buildHello(t)
	dst := filepath.Join(t.TempDir(), "sbom", "hello.spdx.json")
	if err := Write(t.Context(), bin, dst, WithCreated(commitTime), WithVersion("1.2.3")); err != nil {
		t.Fatalf("Write(%s) = %v, want nil", bin, err)
	}
	raw, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("hunter2")) || bytes.Contains(raw, []byte("CGO_CFLAGS")) {
		t.Errorf("Write(%s) output contains the CGO_CFLAGS environment value, want it left out", bin)
	}
	doc := readBack(t, raw)

	sum, _, err := checksum.SHA256File(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://hoist.dev/spdx/hello-1.2.3-" + sum[:12]; doc.DocumentNamespace != want {
		t.Errorf("namespace = %q, want %q", doc.DocumentNamespace, want)
	}
	if doc.DocumentName != "hello-1.2.3" {
		t.Errorf("name = %q, want %q", doc.DocumentName, "hello-1.2.3")
	}
	if doc.CreationInfo.Created != "2024-05-17T13:45:10Z" {
		t.Errorf("created = %q, want 2024-05-17T13:45:10Z", doc.CreationInfo.Created)
	}
	wantCreators := []common.Creator{{CreatorType: "Tool", Creator: "hoist"}}
	if diff := cmp.Diff(wantCreators, doc.CreationInfo.Creators); diff != "" {
		t.Errorf("creators mismatch (-want +got):\n%s", diff)
	}

	binPkg := findPackage(t, doc, "hello")
	wantSums := []common.Checksum{{Algorithm: common.SHA256, Value: sum}}
	if diff := cmp.Diff(wantSums, binPkg.PackageChecksums); diff != "" {
		t.Errorf("binary checksums mismatch (-want +got):\n%s", diff)
	}
	if binPkg.PackageVersion != "1.2.3" {
		t.Errorf("binary version = %q, want 1.2.3", binPkg.PackageVersion)
	}
	var settings []string
	for _, a := range binPkg.Annotations {
		settings = append(settings, strings.TrimPrefix(a.AnnotationComment, "go build setting: "))
	}
	for _, want := range []string{
		"-ldflags=-s -w -X main.version=1.2.3",
		"CGO_ENABLED=1",
		"GOOS=" + runtime.GOOS,
		"GOARCH=" + runtime.GOARCH,
		"-buildmode=exe",
	} {
		if !slices.Contains(settings, want) {
			t.Errorf("binary annotations = %q, want one for %q", settings, want)
		}
	}

	main := findPackage(t, doc, "example.com/hello")
	if got, want := purls(main), []string{"pkg:golang/example.com/hello@v1.2.3"}; !cmp.Equal(got, want) {
		t.Errorf("main module PURLs = %q, want %q", got, want)
	}
	goVersion, _, _ := strings.Cut(runtime.Version(), " ")
	std := findPackage(t, doc, "stdlib")
	if got, want := purls(std), []string{"pkg:golang/stdlib@" + strings.TrimPrefix(goVersion, "go")}; !cmp.Equal(got, want) || std.PackageVersion != goVersion {
		t.Errorf("stdlib PURLs = %q, want %q", got, want)
	}
	wantRels := []string{
		"SPDXRef-DOCUMENT DESCRIBES SPDXRef-Binary-hello",
		"SPDXRef-Binary-hello GENERATED_FROM SPDXRef-Module-example.com-hello",
		"SPDXRef-Module-example.com-hello DEPENDS_ON SPDXRef-Stdlib",
	}
	if diff := cmp.Diff(wantRels, relationships(doc)); diff != "" {
		t.Errorf("relationships mismatch (-want +got):\n%s", diff)
	}
	assertNoTemp(t, filepath.Dir(dst))
}

func TestWriteWithDependencies(t *testing.T) {
	gomodcache := filepath.Join(os.Getenv("HOME"), "go", "pkg", "mod")
	if out, err := exec.CommandContext(t.Context(), "go", "env", "GOMODCACHE").Output(); err == nil {
		gomodcache = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(filepath.Join(gomodcache, "github.com", "google", "go-cmp@v0.7.0")); err != nil {
		t.Skip("github.com/google/go-cmp@v0.7.0 is not in the module cache")
	}
	const cmpSum = "h1:wk8382ETsv4JYUZwIsn6YpYiWiBsYLSJiTsyBybVuN8="
	bin := buildModule(t, map[string]string{
		"go.mod": "module example.com/svc\n\ngo 1.24\n\nrequire (\n\tgithub.com/google/go-cmp v0.7.0\n\texample.com/lib v0.0.0\n)\n\nreplace example.com/lib => ./lib\n",
		"go.sum": "github.com/google/go-cmp v0.7.0 " + cmpSum + "\n" +
			"github.com/google/go-cmp v0.7.0/go.mod h1:pXiqmnSA92OHEEa9HXL2W4E7lf9JzCmGVUdgjX3N/iU=\n",
		"main.go":    "package main\n\nimport (\n\t\"example.com/lib\"\n\t\"github.com/google/go-cmp/cmp\"\n)\n\nfunc main() { println(cmp.Equal(lib.X, 2)) }\n",
		"lib/go.mod": "module example.com/lib\n\ngo 1.24\n",
		"lib/lib.go": "package lib\n\nvar X = 1\n",
	}, []string{"CGO_ENABLED=0"}, "-trimpath")

	dst := filepath.Join(t.TempDir(), "svc.spdx.json")
	if err := Write(t.Context(), bin, dst, WithName("svc")); err != nil {
		t.Fatalf("Write(%s) = %v, want nil", bin, err)
	}
	raw, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	doc := readBack(t, raw)
	if doc.DocumentName != "svc-devel" {
		t.Errorf("name = %q, want svc-devel for a (devel) build without WithVersion", doc.DocumentName)
	}
	if doc.CreationInfo.Created != "1970-01-01T00:00:00Z" {
		t.Errorf("created = %q, want the Unix epoch by default", doc.CreationInfo.Created)
	}

	goCmp := findPackage(t, doc, "github.com/google/go-cmp")
	if goCmp.PackageVersion != "v0.7.0" {
		t.Errorf("go-cmp version = %q, want v0.7.0", goCmp.PackageVersion)
	}
	if got, want := purls(goCmp), []string{"pkg:golang/github.com/google/go-cmp@v0.7.0"}; !cmp.Equal(got, want) {
		t.Errorf("go-cmp PURLs = %q, want %q", got, want)
	}
	if !strings.Contains(goCmp.PackageComment, cmpSum) {
		t.Errorf("go-cmp comment = %q, want it to carry the go.sum hash %s", goCmp.PackageComment, cmpSum)
	}
	if len(goCmp.PackageChecksums) != 0 {
		t.Errorf("go-cmp checksums = %v, want none: an h1 dirhash is not a file checksum", goCmp.PackageChecksums)
	}
	lib := findPackage(t, doc, "example.com/lib")
	if len(lib.PackageExternalReferences) != 0 || !strings.Contains(lib.PackageComment, "local directory ./lib") {
		t.Errorf("replaced lib = refs %v, comment %q; want no PURL and a note about the local replacement", purls(lib), lib.PackageComment)
	}
	main := findPackage(t, doc, "example.com/svc")
	if got, want := purls(main), []string{"pkg:golang/example.com/svc"}; !cmp.Equal(got, want) {
		t.Errorf("main module PURLs = %q, want %q (no version for a devel build)", got, want)
	}
	bin0 := findPackage(t, doc, "hello")
	var settings []string
	for _, a := range bin0.Annotations {
		settings = append(settings, a.AnnotationComment)
	}
	if !slices.Contains(settings, "go build setting: -trimpath=true") {
		t.Errorf("binary annotations = %q, want -trimpath=true", settings)
	}
	wantRels := []string{
		"SPDXRef-DOCUMENT DESCRIBES SPDXRef-Binary-svc",
		"SPDXRef-Binary-svc GENERATED_FROM SPDXRef-Module-example.com-svc",
		"SPDXRef-Module-example.com-svc DEPENDS_ON SPDXRef-Module-example.com-lib",
		"SPDXRef-Module-example.com-svc DEPENDS_ON SPDXRef-Module-github.com-google-go-cmp",
		"SPDXRef-Module-example.com-svc DEPENDS_ON SPDXRef-Stdlib",
	}
	if diff := cmp.Diff(wantRels, relationships(doc)); diff != "" {
		t.Errorf("relationships mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteDeterministic(t *testing.T) {
	bin := buildHello(t)
	dir := t.TempDir()
	var outs [][]byte
	for _, name := range []string{"a.spdx.json", "b.spdx.json"} {
		dst := filepath.Join(dir, name)
		if err := Write(t.Context(), bin, dst, WithCreated(commitTime), WithVersion("1.2.3")); err != nil {
			t.Fatalf("Write(%s) = %v, want nil", dst, err)
		}
		b, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Errorf("Write twice gave different bytes:\n%s\nvs\n%s", outs[0], outs[1])
	}
}

func TestGenerateTestBinary(t *testing.T) {
	// The running test binary is a real Go binary built by another route
	// (go test), with cgo on.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Generate(t.Context(), exe)
	if err != nil {
		t.Fatalf("Generate(test binary) = %v, want nil", err)
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		t.Errorf("ValidateDocument(Generate(test binary)) = %v, want nil", err)
	}
	// Test binaries record their main module but no dependencies.
	p := findPackage(t, doc, "github.com/hoistdev/hoist")
	if got, want := purls(p), []string{"pkg:golang/github.com/hoistdev/hoist"}; !cmp.Equal(got, want) {
		t.Errorf("main module PURLs = %q, want %q", got, want)
	}
}

func TestGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "README.md")
	if err := os.WriteFile(text, []byte("# not a binary\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		opts    []Option
		wantErr string
	}{
		{name: "text file", path: text, wantErr: "could not read Go build info from " + text + ": unrecognized file format; pass a binary"},
		{name: "missing", path: filepath.Join(dir, "web"), wantErr: "does not exist; build it before"},
		{name: "relative namespace", path: text, opts: []Option{WithNamespaceBase("hoist.dev/spdx")}, wantErr: "want an absolute URL"},
		{name: "namespace with fragment", path: text, opts: []Option{WithNamespaceBase("https://x.dev/spdx#frag")}, wantErr: "without query or fragment"},
		{name: "name with slash", path: text, opts: []Option{WithName("dist/web")}, wantErr: "cannot contain path separators"},
	}
	// A real non-Go executable from the system, when one is there.
	if sh, err := exec.LookPath("sh"); err == nil {
		tests = append(tests, struct {
			name    string
			path    string
			opts    []Option
			wantErr string
		}{name: "non-Go executable", path: sh, wantErr: "pass a binary produced by go build"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Generate(t.Context(), tt.path, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Generate(%s) = %v, %v, want error containing %q", tt.path, doc, err, tt.wantErr)
			}
			dst := filepath.Join(t.TempDir(), "out.spdx.json")
			if err := Write(t.Context(), tt.path, dst, tt.opts...); err == nil {
				t.Errorf("Write(%s) = nil, want an error", tt.path)
			}
			if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after failed Write, stat(%s) = %v, want not exist", dst, err)
			}
		})
	}
}

func TestGenerateCancelled(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Generate(ctx, exe); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate(cancelled ctx) = %v, want context.Canceled", err)
	}
}

func TestWriteRenameFailure(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dst := filepath.Join(dir, "web.spdx.json")
	if err := os.MkdirAll(filepath.Join(dst, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	err = Write(t.Context(), exe, dst)
	if err == nil || !strings.Contains(err.Error(), "rename into place") {
		t.Fatalf("Write(over a directory) = %v, want a rename error", err)
	}
	assertNoTemp(t, dir)
}

func TestFromBuildInfo(t *testing.T) {
	const sum = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	base := func() *debug.BuildInfo {
		return &debug.BuildInfo{
			GoVersion: "go1.26.0 X:jsonv2",
			Path:      "example.com/web/cmd/web",
			Main:      debug.Module{Path: "example.com/web", Version: "v0.3.0"},
			Settings: []debug.BuildSetting{
				{Key: "-ldflags", Value: "-X main.version=0.3.0"},
				{Key: "CGO_ENABLED", Value: "1"},
				{Key: "CGO_CFLAGS", Value: "-D" + secret},
				{Key: "CGO_LDFLAGS", Value: "-L/home/me/secret"},
				{Key: "GOOS", Value: "windows"},
				{Key: "GOARCH", Value: "amd64"},
				{Key: "FUTURE_ENV_THING", Value: "x"},
				{Key: "vcs.revision", Value: "abc123"},
			},
		}
	}
	tests := []struct {
		name     string
		bi       func() *debug.BuildInfo
		file     string
		opts     []Option
		wantName string
		// wantPkgs maps package name to "version purl..." for a compact check.
		wantPkgs map[string]string
		wantRels []string
		wantNote map[string]string
	}{
		{
			name:     "defaults from build info",
			bi:       base,
			file:     "web.exe",
			wantName: "web-v0.3.0",
			wantPkgs: map[string]string{
				"web.exe":         "v0.3.0",
				"example.com/web": "v0.3.0 pkg:golang/example.com/web@v0.3.0",
				"stdlib":          "go1.26.0 pkg:golang/stdlib@1.26.0",
			},
			wantRels: []string{
				"SPDXRef-DOCUMENT DESCRIBES SPDXRef-Binary-web",
				"SPDXRef-Binary-web GENERATED_FROM SPDXRef-Module-example.com-web",
				"SPDXRef-Module-example.com-web DEPENDS_ON SPDXRef-Stdlib",
			},
			wantNote: map[string]string{"web.exe": "Go executable for windows/amd64 built with go1.26.0."},
		},
		{
			name: "replacements and folded ids",
			bi: func() *debug.BuildInfo {
				bi := base()
				bi.Main.Version = "(devel)"
				bi.Deps = []*debug.Module{
					{Path: "example.com/a-b", Version: "v1.0.0", Sum: "h1:aaa="},
					{Path: "example.com/a_b", Version: "v1.1.0", Sum: "h1:bbb="},
					{Path: "example.com/old", Version: "v1.0.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.0.1", Sum: "h1:ccc="}},
				}
				return bi
			},
			file:     "web",
			opts:     []Option{WithVersion("0.4.0"), WithName("api")},
			wantName: "api-0.4.0",
			wantPkgs: map[string]string{
				"web":             "0.4.0",
				"example.com/web": "v0.4.0 pkg:golang/example.com/web@v0.4.0",
				"example.com/a-b": "v1.0.0 pkg:golang/example.com/a-b@v1.0.0",
				"example.com/a_b": "v1.1.0 pkg:golang/example.com/a_b@v1.1.0",
				"example.com/old": "v1.0.1 pkg:golang/example.com/fork@v1.0.1",
				"stdlib":          "go1.26.0 pkg:golang/stdlib@1.26.0",
			},
			wantRels: []string{
				"SPDXRef-DOCUMENT DESCRIBES SPDXRef-Binary-api",
				"SPDXRef-Binary-api GENERATED_FROM SPDXRef-Module-example.com-web",
				"SPDXRef-Module-example.com-web DEPENDS_ON SPDXRef-Module-example.com-a-b",
				"SPDXRef-Module-example.com-web DEPENDS_ON SPDXRef-Module-example.com-a-b-2",
				"SPDXRef-Module-example.com-web DEPENDS_ON SPDXRef-Module-example.com-old",
				"SPDXRef-Module-example.com-web DEPENDS_ON SPDXRef-Stdlib",
			},
			wantNote: map[string]string{
				"example.com/old": "Replaced by example.com/fork@v1.0.1. go.sum hash h1:ccc= (Go module dirhash, not a file checksum).",
				"example.com/a-b": "go.sum hash h1:aaa= (Go module dirhash, not a file checksum).",
			},
		},
		{
			name: "no main module",
			bi: func() *debug.BuildInfo {
				bi := base()
				bi.Path = "command-line-arguments"
				bi.Main = debug.Module{}
				bi.Settings = nil
				bi.Deps = []*debug.Module{{Path: "example.com/dep", Version: "v2.0.0+incompatible"}}
				return bi
			},
			file:     "tool",
			wantName: "tool-devel",
			wantPkgs: map[string]string{
				"tool":            "",
				"example.com/dep": "v2.0.0+incompatible pkg:golang/example.com/dep@v2.0.0+incompatible",
				"stdlib":          "go1.26.0 pkg:golang/stdlib@1.26.0",
			},
			wantRels: []string{
				"SPDXRef-DOCUMENT DESCRIBES SPDXRef-Binary-tool",
				"SPDXRef-Binary-tool DEPENDS_ON SPDXRef-Module-example.com-dep",
				"SPDXRef-Binary-tool DEPENDS_ON SPDXRef-Stdlib",
			},
			wantNote: map[string]string{"tool": "Go executable for unknown/unknown built with go1.26.0."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := makeOptions(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			doc := fromBuildInfo(tt.bi(), tt.file, sum, o)
			if doc.DocumentName != tt.wantName {
				t.Errorf("fromBuildInfo() name = %q, want %q", doc.DocumentName, tt.wantName)
			}
			got := map[string]string{}
			for _, p := range doc.Packages {
				got[p.PackageName] = strings.TrimSpace(p.PackageVersion + " " + strings.Join(purls(p), " "))
			}
			if diff := cmp.Diff(tt.wantPkgs, got); diff != "" {
				t.Errorf("fromBuildInfo() packages mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRels, relationships(doc)); diff != "" {
				t.Errorf("fromBuildInfo() relationships mismatch (-want +got):\n%s", diff)
			}
			for name, want := range tt.wantNote {
				if p := findPackage(t, doc, name); p.PackageComment != want {
					t.Errorf("fromBuildInfo() comment of %s = %q, want %q", name, p.PackageComment, want)
				}
			}
			// Whatever the input, the document must survive the JSON round
			// trip and validation.
			var buf bytes.Buffer
			if err := spdxjson.Write(doc, &buf); err != nil {
				t.Fatalf("spdxjson.Write(fromBuildInfo()) = %v", err)
			}
			readBack(t, buf.Bytes())
			if bytes.Contains(buf.Bytes(), []byte("hunter2")) || bytes.Contains(buf.Bytes(), []byte("/home/me")) || bytes.Contains(buf.Bytes(), []byte("FUTURE_ENV_THING")) {
				t.Errorf("fromBuildInfo() JSON contains a setting outside the allow-list:\n%s", buf.Bytes())
			}
		})
	}
}

func TestURLSafe(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "semver", in: "1.2.3-rc.1+meta", want: "1.2.3-rc.1+meta"},
		{name: "devel placeholder", in: "(devel)", want: "devel"},
		{name: "spaces and slashes", in: "svc/v1 2", want: "svcv12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := urlSafe(tt.in); got != tt.want {
				t.Errorf("urlSafe(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// readBack parses SPDX JSON with tools-golang's reader and checks what
// SPDX 2.3 requires of the document, failing the test on any gap.
func readBack(t *testing.T, raw []byte) *spdx.Document {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("json.Unmarshal(SBOM) = %v", err)
	}
	for _, key := range []string{"spdxVersion", "dataLicense", "SPDXID", "name", "documentNamespace", "creationInfo"} {
		if _, ok := top[key]; !ok {
			t.Errorf("SBOM JSON lacks required field %q", key)
		}
	}
	var pkgs []map[string]json.RawMessage
	if err := json.Unmarshal(top["packages"], &pkgs); err != nil {
		t.Fatalf("json.Unmarshal(packages) = %v", err)
	}
	for i, p := range pkgs {
		for _, key := range []string{"SPDXID", "name", "downloadLocation"} {
			if _, ok := p[key]; !ok {
				t.Errorf("SBOM package %d lacks required field %q", i, key)
			}
		}
	}

	doc, err := spdxjson.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("spdxjson.Read(SBOM) = %v, want nil", err)
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		t.Errorf("spdxlib.ValidateDocument(SBOM) = %v, want nil", err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.SPDXIdentifier != "DOCUMENT" {
		t.Errorf("SBOM header = %q %q %q, want SPDX-2.3 CC0-1.0 DOCUMENT", doc.SPDXVersion, doc.DataLicense, doc.SPDXIdentifier)
	}
	if doc.DocumentName == "" {
		t.Error("SBOM name is empty")
	}
	if u, err := url.Parse(doc.DocumentNamespace); err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(doc.DocumentNamespace, "#") {
		t.Errorf("SBOM namespace %q is not an absolute URI without '#'", doc.DocumentNamespace)
	}
	if doc.CreationInfo == nil || len(doc.CreationInfo.Creators) == 0 {
		t.Fatalf("SBOM creationInfo = %+v, want creators", doc.CreationInfo)
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", doc.CreationInfo.Created); err != nil {
		t.Errorf("SBOM created %q is not YYYY-MM-DDThh:mm:ssZ: %v", doc.CreationInfo.Created, err)
	}
	ids := map[common.ElementID]bool{"DOCUMENT": true}
	for _, p := range doc.Packages {
		if p.PackageSPDXIdentifier == "" || p.PackageName == "" || p.PackageDownloadLocation == "" {
			t.Errorf("SBOM package %+v lacks SPDXID, name or downloadLocation", p)
		}
		if ids[p.PackageSPDXIdentifier] {
			t.Errorf("SBOM package id %s is used twice", p.PackageSPDXIdentifier)
		}
		ids[p.PackageSPDXIdentifier] = true
		if p.PackageLicenseConcluded != "NOASSERTION" || p.PackageLicenseDeclared != "NOASSERTION" {
			t.Errorf("SBOM package %s licenses = %q/%q, want NOASSERTION", p.PackageName, p.PackageLicenseConcluded, p.PackageLicenseDeclared)
		}
	}
	if len(doc.Relationships) == 0 {
		t.Error("SBOM has no relationships")
	}
	for _, r := range doc.Relationships {
		if !ids[r.RefA.ElementRefID] || !ids[r.RefB.ElementRefID] {
			t.Errorf("SBOM relationship %s %s %s refers to an unknown id", r.RefA.ElementRefID, r.Relationship, r.RefB.ElementRefID)
		}
	}
	return doc
}

func findPackage(t *testing.T, doc *v2_3.Document, name string) *v2_3.Package {
	t.Helper()
	for _, p := range doc.Packages {
		if p.PackageName == name {
			return p
		}
	}
	t.Fatalf("SBOM has no package named %q", name)
	return nil
}

func purls(p *v2_3.Package) []string {
	var out []string
	for _, r := range p.PackageExternalReferences {
		if r.RefType == common.TypePackageManagerPURL {
			out = append(out, r.Locator)
		}
	}
	return out
}

func relationships(doc *v2_3.Document) []string {
	var out []string
	for _, r := range doc.Relationships {
		out = append(out, common.RenderDocElementID(r.RefA)+" "+r.Relationship+" "+common.RenderDocElementID(r.RefB))
	}
	return out
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("leftover temporary file %s in %s", e.Name(), dir)
		}
	}
}

// BenchmarkGenerate measures an SBOM of a real binary: the running test
// binary, about 8 MB, which is in the range of a typical service.
func BenchmarkGenerate(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(exe)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	for b.Loop() {
		if _, err := Generate(b.Context(), exe, WithCreated(commitTime)); err != nil {
			b.Fatal(err)
		}
	}
}
