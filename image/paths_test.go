package image

import (
	"slices"
	"strings"
	"testing"
)

// TestBinaryPaths puts binaries at /app and in the working directory:
// the files land there, the entrypoint and the healthcheck run them, and
// nothing is left in /usr/local/bin.
func TestBinaryPaths(t *testing.T) {
	bins := append(fakeBinaries(t, "web"), fakeBinaries(t, "worker")...)
	cfg := Config{Main: "web", Paths: map[string]string{"web": "/app", "worker": "worker"}, Healthcheck: &Healthcheck{}, Created: commitTime}
	res, err := Build(t.Context(), bins, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, pi := range res.Images {
		var files []string
		for _, l := range layersOf(t, pi.Image) {
			names, _ := readLayer(t, l)
			files = append(files, names...)
		}
		for _, want := range []string{"app", "home/nonroot/worker"} {
			if !slices.Contains(files, want) {
				t.Errorf("%s: no /%s in the image's layers", pi.Platform, want)
			}
		}
		if slices.Contains(files, "usr/local/bin/web") {
			t.Errorf("%s: web is still in /usr/local/bin", pi.Platform)
		}
		cf := configOf(t, pi.Image)
		if !slices.Equal(cf.Config.Entrypoint, []string{"/app"}) || cf.Config.Healthcheck == nil || cf.Config.Healthcheck.Test[1] != "/app" {
			t.Errorf("%s: entrypoint %v, healthcheck %+v", pi.Platform, cf.Config.Entrypoint, cf.Config.Healthcheck)
		}
	}
}

func TestCheckEntrypoint(t *testing.T) {
	names := []string{"web", "worker"}
	for _, c := range []struct {
		name string
		cfg  Config
		want string // "" accepts
	}{
		{"default", Config{}, ""},
		{"the binary's path", Config{Entrypoint: []string{"/usr/local/bin/web", "serve"}}, ""},
		{"a name on PATH", Config{Entrypoint: []string{"web"}}, ""},
		{"moved and run from the working directory", Config{Paths: map[string]string{"web": "web"}, Entrypoint: []string{"./web"}}, ""},
		{"moved to /app", Config{Paths: map[string]string{"web": "/app"}, Entrypoint: []string{"/app"}}, ""},
		{"a file of Files", Config{Files: []File{{Src: "x", Dst: "/opt/tool"}}, Entrypoint: []string{"/opt/tool/run"}}, ""},
		{"another base may hold it", Config{Base: "alpine:3", Entrypoint: []string{"/bin/sh", "-c"}}, ""},
		{"/app without moving the binary", Config{Entrypoint: []string{"/app"}}, "will not hold"},
		{"a binary's name elsewhere, another base", Config{Base: "alpine:3", Entrypoint: []string{"/web"}}, "will not hold"},
		{"./web from the working directory, binary in /usr/local/bin", Config{Entrypoint: []string{"./web"}}, "/home/nonroot/web"},
		{"a name not on PATH", Config{Paths: map[string]string{"web": "/app"}, Entrypoint: []string{"web"}}, "no PATH directory"},
		{"two binaries on one path", Config{Paths: map[string]string{"web": "/app", "worker": "/app"}}, "both go to /app"},
		{"a directory as a path", Config{Paths: map[string]string{"web": "/usr/bin/"}}, "file path"},
		{"an unknown binary", Config{Paths: map[string]string{"api": "/app"}}, "not a binary"},
	} {
		err := c.cfg.CheckEntrypoint(names)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: CheckEntrypoint = %v, want %q", c.name, err, c.want)
		}
	}
}
