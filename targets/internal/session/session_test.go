package session

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/project"
)

func newSession(t *testing.T, dir string, envs map[string]string, fn func(*config.Config)) (*Session, *bytes.Buffer) {
	t.Helper()
	Configure(func(c *config.Config) {
		c.Dir = dir
		if fn != nil {
			fn(c)
		}
	})
	t.Cleanup(func() { configurers = nil })
	var out bytes.Buffer
	s, err := New(func(k string) string { return envs[k] }, &out)
	if err != nil {
		t.Fatal(err)
	}
	return s, &out
}

func TestImageTags(t *testing.T) {
	s, _ := newSession(t, newRepo(t), nil, func(c *config.Config) { c.Publish.Latest, c.Publish.MinorTag = true, true })
	tests := []struct {
		name, v string
		want    []string
	}{
		{name: "release", v: "1.2.3", want: []string{"1.2.3", "1.2", "latest"}},
		{name: "prerelease", v: "1.2.3-rc.1", want: []string{"1.2.3-rc.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.ImageTags(semver.MustParse(tt.v)); !slices.Equal(got, tt.want) {
				t.Errorf("ImageTags(%s) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

func TestImageMainAndSource(t *testing.T) {
	s, _ := newSession(t, newRepo(t), nil, nil)
	if got, err := s.imageMain(); err != nil || got != "svc" {
		t.Errorf("imageMain() = %q, %v, want svc", got, err)
	}
	if got := s.imageSource(); got != "" {
		t.Errorf("imageSource(example.com) = %q, want empty", got)
	}
	s.Proj.Module = "github.com/acme/svc/v2"
	if got := s.imageSource(); got != "https://github.com/acme/svc" {
		t.Errorf("imageSource(github) = %q", got)
	}
	s.Cfg.Image.Main = "nope"
	if _, err := s.imageMain(); err == nil || !strings.Contains(err.Error(), "svc") {
		t.Errorf("imageMain(unknown) = %v, want an error listing svc", err)
	}
	s.Cfg.Image.Main = ""
	s.Proj.Mains = []project.Main{{Name: "a"}, {Name: "b"}}
	if _, err := s.imageMain(); err == nil || !strings.Contains(err.Error(), "Image.Main") {
		t.Errorf("imageMain(two binaries) = %v, want one naming Image.Main", err)
	}
	s.Proj.Mains = append(s.Proj.Mains, project.Main{Name: "svc"})
	if got, _ := s.imageMain(); got != "svc" {
		t.Errorf("imageMain(named like project) = %q, want svc", got)
	}
	if got := s.ImageName(); got != "svc" {
		t.Errorf("ImageName() = %q", got)
	}
	s.Cfg.Image.Name = "other"
	if got := s.ImageName(); got != "other" {
		t.Errorf("ImageName(configured) = %q", got)
	}
}

func TestVersionAndRevision(t *testing.T) {
	dir := newRepo(t)
	s, _ := newSession(t, dir, map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}, nil)
	v, err := s.Version()
	if err != nil || v.String() != "1.4.0" {
		t.Fatalf("Version() = %v, %v", v, err)
	}
	s.SetVersion(semver.MustParse("2.0.0"))
	if v, _ := s.Version(); v.String() != "2.0.0" {
		t.Errorf("Version() after SetVersion = %v", v)
	}
	rev, err := s.Revision(context.Background())
	if err != nil || !rev.Time.Equal(time.Unix(1700000000, 0)) || len(rev.Commit) != 40 {
		t.Errorf("Revision() = %+v, %v; want the commit and SOURCE_DATE_EPOCH", rev, err)
	}
	s.Getenv = func(string) string { return "" }
	if rev, _ := s.Revision(context.Background()); !rev.Time.Equal(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Errorf("Revision().Time = %v, want the commit time", rev.Time)
	}
	s.Getenv = func(string) string { return "soon" }
	if _, err := s.Revision(context.Background()); err == nil {
		t.Error("Revision(bad SOURCE_DATE_EPOCH) = nil error")
	}

	// Outside git: no commit, the epoch as date.
	plain := t.TempDir()
	os.WriteFile(filepath.Join(plain, "go.mod"), []byte("module example.com/p\n"), 0o644)
	os.WriteFile(filepath.Join(plain, "main.go"), []byte("package main\nfunc main(){}\n"), 0o644)
	s2, _ := newSession(t, plain, nil, nil)
	rev, err = s2.Revision(context.Background())
	if err != nil || rev.Commit != "unknown" || !rev.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("Revision(no git) = %+v, %v", rev, err)
	}
	if _, err := s2.Version(); err == nil || !strings.Contains(err.Error(), "VERSION") {
		t.Errorf("Version(no VERSION file) = %v, want an error naming VERSION", err)
	}
}

func TestNewErrors(t *testing.T) {
	dir := newRepo(t)
	Configure(func(c *config.Config) { c.Dir = dir })
	t.Cleanup(func() { configurers = nil })
	if _, err := New(func(k string) string { return map[string]string{"PLATFORMS": "plan9"}[k] }, &bytes.Buffer{}); err == nil {
		t.Error("New(bad PLATFORMS) = nil error")
	}
	Configure(func(c *config.Config) { c.Jobs = -1 })
	if _, err := New(func(string) string { return "" }, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "Jobs") {
		t.Errorf("New(Jobs -1) = %v", err)
	}
	configurers = nil
	Configure(func(c *config.Config) { c.Dir = t.TempDir() })
	if _, err := New(func(string) string { return "" }, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Errorf("New(no go.mod) = %v", err)
	}
}

func TestWriterAndRel(t *testing.T) {
	s, out := newSession(t, newRepo(t), nil, nil)
	w := s.Writer("x:y")
	w.Write([]byte("one\ntwo\n"))
	if got := out.String(); got != "x:y: one\nx:y: two\n" {
		t.Errorf("Writer output = %q", got)
	}
	if got := s.Rel(s.Dist("image")); got != "dist/image" {
		t.Errorf("Rel(Dist(image)) = %q", got)
	}
	if got := humanBytes(3 << 20); got != "3.0 MiB" {
		t.Errorf("humanBytes = %q", got)
	}
	if got := humanBytes(2048); got != "2.0 KiB" {
		t.Errorf("humanBytes = %q", got)
	}
	if got := humanBytes(12); got != "12 B" {
		t.Errorf("humanBytes = %q", got)
	}
}

func TestBuildImageErrorsAndTarball(t *testing.T) {
	dir := newRepo(t)
	s, out := newSession(t, dir, map[string]string{"PLATFORMS": "windows/amd64"}, nil)
	ctx := context.Background()
	if err := s.BuildBinaries(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BuildImage(ctx, "image:build"); err == nil || !strings.Contains(err.Error(), "no linux binaries") {
		t.Errorf("BuildImage(windows only) = %v, want a no-linux error", err)
	}
	if !strings.Contains(out.String(), "skipping windows/amd64") {
		t.Errorf("output lacks the skip line: %s", out.String())
	}

	s2, _ := newSession(t, dir, map[string]string{"PLATFORMS": "linux/amd64", "HOIST_IMAGE_TARBALL": "linux/amd64"}, nil)
	if err := s2.BuildBinaries(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := s2.BuildImage(ctx, "image:build")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tarballs) != 1 {
		t.Fatalf("tarballs = %v", res.Tarballs)
	}
	if fi, err := os.Stat(res.Tarballs[0]); err != nil || fi.Size() == 0 {
		t.Errorf("tarball %s: %v", res.Tarballs[0], err)
	}
	s2.Cfg.Image.Tarball = []string{"linux/s390x"}
	if _, err := s2.BuildImage(ctx, "image:build"); err == nil || !strings.Contains(err.Error(), "no such platform") {
		t.Errorf("BuildImage(tarball for unbuilt platform) = %v", err)
	}
}

func TestPushWithoutImage(t *testing.T) {
	s, _ := newSession(t, newRepo(t), map[string]string{"REGISTRY": "127.0.0.1:1/x"}, nil)
	if _, err := s.PushImage(context.Background(), "image:push"); err == nil || !strings.Contains(err.Error(), "image:build") {
		t.Errorf("PushImage(no image) = %v, want a hint to run image:build", err)
	}
	if got := s.Repositories(); !slices.Equal(got, []string{"127.0.0.1:1/x/svc"}) {
		t.Errorf("Repositories() = %v", got)
	}
	if err := s.CheckRegistries(context.Background()); err == nil {
		t.Error("CheckRegistries(unreachable) = nil error")
	}
}
