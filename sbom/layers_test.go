package sbom

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestFlatten(t *testing.T) {
	tests := []struct {
		name   string
		layers [][]tarEntry
		// want maps each visible regular file to its content.
		want map[string]string
	}{
		{
			name: "upper layer replaces a file",
			layers: [][]tarEntry{
				{reg("etc/motd", "old"), reg("etc/issue", "keep")},
				{reg("etc/motd", "new")},
			},
			want: map[string]string{"etc/motd": "new", "etc/issue": "keep"},
		},
		{
			name: "whiteout deletes a file below",
			layers: [][]tarEntry{
				{reg("etc/motd", "old"), reg("etc/issue", "keep")},
				{reg("etc/.wh.motd", "")},
			},
			want: map[string]string{"etc/issue": "keep"},
		},
		{
			name: "whiteout of a directory deletes what is under it",
			layers: [][]tarEntry{
				{dir("opt/app/"), reg("opt/app/bin/run", "x"), reg("opt/app/README", "y"), reg("opt/apple", "z")},
				{reg("opt/.wh.app", "")},
			},
			want: map[string]string{"opt/apple": "z"},
		},
		{
			name: "whiteout does not touch its own layer",
			layers: [][]tarEntry{
				{reg("etc/motd", "old")},
				{reg("etc/motd", "new"), reg("etc/.wh.motd", "")},
			},
			want: map[string]string{"etc/motd": "new"},
		},
		{
			name: "opaque directory hides lower contents only",
			layers: [][]tarEntry{
				{reg("srv/a", "a"), reg("srv/sub/b", "b"), reg("srvx", "x")},
				{reg("srv/c", "c"), reg("srv/.wh..wh..opq", "")},
			},
			want: map[string]string{"srv/c": "c", "srvx": "x"},
		},
		{
			name: "opaque root",
			layers: [][]tarEntry{
				{reg("a", "a")},
				{reg(".wh..wh..opq", ""), reg("b", "b")},
			},
			want: map[string]string{"b": "b"},
		},
		{
			name: "file replaces a directory and its contents",
			layers: [][]tarEntry{
				{reg("data/x", "x"), reg("data/y/z", "z")},
				{reg("data", "now a file")},
			},
			want: map[string]string{"data": "now a file"},
		},
		{
			name: "directory replaces a file",
			layers: [][]tarEntry{
				{reg("data", "a file")},
				{dir("data"), reg("data/x", "x")},
			},
			want: map[string]string{"data/x": "x"},
		},
		{
			name: "a file in between still hides the lowest directory",
			layers: [][]tarEntry{
				{reg("data/old", "old")},
				{reg("data", "a file")},
				{dir("data"), reg("data/new", "new")},
			},
			want: map[string]string{"data/new": "new"},
		},
		{
			name: "symlink replaces a file",
			layers: [][]tarEntry{
				{reg("etc/localtime", "TZif")},
				{symlink("etc/localtime", "/usr/share/zoneinfo/UTC")},
			},
			want: map[string]string{},
		},
		{
			name: "hard links within a layer and to a lower layer",
			layers: [][]tarEntry{
				{reg("usr/bin/perl5.36", "perl")},
				{reg("usr/bin/gzip", "gz"), hardlink("usr/bin/gunzip", "usr/bin/gzip"), hardlink("usr/bin/perl", "usr/bin/perl5.36")},
			},
			want: map[string]string{"usr/bin/perl5.36": "perl", "usr/bin/perl": "perl", "usr/bin/gzip": "gz", "usr/bin/gunzip": "gz"},
		},
		{
			name: "hard link whose target was deleted above",
			layers: [][]tarEntry{
				{reg("a", "a"), hardlink("b", "a")},
				{reg(".wh.a", "")},
			},
			want: map[string]string{},
		},
		{
			name: "names with ./ and leading slashes; later entry in a layer wins",
			layers: [][]tarEntry{
				{reg("./etc/hosts", "one"), reg("/etc/hosts", "two"), dir("./"), reg("etc//hostname", "box")},
			},
			want: map[string]string{"etc/hosts": "two", "etc/hostname": "box"},
		},
		{
			name: "names cannot climb out of the root",
			layers: [][]tarEntry{
				{reg("../../etc/shadow", "s")},
			},
			want: map[string]string{"etc/shadow": "s"},
		},
		{
			name: "a deleted file comes back in a higher layer",
			layers: [][]tarEntry{
				{reg("x", "1")},
				{reg(".wh.x", "")},
				{reg("x", "3")},
			},
			want: map[string]string{"x": "3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var layers []v1.Layer
			for _, l := range tt.layers {
				layers = append(layers, tarLayer(t, l...))
			}
			files, err := flatten(t.Context(), testImage(t, linuxAMD64, nil, nil, layers...), &Scanner{})
			if err != nil {
				t.Fatalf("flatten() = %v, want nil", err)
			}
			got := map[string]string{}
			for name, f := range files {
				got[name] = hex.EncodeToString(f.sha256[:])
			}
			want := map[string]string{}
			for name, body := range tt.want {
				s := sha256.Sum256([]byte(body))
				want[name] = hex.EncodeToString(s[:])
			}
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("flatten() files mismatch by SHA-256 (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadFileSizes(t *testing.T) {
	// Around the read buffer's size, on both the streaming and the
	// in-memory path, hashes and sizes must match the content.
	f := &fileReader{chunk: make([]byte, 64), h1: sha1.New(), h256: sha256.New()}
	for _, tt := range []struct {
		name string
		body string
	}{
		{name: "empty", body: ""},
		{name: "short", body: "hello"},
		{name: "exactly one buffer", body: string(make([]byte, 64))},
		{name: "one byte over", body: string(make([]byte, 65))},
		{name: "several buffers", body: string(make([]byte, 1000))},
		{name: "ELF magic, several buffers", body: "\x7fELF" + string(make([]byte, 1000))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			info, err := f.readFile(strings.NewReader(tt.body), "x", int64(len(tt.body)))
			if err != nil {
				t.Fatalf("readFile() = %v", err)
			}
			want := sha256.Sum256([]byte(tt.body))
			if info.size != int64(len(tt.body)) || info.sha256 != want {
				t.Errorf("readFile() = size %d sha256 %x, want %d %x", info.size, info.sha256, len(tt.body), want)
			}
		})
	}
}

func TestCleanEntryName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"etc/passwd", "etc/passwd"},
		{"./etc/passwd", "etc/passwd"},
		{"/etc/ssl/", "etc/ssl"},
		{"./", "."},
		{"../x", "x"},
	} {
		if got := cleanEntryName(tt.in); got != tt.want {
			t.Errorf("cleanEntryName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExecMagic(t *testing.T) {
	for _, tt := range []struct {
		name string
		head string
		want bool
	}{
		{"ELF", "\x7fELF\x02\x01", true},
		{"PE", "MZ\x90\x00", true},
		{"Mach-O 64 little-endian", "\xcf\xfa\xed\xfe", true},
		{"shell script", "#!/bin/sh", false},
		{"Java class or fat Mach-O", "\xca\xfe\xba\xbe", false},
		{"empty", "", false},
	} {
		if got := execMagic([]byte(tt.head)); got != tt.want {
			t.Errorf("execMagic(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
