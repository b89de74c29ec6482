package publish

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// progressSink renders push progress. A nil sink is valid and silent, so
// callers never need to check whether progress was requested.
//
// In plain mode every finished event becomes one line. In tty mode the blobs
// in flight form a live region of bars at the bottom of the output, redrawn
// in place; finished blobs and notes are printed once above that region and
// never touched again, so the region stays small (at most the number of
// concurrent uploads) and long lines that wrap cannot confuse the redraw.
type progressSink struct {
	mu       sync.Mutex
	w        io.Writer
	prefix   string // starts every line, bars included
	tty      bool
	active   []*blobBar
	drawn    int // rows of the live region currently on screen
	lastDraw time.Time
	now      func() time.Time
}

// redrawEvery limits how often byte counts repaint the bars.
const redrawEvery = 100 * time.Millisecond

func newProgressSink(w io.Writer, tty bool, prefix string) *progressSink {
	return &progressSink{w: w, tty: tty, prefix: prefix, now: time.Now}
}

// blobBar follows one blob upload. A nil bar is valid and does nothing.
type blobBar struct {
	s      *progressSink
	repo   string
	digest v1.Hash
	size   int64
	done   int64 // guarded by s.mu
}

// start begins tracking an upload of digest to repo.
func (s *progressSink) start(repo string, digest v1.Hash, size int64) *blobBar {
	if s == nil {
		return nil
	}
	b := &blobBar{s: s, repo: repo, digest: digest, size: size}
	if s.tty {
		s.mu.Lock()
		s.active = append(s.active, b)
		s.drawLocked("")
		s.mu.Unlock()
	}
	return b
}

// exists reports a blob the registry already had.
func (s *progressSink) exists(repo string, digest v1.Hash, size int64) {
	s.permanent(fmt.Sprintf("exists %s %s in %s", shortDigest(digest), humanBytes(size), repo))
}

// note reports a one-line event such as a manifest or tag being written.
func (s *progressSink) note(line string) {
	s.permanent(line)
}

// close erases the live region: every finished blob has its permanent
// line, and a bar still open belongs to an upload that was abandoned (a
// failure or an interruption elsewhere), which must not stay on screen as
// if it were still running. Nothing is drawn after it.
func (s *progressSink) close() {
	if s == nil || !s.tty {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active = nil
	s.drawLocked("")
}

func (s *progressSink) permanent(line string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tty {
		s.drawLocked(s.prefix + line + "\n")
		return
	}
	fmt.Fprintln(s.w, s.prefix+line)
}

// drawLocked moves the cursor back to the top of the live region, clears
// everything below it, prints the permanent lines in above, then repaints
// the live bars. The sink writes its prefix itself, after the cursor
// moves: a prefixing writer underneath would put it before them, where the
// clear erases it.
func (s *progressSink) drawLocked(above string) {
	var b strings.Builder
	if s.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", s.drawn)
	}
	b.WriteString("\r\x1b[J")
	b.WriteString(above)
	for _, bar := range s.active {
		b.WriteString(s.prefix + bar.rowLocked())
		b.WriteByte('\n')
	}
	s.drawn = len(s.active)
	s.lastDraw = s.now()
	io.WriteString(s.w, b.String())
}

// restart zeroes the count when an upload starts over after a retry.
func (b *blobBar) restart() {
	if b == nil {
		return
	}
	b.s.mu.Lock()
	b.done = 0
	b.s.mu.Unlock()
}

// wrap counts the bytes read from rc as uploaded.
func (b *blobBar) wrap(rc io.ReadCloser) io.ReadCloser {
	if b == nil {
		return rc
	}
	return &countingReader{ReadCloser: rc, bar: b}
}

func (b *blobBar) add(n int) {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	b.done += int64(n)
	if s.tty && s.now().Sub(s.lastDraw) >= redrawEvery {
		s.drawLocked("")
	}
}

// finish records the outcome and turns the bar into a permanent line.
func (b *blobBar) finish(err error) {
	if b == nil {
		return
	}
	s := b.s
	line := fmt.Sprintf("pushed %s %s to %s", shortDigest(b.digest), humanBytes(b.size), b.repo)
	if err != nil {
		line = fmt.Sprintf("failed %s to %s", shortDigest(b.digest), b.repo)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.tty {
		fmt.Fprintln(s.w, s.prefix+line)
		return
	}
	for i, a := range s.active {
		if a == b {
			s.active = append(s.active[:i], s.active[i+1:]...)
			break
		}
	}
	s.drawLocked(s.prefix + line + "\n")
}

// rowLocked renders the bar in at most 80 columns, the sink's prefix
// included, so that it never wraps on a standard terminal, which would
// break the cursor arithmetic: the repository name gives up what the
// prefix takes, down to 6 columns, and the bar the rest.
func (b *blobBar) rowLocked() string {
	repoWidth, width := 22, 20
	if p := len(b.s.prefix); p > 0 {
		repoWidth = max(6, 22-p)
		width = max(4, 20-max(0, p-16))
	}
	frac := 1.0
	if b.size > 0 {
		frac = min(float64(b.done)/float64(b.size), 1)
	}
	fill := int(frac * float64(width))
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	return fmt.Sprintf("%-*s %s [%s] %3d%% %s/%s",
		repoWidth, shortRepo(b.repo, repoWidth), b.digest.Hex[:min(12, len(b.digest.Hex))], bar, int(frac*100),
		humanBytes(b.done), humanBytes(b.size))
}

type countingReader struct {
	io.ReadCloser
	bar *blobBar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if n > 0 {
		c.bar.add(n)
	}
	return n, err
}

// shortDigest abbreviates a digest the way docker does in its output.
func shortDigest(h v1.Hash) string {
	return h.Algorithm + ":" + h.Hex[:min(12, len(h.Hex))]
}

// shortRepo keeps the end of a long repository name, which is the part that
// tells destinations apart.
func shortRepo(repo string, n int) string {
	if len(repo) <= n {
		return repo
	}
	return "..." + repo[len(repo)-(n-3):]
}

// humanBytes formats a size with decimal units, as registries and docker do.
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		f /= unit
		if f < unit-0.05 { // would otherwise print "1000.0 kB"
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return fmt.Sprintf("%.1f PB", f/unit)
}
