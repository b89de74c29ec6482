package publish

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// screen replays the escape sequences the tty renderer uses (cursor up,
// carriage return, erase below) the way a terminal would, and returns the
// visible lines, so tests check what a user sees rather than raw bytes.
func screen(t *testing.T, out string) []string {
	t.Helper()
	lines := []string{""}
	row, col := 0, 0
	esc := regexp.MustCompile(`^\x1b\[(\d*)([AJ])`)
	for i := 0; i < len(out); {
		if m := esc.FindStringSubmatch(out[i:]); m != nil {
			switch m[2] {
			case "A":
				n, _ := strconv.Atoi(m[1])
				row = max(row-n, 0)
			case "J":
				lines[row] = lines[row][:min(col, len(lines[row]))]
				lines = lines[:row+1]
			}
			i += len(m[0])
			continue
		}
		switch c := out[i]; c {
		case '\x1b':
			t.Fatalf("unexpected escape sequence at %q", out[i:min(i+8, len(out))])
		case '\r':
			col = 0
		case '\n':
			row++
			col = 0
			if row == len(lines) {
				lines = append(lines, "")
			}
		default:
			l := lines[row]
			if col < len(l) {
				l = l[:col] + string(c) + l[col+1:]
			} else {
				l += strings.Repeat(" ", col-len(l)) + string(c)
			}
			lines[row] = l
			col++
		}
		i++
	}
	// The cursor rests on an empty line after the last output.
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func hash(t *testing.T, c byte) v1.Hash {
	t.Helper()
	h, err := v1.NewHash("sha256:" + strings.Repeat(string(c), 64))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestProgressTTY(t *testing.T) {
	var out bytes.Buffer
	clock := time.Unix(0, 0)
	s := newProgressSink(&out, true, "")
	s.now = func() time.Time { return clock }
	repo := "127.0.0.1:5000/some/very/long/repository/name"

	a := s.start(repo, hash(t, 'a'), 2000)
	b := s.start(repo, hash(t, 'b'), 1000)
	want := []string{
		"...ong/repository/name aaaaaaaaaaaa [                    ]   0% 0 B/2.0 kB",
		"...ong/repository/name bbbbbbbbbbbb [                    ]   0% 0 B/1.0 kB",
	}
	if diff := cmp.Diff(want, screen(t, out.String())); diff != "" {
		t.Fatalf("screen after two starts (-want +got):\n%s", diff)
	}

	// Byte counts repaint only after the throttle interval.
	a.add(1000)
	if got := screen(t, out.String()); got[0] != want[0] {
		t.Errorf("screen repainted within the throttle interval: %q", got[0])
	}
	clock = clock.Add(redrawEvery)
	b.add(500)
	got := screen(t, out.String())
	if !strings.HasSuffix(got[0], "[==========          ]  50% 1.0 kB/2.0 kB") {
		t.Errorf("bar a after 1000 of 2000 bytes = %q, want half full", got[0])
	}
	if !strings.HasSuffix(got[1], "[==========          ]  50% 500 B/1.0 kB") {
		t.Errorf("bar b after 500 of 1000 bytes = %q, want half full", got[1])
	}
	// A retried upload starts its bar over.
	a.restart()
	clock = clock.Add(redrawEvery)
	b.add(0)
	if got := screen(t, out.String()); !strings.HasSuffix(got[0], "[                    ]   0% 0 B/2.0 kB") {
		t.Errorf("bar a after restart = %q, want empty", got[0])
	}

	s.note("warning: a long note that is wider than any bar and would wrap on a narrow terminal without harm")
	b.finish(nil)
	s.exists(repo, hash(t, 'c'), 3_500_000)
	a.finish(errors.New("boom"))
	s.close()
	want = []string{
		"warning: a long note that is wider than any bar and would wrap on a narrow terminal without harm",
		"pushed sha256:bbbbbbbbbbbb 1.0 kB to " + repo,
		"exists sha256:cccccccccccc 3.5 MB in " + repo,
		"failed sha256:aaaaaaaaaaaa to " + repo,
	}
	if diff := cmp.Diff(want, screen(t, out.String())); diff != "" {
		t.Errorf("final screen (-want +got):\n%s", diff)
	}
}

func TestProgressBarFitsTerminal(t *testing.T) {
	s := newProgressSink(&bytes.Buffer{}, true, "")
	b := s.start(strings.Repeat("r", 200), hash(t, 'f'), 999_999_999_999)
	b.done = 999_999_999_999
	if row := b.rowLocked(); len(row) > 80 {
		t.Errorf("rowLocked() is %d columns, want at most 80: %q", len(row), row)
	}
	z := s.start("r", hash(t, 'e'), 0)
	if row := z.rowLocked(); !strings.Contains(row, "100%") {
		t.Errorf("rowLocked() of an empty blob = %q, want 100%%", row)
	}
}

func TestProgressPlain(t *testing.T) {
	var out bytes.Buffer
	s := newProgressSink(&out, false, "")
	b := s.start("r/web", hash(t, 'a'), 1_200_000)
	b.add(10)
	b.finish(nil)
	s.exists("r/web", hash(t, 'b'), 42)
	s.note("tagged r/web:v1 -> sha256:aaaaaaaaaaaa")
	s.close()
	want := "pushed sha256:aaaaaaaaaaaa 1.2 MB to r/web\n" +
		"exists sha256:bbbbbbbbbbbb 42 B in r/web\n" +
		"tagged r/web:v1 -> sha256:aaaaaaaaaaaa\n"
	if out.String() != want {
		t.Errorf("plain progress =\n%s\nwant\n%s", out.String(), want)
	}
}

func TestProgressNilIsSilent(t *testing.T) {
	var s *progressSink
	b := s.start("r", hash(t, 'a'), 1)
	b.restart()
	rc := b.wrap(nil)
	b.finish(nil)
	s.exists("r", hash(t, 'a'), 1)
	s.note("x")
	s.close()
	if b != nil || rc != nil {
		t.Errorf("nil sink returned bar %v reader %v, want nil and the reader unchanged", b, rc)
	}
}

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		name string
		in   int64
		want string
	}{
		{name: "bytes", in: 999, want: "999 B"},
		{name: "kilo", in: 1000, want: "1.0 kB"},
		{name: "rounding edge", in: 999_999, want: "1.0 MB"},
		{name: "mega", in: 1_234_567, want: "1.2 MB"},
		{name: "giga", in: 5_000_000_000, want: "5.0 GB"},
		{name: "peta", in: 2_000_000_000_000_000, want: "2.0 PB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := humanBytes(tc.in); got != tc.want {
				t.Errorf("humanBytes(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPushProgressTTY(t *testing.T) {
	host, _ := testRegistry(t)
	var out bytes.Buffer
	repo := host + "/tty"
	_, err := Push(t.Context(), testIndex(t, 700, 64<<10), []Destination{{Repository: repo, Tags: []string{"v1"}}},
		WithAuth(authn.Anonymous), WithProgress(&out, true))
	if err != nil {
		t.Fatal(err)
	}
	lines := screen(t, out.String())
	count := func(prefix string) int {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				n++
			}
		}
		return n
	}
	if got := count("pushed sha256:"); got != testIndexBlobs {
		t.Errorf("final screen has %d pushed lines, want %d:\n%s", got, testIndexBlobs, strings.Join(lines, "\n"))
	}
	if got := count("manifest sha256:"); got != 3 {
		t.Errorf("final screen has %d manifest lines, want 3", got)
	}
	if got := count("tagged " + repo + ":v1"); got != 1 {
		t.Errorf("final screen has %d tag lines, want 1", got)
	}
	if len(lines) != testIndexBlobs+4 {
		t.Errorf("final screen has %d lines, want %d (no bars left behind):\n%s", len(lines), testIndexBlobs+4, strings.Join(lines, "\n"))
	}
}

// TestProgressTTYPrefix follows a push on a terminal under a target's
// prefix: every line keeps it (the redraw must not erase it), a bar fits
// 80 columns with it, and an upload abandoned by a failure leaves no bar
// behind once the push closes.
func TestProgressTTYPrefix(t *testing.T) {
	var out bytes.Buffer
	clock := time.Unix(0, 0)
	const prefix = "release:snapshot: "
	s := newProgressSink(&out, true, prefix)
	s.now = func() time.Time { return clock }
	repo := "127.0.0.1:5000/shop"
	a := s.start(repo, hash(t, 'a'), 2000)
	b := s.start(repo, hash(t, 'b'), 999_999_999_999)
	b.done = 999_999_999_999
	for _, row := range screen(t, out.String()) {
		if !strings.HasPrefix(row, prefix) || len(row) > 80 {
			t.Errorf("bar row %q: want the prefix and at most 80 columns", row)
		}
	}
	if row := prefix + b.rowLocked(); len(row) > 80 {
		t.Errorf("full bar is %d columns: %q", len(row), row)
	}
	s.note("tagged " + repo + ":1.0.0 -> sha256:aaaaaaaaaaaa")
	b.finish(nil)
	clock = clock.Add(redrawEvery)
	a.add(100) // a is still running when the push fails elsewhere
	s.close()
	want := []string{
		prefix + "tagged " + repo + ":1.0.0 -> sha256:aaaaaaaaaaaa",
		prefix + "pushed sha256:bbbbbbbbbbbb 1.0 TB to " + repo,
	}
	if diff := cmp.Diff(want, screen(t, out.String())); diff != "" {
		t.Errorf("final screen (-want +got):\n%s", diff)
	}

	var plain bytes.Buffer
	p := newProgressSink(&plain, false, prefix)
	p.note("manifest x to y")
	p.start(repo, hash(t, 'c'), 10).finish(nil)
	if got := plain.String(); got != prefix+"manifest x to y\n"+prefix+"pushed sha256:cccccccccccc 10 B to "+repo+"\n" {
		t.Errorf("plain output = %q", got)
	}
}
