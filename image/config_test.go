package image

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestBuildConfig(t *testing.T) {
	tests := []struct {
		name  string
		bins  func(t *testing.T) []Binary
		cfg   Config
		check func(t *testing.T, res *Result, c v1.Config)
	}{
		{
			name: "several binaries with Main",
			bins: func(t *testing.T) []Binary { return append(fakeBinaries(t, "web"), fakeBinaries(t, "migrate")...) },
			cfg:  Config{Main: "web", Cmd: []string{"-addr", ":8080"}},
			check: func(t *testing.T, res *Result, c v1.Config) {
				if diff := cmp.Diff([]string{"/usr/local/bin/web"}, c.Entrypoint); diff != "" {
					t.Errorf("Entrypoint (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]string{"-addr", ":8080"}, c.Cmd); diff != "" {
					t.Errorf("Cmd (-want +got):\n%s", diff)
				}
				names, _ := readLayer(t, layersOf(t, res.Images[0].Image)[1])
				if diff := cmp.Diff([]string{"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/migrate", "usr/local/bin/web"}, names); diff != "" {
					t.Errorf("binaries layer (-want +got):\n%s", diff)
				}
				if c.Labels[AnnotationTitle] != "web" {
					t.Errorf("title label = %q, want web", c.Labels[AnnotationTitle])
				}
			},
		},
		{
			name: "env ports labels user workdir entrypoint",
			bins: func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			cfg: Config{
				Env:          []string{"PATH=/usr/local/bin", "GODEBUG=http2debug=1"},
				ExposedPorts: []string{"8080", "53/udp", "8080/tcp"},
				Labels:       map[string]string{"team": "platform"},
				Annotations:  map[string]string{"com.example.tier": "web"},
				User:         "1000:1000",
				WorkDir:      "/srv",
				Entrypoint:   []string{"/usr/local/bin/web", "serve"},
				Title:        "Web service",
			},
			check: func(t *testing.T, res *Result, c v1.Config) {
				want := []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=" + CACertsPath, "GODEBUG=http2debug=1"}
				if diff := cmp.Diff(want, c.Env); diff != "" {
					t.Errorf("Env (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(map[string]struct{}{"8080/tcp": {}, "53/udp": {}}, c.ExposedPorts); diff != "" {
					t.Errorf("ExposedPorts (-want +got):\n%s", diff)
				}
				if c.Labels["team"] != "platform" || c.Labels[AnnotationTitle] != "Web service" {
					t.Errorf("Labels = %v, want team and title", c.Labels)
				}
				if c.User != "1000:1000" || c.WorkingDir != "/srv" {
					t.Errorf("User, WorkingDir = %q, %q, want 1000:1000, /srv", c.User, c.WorkingDir)
				}
				if diff := cmp.Diff([]string{"/usr/local/bin/web", "serve"}, c.Entrypoint); diff != "" {
					t.Errorf("Entrypoint (-want +got):\n%s", diff)
				}
				m := manifestOf(t, res.Images[0].Image)
				if m.Annotations["com.example.tier"] != "web" {
					t.Errorf("manifest annotations = %v, want com.example.tier", m.Annotations)
				}
				im, _ := res.Index.IndexManifest()
				if im.Annotations["com.example.tier"] != "web" {
					t.Errorf("index annotations = %v, want com.example.tier", im.Annotations)
				}
				if _, ok := c.Labels["com.example.tier"]; ok {
					t.Errorf("Labels has annotation-only key com.example.tier")
				}
			},
		},
		{
			name: "healthcheck",
			bins: func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			cfg:  Config{Healthcheck: &Healthcheck{Interval: 10 * time.Second, Timeout: 2 * time.Second, StartPeriod: time.Second, Retries: 5}},
			check: func(t *testing.T, res *Result, c v1.Config) {
				want := &v1.HealthConfig{Test: []string{"CMD", "/usr/local/bin/web", "-healthcheck"}, Interval: 10 * time.Second, Timeout: 2 * time.Second, StartPeriod: time.Second, Retries: 5}
				if diff := cmp.Diff(want, c.Healthcheck); diff != "" {
					t.Errorf("Healthcheck (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "no healthcheck, no ports",
			bins: func(t *testing.T) []Binary { return fakeBinaries(t, "web") },
			check: func(t *testing.T, res *Result, c v1.Config) {
				if c.Healthcheck != nil || c.ExposedPorts != nil || c.Cmd != nil {
					t.Errorf("Healthcheck, ExposedPorts, Cmd = %v, %v, %v, want all unset", c.Healthcheck, c.ExposedPorts, c.Cmd)
				}
			},
		},
		{
			name: "non-linux binaries are skipped and reported",
			bins: func(t *testing.T) []Binary {
				dir := t.TempDir()
				return append(fakeBinaries(t, "web"),
					Binary{Name: "web.exe", Platform: v1.Platform{OS: "windows", Architecture: "amd64"}, Path: filepath.Join(dir, "missing.exe")},
					Binary{Name: "web", Platform: v1.Platform{OS: "darwin", Architecture: "arm64"}, Path: filepath.Join(dir, "missing")},
				)
			},
			check: func(t *testing.T, res *Result, c v1.Config) {
				want := []v1.Platform{{OS: "darwin", Architecture: "arm64"}, {OS: "windows", Architecture: "amd64"}}
				if diff := cmp.Diff(want, res.Skipped); diff != "" {
					t.Errorf("Skipped (-want +got):\n%s", diff)
				}
				if len(res.Images) != 2 {
					t.Errorf("len(Images) = %d, want 2", len(res.Images))
				}
			},
		},
		{
			name: "binary name defaults to the file name",
			bins: func(t *testing.T) []Binary {
				return []Binary{{Platform: amd64, Path: fakeBinary(t, t.TempDir(), "api", "x")}}
			},
			check: func(t *testing.T, res *Result, c v1.Config) {
				if diff := cmp.Diff([]string{"/usr/local/bin/api"}, c.Entrypoint); diff != "" {
					t.Errorf("Entrypoint (-want +got):\n%s", diff)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Build(t.Context(), tc.bins(t), tc.cfg)
			if err != nil {
				t.Fatalf("Build() error = %v", err)
			}
			if err := validate.Index(res.Index); err != nil {
				t.Fatalf("validate.Index() = %v", err)
			}
			tc.check(t, res, configOf(t, res.Images[0].Image).Config)
		})
	}
}

func TestBuildExtraFiles(t *testing.T) {
	src := t.TempDir()
	for name, mode := range map[string]fs.FileMode{"static/index.html": 0o600, "static/css/site.css": 0o644, "static/bin/tool": 0o700, "app.conf": 0o640} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("index.html", filepath.Join(src, "static", "home.html")); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Created: commitTime,
		Files: []File{
			{Src: filepath.Join(src, "static"), Dst: "/srv/www", UID: 1, GID: 2},
			{Src: filepath.Join(src, "app.conf"), Dst: "/etc/web/app.conf", Mode: 0o400, UID: NonrootUID, GID: NonrootUID},
			{Src: filepath.Join(src, "app.conf"), Dst: "/tmp/seed/app.conf"},
		},
		Dirs: []Dir{
			{Path: "/var/lib/web", UID: NonrootUID, GID: NonrootUID, Mode: 0o750},
			{Path: "/var/spool", Mode: 0o1777},
			{Path: "/var/cache", Mode: 0o777 | fs.ModeSticky | fs.ModeSetgid},
			{Path: "/srv/www/css", Mode: 0o700, UID: NonrootUID, GID: NonrootUID},
		},
	}
	res, err := Build(t.Context(), fakeBinaries(t, "web"), cfg)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if err := validate.Index(res.Index); err != nil {
		t.Fatalf("validate.Index() = %v", err)
	}
	layers := layersOf(t, res.Images[1].Image)
	if len(layers) != 3 {
		t.Fatalf("len(Layers()) = %d, want 3 (base, binaries, extra)", len(layers))
	}
	if d0, d1 := mustDigest(t, layers[2]), mustDigest(t, layersOf(t, res.Images[0].Image)[2]); d0 != d1 {
		t.Errorf("extra layer digests differ between platforms: %s, %s", d0, d1)
	}
	names, files := readLayer(t, layers[2])
	want := []struct {
		name     string
		mode     int64
		uid, gid int
		data     string
	}{
		{"etc/", 0o755, 0, 0, ""},
		{"etc/web/", 0o755, 0, 0, ""},
		{"etc/web/app.conf", 0o400, NonrootUID, NonrootUID, "app.conf"},
		{"srv/", 0o755, 0, 0, ""},
		{"srv/www/", 0o755, 1, 2, ""},
		{"srv/www/bin/", 0o755, 1, 2, ""},
		{"srv/www/bin/tool", 0o755, 1, 2, "static/bin/tool"},
		{"srv/www/css/", 0o700, NonrootUID, NonrootUID, ""},
		{"srv/www/css/site.css", 0o644, 1, 2, "static/css/site.css"},
		{"srv/www/home.html", 0o644, 1, 2, "static/index.html"},
		{"srv/www/index.html", 0o644, 1, 2, "static/index.html"},
		{"tmp/", 0o1777, 0, 0, ""},
		{"tmp/seed/", 0o755, 0, 0, ""},
		{"tmp/seed/app.conf", 0o644, 0, 0, "app.conf"},
		{"var/", 0o755, 0, 0, ""},
		{"var/cache/", 0o3777, 0, 0, ""},
		{"var/lib/", 0o755, 0, 0, ""},
		{"var/lib/web/", 0o750, NonrootUID, NonrootUID, ""},
		{"var/spool/", 0o1777, 0, 0, ""},
	}
	var wantNames []string
	for _, w := range want {
		wantNames = append(wantNames, w.name)
		f := files[w.name]
		if f.hdr == nil {
			continue
		}
		if f.hdr.Mode != w.mode || f.hdr.Uid != w.uid || f.hdr.Gid != w.gid || string(f.data) != w.data || !f.hdr.ModTime.Equal(commitTime) {
			t.Errorf("extra layer %s = mode %o %d:%d %q mtime %v, want %o %d:%d %q %v", w.name, f.hdr.Mode, f.hdr.Uid, f.hdr.Gid, f.data, f.hdr.ModTime, w.mode, w.uid, w.gid, w.data, commitTime)
		}
	}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("extra layer entries (-want +got):\n%s", diff)
	}
}

func TestBuildTZData(t *testing.T) {
	res, err := Build(t.Context(), fakeBinaries(t, "web")[:1], Config{TZData: true, Created: commitTime})
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	names, files := readLayer(t, layersOf(t, res.Images[0].Image)[0])
	f, ok := files["usr/share/zoneinfo/Europe/Berlin"]
	if !ok {
		t.Fatalf("base layer has no usr/share/zoneinfo/Europe/Berlin among %d entries", len(names))
	}
	if !strings.HasPrefix(string(f.data), "TZif") || f.hdr.Mode != 0o644 {
		t.Errorf("Europe/Berlin = mode %o, starts %q, want 0644 TZif data", f.hdr.Mode, f.data[:4])
	}
	if _, err := time.LoadLocationFromTZData("Europe/Berlin", f.data); err != nil {
		t.Errorf("LoadLocationFromTZData(Europe/Berlin) error = %v", err)
	}
	if _, ok := files["usr/share/zoneinfo/Europe/"]; !ok {
		t.Errorf("base layer lacks the parent directory usr/share/zoneinfo/Europe/")
	}

	_, err = Build(t.Context(), fakeBinaries(t, "web")[:1], Config{TZData: true}, WithGoRoot(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "WithGoRoot") {
		t.Errorf("Build(TZData, WithGoRoot(empty dir)) error = %v, want one naming WithGoRoot", err)
	}
}
