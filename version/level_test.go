package version

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

func TestParseLevel(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Level
		wantErr bool
	}{
		{name: "empty", in: "", want: None},
		{name: "none", in: "none", want: None},
		{name: "patch", in: "patch", want: Patch},
		{name: "minor upper", in: "MINOR", want: Minor},
		{name: "major mixed with spaces", in: " Major ", want: Major},
		{name: "prerelease", in: "PreRelease", want: Prerelease},
		{name: "unknown", in: "huge", wantErr: true},
		{name: "version instead of level", in: "1.2.3", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLevel(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseLevel(%q) = %v, want an error", tt.in, got)
				}
				for _, valid := range []string{"major", "minor", "patch", "prerelease", tt.in} {
					if !strings.Contains(err.Error(), valid) {
						t.Errorf("ParseLevel(%q) error = %q, want it to mention %q", tt.in, err, valid)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseLevel(%q) = %v, %v, want %v, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestLevelString(t *testing.T) {
	tests := []struct {
		name  string
		level Level
		want  string
	}{
		{name: "none", level: None, want: "none"},
		{name: "patch", level: Patch, want: "patch"},
		{name: "minor", level: Minor, want: "minor"},
		{name: "major", level: Major, want: "major"},
		{name: "prerelease", level: Prerelease, want: "prerelease"},
		{name: "out of range", level: Level(42), want: "Level(42)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.level.String(); got != tt.want {
				t.Errorf("Level(%d).String() = %q, want %q", int(tt.level), got, tt.want)
			}
			if tt.level > Prerelease {
				return
			}
			back, err := ParseLevel(tt.level.String())
			if err != nil || back != tt.level {
				t.Errorf("ParseLevel(%q) = %v, %v, want %v, nil", tt.level.String(), back, err, tt.level)
			}
		})
	}
}

func TestLevelJSON(t *testing.T) {
	b, err := json.Marshal(map[string]Level{"level": Minor})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"level":"minor"}`; got != want {
		t.Errorf("json.Marshal(Minor) = %s, want %s", got, want)
	}
	var back map[string]Level
	if err := json.Unmarshal(b, &back); err != nil || back["level"] != Minor {
		t.Errorf("json.Unmarshal(%s) = %v, %v, want minor", b, back, err)
	}
	if err := json.Unmarshal([]byte(`{"level":"giant"}`), &back); err == nil {
		t.Errorf("json.Unmarshal(giant) error = nil, want an error")
	}
	if _, err := json.Marshal(Level(9)); err == nil {
		t.Errorf("json.Marshal(Level(9)) error = nil, want an error")
	}
}

func TestBump(t *testing.T) {
	const max = "18446744073709551615"
	tests := []struct {
		name    string
		v       string
		level   Level
		preID   string
		want    string
		wantErr string
	}{
		{name: "none keeps the version", v: "1.2.3-rc.1+b", level: None, want: "1.2.3-rc.1+b"},
		{name: "patch", v: "1.2.3", level: Patch, want: "1.2.4"},
		{name: "minor", v: "1.2.3", level: Minor, want: "1.3.0"},
		{name: "major", v: "1.2.3", level: Major, want: "2.0.0"},
		{name: "zero major minor", v: "0.1.0", level: Minor, want: "0.2.0"},
		{name: "metadata dropped", v: "1.2.3+build.7", level: Patch, want: "1.2.4"},

		// A bump of a prerelease finishes it when the numbers already fit.
		{name: "patch finishes rc", v: "1.2.3-rc.1", level: Patch, want: "1.2.3"},
		{name: "minor finishes rc of a minor", v: "1.2.0-rc.1", level: Minor, want: "1.2.0"},
		{name: "minor on rc of a patch moves on", v: "1.2.3-rc.1", level: Minor, want: "1.3.0"},
		{name: "major finishes rc of a major", v: "1.0.0-rc.1", level: Major, want: "1.0.0"},
		{name: "major on rc of a minor moves on", v: "1.2.0-rc.1", level: Major, want: "2.0.0"},
		{name: "major on rc of a patch moves on", v: "1.0.1-rc.1", level: Major, want: "2.0.0"},
		{name: "finish drops metadata", v: "1.0.0-rc.1+b", level: Major, want: "1.0.0"},

		{name: "prerelease counts up", v: "1.2.3-rc.1", level: Prerelease, want: "1.2.3-rc.2"},
		{name: "prerelease past nine", v: "1.2.3-rc.9", level: Prerelease, want: "1.2.3-rc.10"},
		{name: "prerelease same id", v: "1.2.3-rc.1", level: Prerelease, preID: "rc", want: "1.2.3-rc.2"},
		{name: "prerelease without number", v: "1.2.3-rc", level: Prerelease, want: "1.2.3-rc.1"},
		{name: "prerelease dotted id", v: "1.2.3-alpha.beta.4", level: Prerelease, want: "1.2.3-alpha.beta.5"},
		{name: "prerelease bare number", v: "1.2.3-4", level: Prerelease, want: "1.2.3-5"},
		{name: "prerelease from release", v: "1.2.3", level: Prerelease, want: "1.2.4-rc.1"},
		{name: "prerelease from release with id", v: "1.2.3+meta", level: Prerelease, preID: "beta", want: "1.2.4-beta.1"},
		{name: "prerelease switches id upward", v: "1.2.3-alpha.3", level: Prerelease, preID: "beta", want: "1.2.3-beta.1"},
		{name: "prerelease refuses going down", v: "1.2.3-rc.2", level: Prerelease, preID: "alpha", wantErr: "sort below"},
		{name: "prerelease bad id", v: "1.2.3", level: Prerelease, preID: "r_c", wantErr: "not valid semver"},
		{name: "prerelease empty part in id", v: "1.2.3", level: Prerelease, preID: "rc..1", wantErr: "not valid semver"},

		{name: "unknown level", v: "1.2.3", level: Level(7), wantErr: "unknown level"},
		{name: "patch overflow", v: "1.2." + max, level: Patch, wantErr: "overflow"},
		{name: "minor overflow", v: "1." + max + ".0", level: Minor, wantErr: "overflow"},
		{name: "major overflow", v: max + ".0.0", level: Major, wantErr: "overflow"},
		{name: "prerelease overflow from release", v: "1.2." + max, level: Prerelease, wantErr: "overflow"},
		{name: "prerelease counter overflow", v: "1.2.3-rc." + max, level: Prerelease, wantErr: "overflow"},
		{name: "patch finishes even at max", v: "1.2." + max + "-rc.1", level: Patch, want: "1.2." + max},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := semver.MustParse(tt.v)
			before := v.String()
			got, err := Bump(v, tt.level, tt.preID)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Bump(%s, %s, %q) = %v, %v, want error containing %q", tt.v, tt.level, tt.preID, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Bump(%s, %s, %q) error = %v", tt.v, tt.level, tt.preID, err)
			}
			if got.String() != tt.want {
				t.Errorf("Bump(%s, %s, %q) = %s, want %s", tt.v, tt.level, tt.preID, got, tt.want)
			}
			if v.String() != before {
				t.Errorf("Bump(%s, ...) changed its input to %s", tt.v, v)
			}
			if _, err := semver.StrictNewVersion(got.String()); err != nil {
				t.Errorf("Bump(%s, %s, %q) = %s, which is not strict semver: %v", tt.v, tt.level, tt.preID, got, err)
			}
			if tt.level != None && !got.GreaterThan(v) {
				t.Errorf("Bump(%s, %s, %q) = %s, want a higher version", tt.v, tt.level, tt.preID, got)
			}
		})
	}
}

func TestBumpNil(t *testing.T) {
	if got, err := Bump(nil, Patch, ""); err == nil {
		t.Errorf("Bump(nil, patch) = %v, nil, want an error", got)
	}
}
