package image

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestBuildErrors checks that each mistake is caught and that the message
// names both the culprit and the fix.
func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	dangling := filepath.Join(dir, "dangling.conf")
	if err := os.Symlink(filepath.Join(dir, "gone.conf"), dangling); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(tree, "loop")); err != nil {
		t.Fatal(err)
	}
	treeDangling := filepath.Join(dir, "tree2")
	if err := os.MkdirAll(treeDangling, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(treeDangling, "broken")); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "app.conf")
	if err := os.WriteFile(conf, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := Binary{Name: "web", Platform: arm64, Path: filepath.Join(dir, "dist", "web_linux_arm64", "web")}

	tests := []struct {
		name string
		bins func(t *testing.T) []Binary
		cfg  Config
		opts []Option
		want []string
	}{
		{"binary missing", func(t *testing.T) []Binary { return append(fakeBinaries(t, "web")[:1], missing) }, Config{},
			nil, []string{"linux/arm64", missing.Path, "run go:build first"}},
		{"binary is a directory", func(t *testing.T) []Binary { return []Binary{{Name: "web", Platform: amd64, Path: dir}} }, Config{},
			nil, []string{dir, "not a regular file"}},
		{"no binaries", func(t *testing.T) []Binary { return nil }, Config{}, nil, []string{"no binaries", "go:build"}},
		{"only non-linux", func(t *testing.T) []Binary {
			return []Binary{{Name: "web", Platform: v1.Platform{OS: "darwin", Architecture: "arm64"}, Path: conf}}
		}, Config{}, nil, []string{"no linux binaries", "build at least one linux platform"}},
		{"binary without platform", func(t *testing.T) []Binary { return []Binary{{Name: "web", Path: conf}} }, Config{},
			nil, []string{conf, "Platform.OS"}},
		{"binary without path", func(t *testing.T) []Binary { return []Binary{{Name: "web", Platform: amd64}} }, Config{},
			nil, []string{"no Path"}},
		{"bad binary name", func(t *testing.T) []Binary { return []Binary{{Name: "bin/web", Platform: amd64, Path: conf}} }, Config{},
			nil, []string{"bin/web", "plain file name"}},
		{"binary twice", func(t *testing.T) []Binary { b := fakeBinaries(t, "web"); return append(b, b[0]) }, Config{},
			nil, []string{"given twice", "linux/amd64"}},
		{"several binaries, no Main", func(t *testing.T) []Binary { return append(fakeBinaries(t, "web"), fakeBinaries(t, "migrate")...) }, Config{},
			nil, []string{"migrate, web", "set Main"}},
		{"Main not built", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{Main: "api"},
			nil, []string{`"api"`, "web"}},
		{"Main missing on one platform", func(t *testing.T) []Binary { return append(fakeBinaries(t, "web"), fakeBinaries(t, "cli")[:1]...) },
			Config{Main: "cli"}, nil, []string{"linux/arm64 has no cli binary"}},
		{"invalid base reference", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{Base: "Not A Ref!!"},
			nil, []string{`"Not A Ref!!"`, "repo:tag", "oci:<dir>"}},
		{"invalid layout digest", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{Base: "oci:" + dir + "@sha256:abc"},
			nil, []string{"sha256:<64 hex digits>"}},
		{"layout base missing", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{Base: "oci:" + filepath.Join(dir, "nolayout") + ":1.0"},
			nil, []string{"not an OCI image layout", "nolayout"}},
		{"empty layout path", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{Base: "oci::1.0"},
			nil, []string{"name the layout directory"}},
		{"extra file missing", func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			Config{Files: []File{{Src: filepath.Join(dir, "nope.conf"), Dst: "/etc/nope.conf"}}}, nil, []string{filepath.Join(dir, "nope.conf"), "does not exist"}},
		{"extra file dangling symlink", func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			Config{Files: []File{{Src: dangling, Dst: "/etc/app.conf"}}}, nil, []string{dangling, "gone.conf", "fix the link"}},
		{"dangling symlink inside a tree", func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			Config{Files: []File{{Src: treeDangling, Dst: "/srv"}}}, nil, []string{filepath.Join(treeDangling, "broken"), "symlink"}},
		{"symlinked directory inside a tree", func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			Config{Files: []File{{Src: tree, Dst: "/srv"}}}, nil, []string{filepath.Join(tree, "loop"), "symlink to a directory"}},
		{"extra file without Src", func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			Config{Files: []File{{Dst: "/etc/app.conf"}}}, nil, []string{"/etc/app.conf", "no Src"}},
		{"relative destination", func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			Config{Files: []File{{Src: conf, Dst: "etc/app.conf"}}}, nil, []string{`"etc/app.conf"`, "absolute path"}},
		{"root destination", func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			Config{Dirs: []Dir{{Path: "/"}}}, nil, []string{"image root"}},
		{"dot-dot destination", func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			Config{Files: []File{{Src: conf, Dst: "/etc/../../app.conf"}}}, nil, []string{`".."`}},
		{"same destination twice", func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			Config{Files: []File{{Src: conf, Dst: "/etc/app.conf"}, {Src: conf, Dst: "/etc/app.conf", Mode: 0o600}}}, nil, []string{"/etc/app.conf is added twice"}},
		{"file replaces a binary", func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			Config{Files: []File{{Src: conf, Dst: "/usr/local/bin/web"}}}, nil, []string{"/usr/local/bin/web", "replace the web binary"}},
		{"bad port", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{ExposedPorts: []string{"http"}},
			nil, []string{`"http"`, "8080/tcp"}},
		{"bad protocol", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{ExposedPorts: []string{"80/quic"}},
			nil, []string{`"quic"`}},
		{"bad env", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{Env: []string{"DEBUG"}},
			nil, []string{`"DEBUG"`, "KEY=VALUE"}},
		{"relative workdir", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{WorkDir: "data"},
			nil, []string{`"data"`, "absolute"}},
		{"reserved label", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{Labels: map[string]string{AnnotationVersion: "1"}},
			nil, []string{"Config.Labels", AnnotationVersion, "Version"}},
		{"reserved annotation", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{Annotations: map[string]string{AnnotationBaseName: "x"}},
			nil, []string{"Config.Annotations", AnnotationBaseName}},
		{"negative healthcheck", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{Healthcheck: &Healthcheck{Retries: -1}},
			nil, []string{"negative"}},
		{"TZData with another base", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{TZData: true, Base: "oci:" + dir},
			nil, []string{"TZData", "built-in base"}},
		{"bad compression level", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{},
			[]Option{WithCompressionLevel(12)}, []string{"compression level 12"}},
		{"bad jobs", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{},
			[]Option{WithJobs(0)}, []string{"WithJobs(0)"}},
		{"nil keychain", func(t *testing.T) []Binary { return fakeBinaries(t, "web") }, Config{},
			[]Option{WithKeychain(nil)}, []string{"WithKeychain(nil)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(t.Context(), tc.bins(t), tc.cfg, tc.opts...)
			if err == nil {
				t.Fatalf("Build() error = nil, want one containing %q", tc.want)
			}
			if !containsAll(err.Error(), tc.want...) {
				t.Errorf("Build() error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestBuildCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Build(ctx, fakeBinaries(t, "web"), Config{})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("Build(canceled ctx) error = %v, want context canceled", err)
	}
}

func TestMakeOptionsDefaults(t *testing.T) {
	o, err := makeOptions()
	if err != nil {
		t.Fatalf("makeOptions() error = %v", err)
	}
	if o.level != 7 || o.jobs < 1 || o.keychain == nil || o.logger == nil {
		t.Errorf("makeOptions() = level %d jobs %d keychain %v logger %v, want defaults", o.level, o.jobs, o.keychain, o.logger)
	}
	o, err = makeOptions(WithLogger(nil), WithCompressionLevel(gzip.BestSpeed))
	if err != nil || o.logger == nil || o.level != gzip.BestSpeed {
		t.Errorf("makeOptions(WithLogger(nil), WithCompressionLevel(1)) = %+v, %v, want a discarding logger and level 1", o, err)
	}
}
