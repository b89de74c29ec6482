package version

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Level is how far a release moves the version. The release levels are
// ordered (None < Patch < Minor < Major) so that the strongest request among
// many commits wins; Prerelease stands apart and only comes from the user.
type Level int

const (
	// None means no bump: from commits it means "nothing to release", as an
	// explicit level it means "decide from the commits".
	None Level = iota
	// Patch is for backward compatible bug fixes.
	Patch
	// Minor is for backward compatible features.
	Minor
	// Major is for breaking changes.
	Major
	// Prerelease cuts the next release candidate; see the package doc.
	Prerelease
)

// DefaultPreID is the prerelease identifier used when a prerelease bump starts
// from a release version and the caller named none.
const DefaultPreID = "rc"

var levelNames = [...]string{None: "none", Patch: "patch", Minor: "minor", Major: "major", Prerelease: "prerelease"}

// String returns the lower-case name that ParseLevel accepts, which is also
// how the level appears in plans and BUMP values.
func (l Level) String() string {
	if l < None || l > Prerelease {
		return "Level(" + strconv.Itoa(int(l)) + ")"
	}
	return levelNames[l]
}

// ParseLevel reads a bump level as a user writes it (BUMP=minor). It ignores
// case and surrounding spaces; "" and "none" give None so an unset variable
// means "decide from the commits".
func ParseLevel(s string) (Level, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return None, nil
	}
	for l, name := range levelNames {
		if t == name {
			return Level(l), nil
		}
	}
	return None, fmt.Errorf("unknown bump level %q: use one of major, minor, patch, prerelease (or leave it empty to decide from the commits)", s)
}

// MarshalText lets a Level appear by name in JSON plans.
func (l Level) MarshalText() ([]byte, error) {
	if l < None || l > Prerelease {
		return nil, fmt.Errorf("marshal level: unknown level %d", int(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText reads a Level back from a JSON plan.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Bump returns the version that follows v at the given level, following the
// rules in the package doc: a patch, minor or major bump finishes a prerelease
// when it can, and a prerelease bump counts candidates. preID names the
// prerelease identifier for Prerelease bumps ("" keeps the current one, or
// uses DefaultPreID from a release); the other levels ignore it. v is not
// modified.
func Bump(v *semver.Version, level Level, preID string) (*semver.Version, error) {
	if v == nil {
		return nil, fmt.Errorf("bump: no version given")
	}
	if preID != "" {
		if err := checkPreID(preID); err != nil {
			return nil, err
		}
	}
	pre := v.Prerelease()
	var next semver.Version
	switch level {
	case None:
		c := *v
		return &c, nil
	case Patch:
		if pre == "" && v.Patch() == math.MaxUint64 {
			return nil, overflow(v, level)
		}
		next = v.IncPatch() // already finishes a prerelease
	case Minor:
		if pre != "" && v.Patch() == 0 {
			next = finish(v)
			break
		}
		if v.Minor() == math.MaxUint64 {
			return nil, overflow(v, level)
		}
		next = v.IncMinor()
	case Major:
		if pre != "" && v.Minor() == 0 && v.Patch() == 0 {
			next = finish(v)
			break
		}
		if v.Major() == math.MaxUint64 {
			return nil, overflow(v, level)
		}
		next = v.IncMajor()
	case Prerelease:
		return bumpPrerelease(v, preID)
	default:
		return nil, fmt.Errorf("bump %s: unknown level %s", v, level)
	}
	return &next, nil
}

// finish drops the prerelease and metadata, keeping the numbers.
func finish(v *semver.Version) semver.Version {
	return *semver.New(v.Major(), v.Minor(), v.Patch(), "", "")
}

func overflow(v *semver.Version, level Level) error {
	return fmt.Errorf("bump %s by %s: the number would overflow", v, level)
}

// checkPreID rejects identifiers that would make an invalid version, so the
// user learns about a bad PRERELEASE value before anything is built.
func checkPreID(preID string) error {
	if _, err := semver.New(0, 0, 0, "", "").SetPrerelease(preID); err != nil {
		return fmt.Errorf("prerelease identifier %q is not valid semver: use letters, digits and hyphens, such as rc or beta (%w)", preID, err)
	}
	return nil
}

func bumpPrerelease(v *semver.Version, preID string) (*semver.Version, error) {
	pre := v.Prerelease()
	if pre == "" {
		if v.Patch() == math.MaxUint64 {
			return nil, overflow(v, Prerelease)
		}
		if preID == "" {
			preID = DefaultPreID
		}
		n := semver.New(v.Major(), v.Minor(), v.Patch()+1, preID+".1", "")
		return n, nil
	}
	ids := strings.Split(pre, ".")
	last := ids[len(ids)-1]
	n, numErr := strconv.ParseUint(last, 10, 64)
	numeric := numErr == nil
	stem := pre
	if numeric {
		stem = strings.Join(ids[:len(ids)-1], ".")
	}
	if preID != "" && preID != stem {
		next := semver.New(v.Major(), v.Minor(), v.Patch(), preID+".1", "")
		if !next.GreaterThan(v) {
			return nil, fmt.Errorf("bump %s to prerelease %q: %s would sort below the current version; pick an identifier that sorts after %q or release %s first",
				v, preID, next, stem, finish(v).String())
		}
		return next, nil
	}
	switch {
	case numeric && n == math.MaxUint64:
		return nil, overflow(v, Prerelease)
	case numeric:
		ids[len(ids)-1] = strconv.FormatUint(n+1, 10)
	default:
		ids = append(ids, "1")
	}
	return semver.New(v.Major(), v.Minor(), v.Patch(), strings.Join(ids, "."), ""), nil
}
