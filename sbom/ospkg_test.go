package sbom

import (
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

func TestParseDpkg(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []osPackage
	}{
		{
			name: "installed, removed and source with version",
			data: dpkgStatusFile,
			want: []osPackage{
				{typ: "deb", name: "base-files", version: "12.4+deb12u5", arch: "amd64", db: "/s"},
				{typ: "deb", name: "libc6", version: "2.36-9+deb12u4", arch: "amd64", source: "glibc", sourceVersion: "2.36-9+deb12u4", db: "/s"},
			},
		},
		{
			name: "source package with its own version, CRLF, no trailing newline",
			data: "Package: libssl3\r\nStatus: install ok installed\r\nSource: openssl (3.0.15-1~deb12u1)\r\nVersion: 3.0.15-1~deb12u1+b1\r\nArchitecture: arm64",
			want: []osPackage{
				{typ: "deb", name: "libssl3", version: "3.0.15-1~deb12u1+b1", arch: "arm64", source: "openssl", sourceVersion: "3.0.15-1~deb12u1", db: "/s"},
			},
		},
		{
			name: "distroless stanza without status, several blank lines",
			data: "\n\nPackage: netbase\nVersion: 6.4\nArchitecture: all\n\n\n",
			want: []osPackage{{typ: "deb", name: "netbase", version: "6.4", arch: "all", db: "/s"}},
		},
		{
			name: "half-installed and stanza without a name are skipped",
			data: "Package: broken\nStatus: install reinstreq half-installed\nVersion: 1\n\nVersion: 2\nArchitecture: all\n",
			want: nil,
		},
		{
			name: "field names are case-insensitive",
			data: "package: tiny\nversion: 1.0\narchitecture: riscv64\n",
			want: []osPackage{{typ: "deb", name: "tiny", version: "1.0", arch: "riscv64", db: "/s"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseDpkg([]byte(tt.data), "/s")
			if diff := gocmp.Diff(tt.want, got, gocmp.AllowUnexported(osPackage{})); diff != "" {
				t.Errorf("parseDpkg() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseApk(t *testing.T) {
	data := "C:Q1x=\nP:ssl_client\nV:3.3.2-r0\nA:x86_64\no:openssl\nL:Apache-2.0\nF:usr/bin\nR:ssl_client\nZ:Q1y=\n\nP:alpine-baselayout\nV:3.6.5-r0\nA:x86_64\no:alpine-baselayout\nL:GPL-2.0-only\n"
	want := []osPackage{
		{typ: "apk", name: "ssl_client", version: "3.3.2-r0", arch: "x86_64", source: "openssl", sourceVersion: "3.3.2-r0", license: "Apache-2.0", db: "/db"},
		{typ: "apk", name: "alpine-baselayout", version: "3.6.5-r0", arch: "x86_64", license: "GPL-2.0-only", db: "/db"},
	}
	if diff := gocmp.Diff(want, parseApk([]byte(data), "/db"), gocmp.AllowUnexported(osPackage{})); diff != "" {
		t.Errorf("parseApk() mismatch (-want +got):\n%s", diff)
	}
}

func TestParseOSRelease(t *testing.T) {
	tests := []struct {
		name       string
		data       string
		want       osRelease
		wantDistro string
	}{
		{name: "debian", data: debianOSRelease, want: osRelease{id: "debian", versionID: "12", prettyName: "Debian GNU/Linux 12 (bookworm)"}, wantDistro: "debian-12"},
		{name: "single quotes and comments", data: "# generated\nID='wolfi'\nVERSION_ID='20230201'\n", want: osRelease{id: "wolfi", versionID: "20230201"}, wantDistro: "wolfi-20230201"},
		{name: "escaped quote", data: "ID=x\nPRETTY_NAME=\"The \\\"X\\\" OS\"\n", want: osRelease{id: "x", prettyName: `The "X" OS`}, wantDistro: ""},
		{name: "uppercase id is lowered", data: "ID=Ubuntu\nVERSION_ID=24.04\n", want: osRelease{id: "ubuntu", versionID: "24.04"}, wantDistro: "ubuntu-24.04"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOSRelease([]byte(tt.data))
			if got != tt.want || got.distro() != tt.wantDistro {
				t.Errorf("parseOSRelease() = %+v (distro %q), want %+v (distro %q)", got, got.distro(), tt.want, tt.wantDistro)
			}
		})
	}
}

func TestOSPackagePURL(t *testing.T) {
	tests := []struct {
		name string
		p    osPackage
		rel  osRelease
		want string
	}{
		{name: "deb with epoch and plus", p: osPackage{typ: "deb", name: "attr", version: "1:2.4.47-2+b1", arch: "amd64"}, want: "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64"},
		{name: "ubuntu vendor from os-release", p: osPackage{typ: "deb", name: "dpkg", version: "1.22.6ubuntu6", arch: "amd64"}, rel: osRelease{id: "ubuntu", versionID: "24.04"}, want: "pkg:deb/ubuntu/dpkg@1.22.6ubuntu6?arch=amd64&distro=ubuntu-24.04"},
		{name: "apk default vendor, lowercased name", p: osPackage{typ: "apk", name: "Py3-Foo", version: "1.0-r0", arch: "aarch64"}, want: "pkg:apk/alpine/py3-foo@1.0-r0?arch=aarch64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.purl(tt.rel); got != tt.want {
				t.Errorf("purl(%+v) = %q, want %q", tt.p, got, tt.want)
			}
		})
	}
}

func TestIsMetadataFile(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"var/lib/dpkg/status", true},
		{"var/lib/dpkg/status-old", false},
		{"var/lib/dpkg/status.d/libc6", true},
		{"var/lib/dpkg/status.d/libc6.md5sums", false},
		{"var/lib/dpkg/status.d/sub/x", false},
		{"lib/apk/db/installed", true},
		{"usr/lib/os-release", true},
		{"etc/passwd", false},
	} {
		if got := isMetadataFile(tt.name); got != tt.want {
			t.Errorf("isMetadataFile(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
