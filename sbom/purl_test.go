package sbom

import "testing"

func TestPURL(t *testing.T) {
	tests := []struct {
		name string
		p    purl
		want string
	}{
		{
			// The build case of the purl specification's oci test suite.
			name: "oci with repository and tag",
			p:    purl{typ: "oci", name: "debian", version: "sha256:244fd47e07d10", qualifiers: map[string]string{"repository_url": "docker.io/library/debian", "arch": "amd64", "tag": "latest"}},
			want: "pkg:oci/debian@sha256:244fd47e07d10?arch=amd64&repository_url=docker.io%2Flibrary%2Fdebian&tag=latest",
		},
		{
			name: "empty qualifiers are dropped",
			p:    purl{typ: "oci", name: "web", version: "sha256:ab", qualifiers: map[string]string{"repository_url": "", "arch": "arm64", "os": "linux"}},
			want: "pkg:oci/web@sha256:ab?arch=arm64&os=linux",
		},
		{
			name: "namespace segments, no version",
			p:    purl{typ: "generic", namespace: "/a b/c/", name: "x@y"},
			want: "pkg:generic/a%20b/c/x%40y",
		},
		{
			name: "non-ASCII is UTF-8 then percent-encoded",
			p:    purl{typ: "generic", name: "café", version: "1+2?#&="},
			want: "pkg:generic/caf%C3%A9@1%2B2%3F%23%26%3D",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("purl%+v.String() = %q, want %q", tt.p, got, tt.want)
			}
		})
	}
}
