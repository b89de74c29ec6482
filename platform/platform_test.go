package platform

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Platform
		wantErr string
	}{
		{name: "pair", in: "linux/amd64", want: Platform{OS: "linux", Arch: "amd64"}},
		{name: "arm variant", in: "linux/arm/v7", want: Platform{OS: "linux", Arch: "arm", Variant: "v7"}},
		{name: "amd64 level", in: " Linux/AMD64/v3 ", want: Platform{OS: "linux", Arch: "amd64", Variant: "v3"}},
		{name: "arm64 level", in: "linux/arm64/v8.2", want: Platform{OS: "linux", Arch: "arm64", Variant: "v8.2"}},
		{name: "missing arch", in: "linux", wantErr: "os/arch"},
		{name: "empty part", in: "linux/", wantErr: "os/arch"},
		{name: "too many parts", in: "linux/arm/v7/x", wantErr: "os/arch"},
		{name: "variant not allowed", in: "linux/386/v2", wantErr: "takes no variant"},
		{name: "unknown variant", in: "linux/arm/v9", wantErr: "v5, v6, v7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList("linux/amd64, linux/arm/v7 darwin/arm64")
	if err != nil {
		t.Fatal(err)
	}
	want := []Platform{{"linux", "amd64", ""}, {"linux", "arm", "v7"}, {"darwin", "arm64", ""}}
	if !slices.Equal(got, want) {
		t.Errorf("ParseList = %v, want %v", got, want)
	}
	for _, bad := range []string{"", " , ", "linux/amd64,linux/amd64", "linux/amd64,nope"} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("ParseList(%q) error = nil, want an error", bad)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name                string
		p                   Platform
		str, slug, oci, exe string
		env                 []string
	}{
		{name: "linux", p: Platform{"linux", "amd64", ""}, str: "linux/amd64", slug: "linux_amd64", exe: "web", env: []string{"GOOS=linux", "GOARCH=amd64"}},
		{name: "arm v7", p: Platform{"linux", "arm", "v7"}, str: "linux/arm/v7", slug: "linux_arm_v7", oci: "v7", exe: "web", env: []string{"GOOS=linux", "GOARCH=arm", "GOARM=7"}},
		{name: "arm64 level", p: Platform{"linux", "arm64", "v8.2"}, str: "linux/arm64/v8.2", slug: "linux_arm64_v8.2", oci: "v8", exe: "web", env: []string{"GOOS=linux", "GOARCH=arm64", "GOARM64=v8.2"}},
		{name: "windows", p: Platform{"windows", "amd64", ""}, str: "windows/amd64", slug: "windows_amd64", exe: "web.exe", env: []string{"GOOS=windows", "GOARCH=amd64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			if got := tt.p.Slug(); got != tt.slug {
				t.Errorf("Slug() = %q, want %q", got, tt.slug)
			}
			if got := tt.p.OCIVariant(); got != tt.oci {
				t.Errorf("OCIVariant() = %q, want %q", got, tt.oci)
			}
			if got := tt.p.Exe("web"); got != tt.exe {
				t.Errorf("Exe(web) = %q, want %q", got, tt.exe)
			}
			if got := tt.p.Env(); !slices.Equal(got, tt.env) {
				t.Errorf("Env() = %v, want %v", got, tt.env)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ctx := t.Context()
	if err := Validate(ctx, "", Defaults()); err != nil {
		t.Fatalf("Validate(Defaults()) = %v, want nil", err)
	}
	err := Validate(ctx, "", []Platform{{OS: "plan10", Arch: "amd64"}})
	if err == nil || !strings.Contains(err.Error(), "plan10/amd64") || !strings.Contains(err.Error(), "linux/arm64") {
		t.Errorf("Validate(plan10/amd64) = %v, want an error naming it and listing valid platforms", err)
	}
	if err := Validate(ctx, "", nil); err == nil {
		t.Error("Validate(nil) = nil, want an error")
	}
	if _, err := Supported(ctx, "/nonexistent/go"); err == nil {
		t.Error("Supported(/nonexistent/go) = nil error, want one")
	}
}

func TestSuggest(t *testing.T) {
	for in, want := range map[string]string{
		"linux/armv7":    "linux/arm/v7",
		"linux/aarch64":  "linux/arm64",
		"linux_amd64":    "linux/amd64",
		"linux_arm_7":    "linux/arm/v7",
		"linux_amd64_v3": "linux/amd64/v3",
		"macos/arm64":    "darwin/arm64",
		"linux-x86_64":   "linux/amd64",
		"windows/i386":   "windows/386",
		"linux/amd64":    "",
		"plan9/vax":      "",
	} {
		if got := Suggest(in); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := Parse("linux_amd64"); err == nil || !strings.Contains(err.Error(), "did you mean linux/amd64?") {
		t.Errorf("Parse(linux_amd64) = %v", err)
	}
}
