package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildLayout walks the skip record through every input it keys on:
// each change is named, and an unchanged rebuild is skipped only while the
// layout still holds the recorded index.
func TestBuildLayout(t *testing.T) {
	dir := t.TempDir()
	bins := fakeBinaries(t, "app")
	files := filepath.Join(dir, "ui")
	os.MkdirAll(files, 0o755)
	os.WriteFile(filepath.Join(files, "index.html"), []byte("v1"), 0o644)
	cfg := Config{Version: "0.1.0", Created: commitTime, Files: []File{{Src: files, Dst: "/srv/ui"}}}
	lo := LayoutOptions{Dir: filepath.Join(dir, "image"), RefName: "0.1.0", Record: filepath.Join(dir, ".hoist", "image.json")}
	build := func(cfg Config, lo LayoutOptions) *Layout {
		t.Helper()
		l, err := BuildLayout(t.Context(), bins, cfg, lo)
		if err != nil {
			t.Fatalf("BuildLayout() = %v", err)
		}
		return l
	}
	dry := lo
	dry.DryRun = true
	if l := build(cfg, dry); l.Skipped || l.Reason != "no previous build" || l.Result != nil {
		t.Errorf("dry run before any build = %+v, want a build for lack of a record, and nothing built", l)
	}
	if _, err := os.Stat(lo.Dir); err == nil {
		t.Fatal("a dry run wrote the layout")
	}
	first := build(cfg, lo)
	if first.Skipped || first.Result == nil || first.Digest == "" {
		t.Fatalf("first build = %+v, want an index", first)
	}
	if l := build(cfg, lo); !l.Skipped || l.Digest != first.Digest || !strings.Contains(l.Reason, "up to date") {
		t.Errorf("rebuild with nothing changed = %+v, want a skip with the same digest", l)
	}
	if l := build(cfg, dry); !l.Skipped {
		t.Errorf("dry run with nothing changed = %+v, want a skip", l)
	}
	for _, tt := range []struct {
		name string
		edit func(*Config, *LayoutOptions)
		want string
	}{
		{"version", func(c *Config, _ *LayoutOptions) { c.Version = "0.2.0" }, "image configuration or version changed"},
		{"extra", func(_ *Config, lo *LayoutOptions) { lo.Extra = []string{"linux/amd64"} }, "tarballs asked for changed"},
		{"force", func(_ *Config, lo *LayoutOptions) { lo.Force = true }, "forced"},
		{"unpinned base", func(c *Config, _ *LayoutOptions) { c.Base = "example.com/base:latest" }, "not pinned by digest"},
		{"no record", func(_ *Config, lo *LayoutOptions) { lo.Record = "" }, "no skip record kept"},
		{"files", func(*Config, *LayoutOptions) { os.WriteFile(filepath.Join(files, "index.html"), []byte("v2"), 0o644) }, "extra files changed"},
	} {
		c, o := cfg, dry
		tt.edit(&c, &o)
		if l := build(c, o); l.Skipped || l.Reason != tt.want && !strings.Contains(l.Reason, tt.want) {
			t.Errorf("%s: dry run = %+v, want a build because %q", tt.name, l, tt.want)
		}
	}
	os.WriteFile(filepath.Join(files, "index.html"), []byte("v1"), 0o644)
	if err := os.WriteFile(bins[0].Path, []byte("changed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if l := build(cfg, dry); l.Reason != "binaries changed" {
		t.Errorf("dry run after a binary changed = %+v, want binaries changed", l)
	}
	// Back to the built bytes, but the layout is gone: rebuild.
	bins = fakeBinaries(t, "app")
	os.RemoveAll(lo.Dir)
	if l := build(cfg, dry); l.Skipped || !strings.Contains(l.Reason, "no longer holds") {
		t.Errorf("dry run with the layout removed = %+v, want a rebuild", l)
	}
	os.WriteFile(lo.Record, []byte("{"), 0o644)
	if l := build(cfg, dry); l.Reason != "previous build record unreadable" {
		t.Errorf("dry run with a damaged record = %+v", l)
	}
	if _, err := BuildLayout(t.Context(), bins, cfg, LayoutOptions{}); err == nil {
		t.Error("BuildLayout(no directory) = nil error")
	}
	missing := []Binary{{Name: "app", Platform: amd64, Path: filepath.Join(dir, "nope")}}
	if _, err := BuildLayout(t.Context(), missing, cfg, lo); err == nil || !strings.Contains(err.Error(), "go:build") {
		t.Errorf("BuildLayout(missing binary) = %v, want a hint to run go:build", err)
	}
	if v := CABundleVersion(); v == "" {
		t.Error("CABundleVersion() is empty")
	}
}
