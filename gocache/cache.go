package gocache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Cache answers the go command's cache requests from a local directory and
// an optional remote. Create one with New and run it with Serve.
type Cache struct {
	dir string // absolute, so DiskPath is too
	o   *options

	serving atomic.Bool

	// remoteOff is set by the first remote failure outside strict mode.
	remoteOff atomic.Bool
	failMu    sync.Mutex
	failure   error // the first remote failure, which strict mode reports at close

	// inRemote holds the hex action IDs this process knows the remote has,
	// fetched or uploaded, so nothing is uploaded twice.
	inRemote sync.Map

	st    counters
	logMu sync.Mutex
}

// Directories under the cache root. Each holds up to 256 shards, created
// on first use, named by the first two hex digits of the file names inside.
const (
	outputsDir = "o" // outputs, named by the hex OutputID
	entriesDir = "a" // action entries, named by the hex ActionID
)

// maxIDLen bounds action and output IDs; the go command sends 32 bytes.
const maxIDLen = 64

// New opens the cache rooted at dir, creating the directory as needed.
func New(dir string, opts ...Option) (*Cache, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, fmt.Errorf("gocache: %w", err)
	}
	if dir == "" {
		return nil, errors.New("gocache: no cache directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("gocache: resolve cache directory %s: %w", dir, err)
	}
	for _, sub := range []string{outputsDir, entriesDir} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return nil, fmt.Errorf("gocache: create cache directory: %w (is %s writable?)", err, abs)
		}
	}
	return &Cache{dir: abs, o: o}, nil
}

// Dir returns the absolute path of the local tier.
func (c *Cache) Dir() string { return c.dir }

func validID(id []byte) bool { return len(id) > 0 && len(id) <= maxIDLen }

func (c *Cache) outputPath(outputID []byte) string {
	h := hex.EncodeToString(outputID)
	return filepath.Join(c.dir, outputsDir, h[:2], h)
}

func (c *Cache) entryPath(actionID []byte) string {
	h := hex.EncodeToString(actionID)
	return filepath.Join(c.dir, entriesDir, h[:2], h)
}

// diskEntry is an action entry as stored in the local tier.
type diskEntry struct {
	OutputID string    `json:"output"`
	Size     int64     `json:"size"`
	Time     time.Time `json:"time"`
}

func parseEntry(data []byte) (Entry, error) {
	var d diskEntry
	if err := json.Unmarshal(data, &d); err != nil {
		return Entry{}, err
	}
	out, err := hex.DecodeString(d.OutputID)
	if err != nil || !validID(out) || d.Size < 0 {
		return Entry{}, fmt.Errorf("entry names output %q of size %d", d.OutputID, d.Size)
	}
	return Entry{OutputID: out, Size: d.Size, Time: d.Time}, nil
}

// touchAfter is how stale an entry's modification time may get before a
// hit refreshes it. Prune removes the least recently used entries first;
// refreshing at most hourly keeps hits from costing a write each.
const touchAfter = time.Hour

// lookupLocal returns the local entry for actionID and the path of its
// output, if both are present and agree on the size.
func (c *Cache) lookupLocal(actionID []byte) (Entry, string, bool) {
	path := c.entryPath(actionID)
	data, err := os.ReadFile(path)
	if err != nil {
		return Entry{}, "", false
	}
	e, err := parseEntry(data)
	if err != nil {
		return Entry{}, "", false
	}
	out := c.outputPath(e.OutputID)
	fi, err := os.Stat(out)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != e.Size {
		return Entry{}, "", false
	}
	if ei, err := os.Stat(path); err == nil && time.Since(ei.ModTime()) > touchAfter {
		now := time.Now()
		_ = os.Chtimes(path, now, now) // only an LRU hint for Prune
	}
	return e, out, true
}

// newOutputTemp creates a temporary file in the shard outputID will live
// in, so that installing it is a rename within one directory.
func (c *Cache) newOutputTemp(outputID []byte) (*os.File, error) {
	f, err := createTemp(filepath.Dir(c.outputPath(outputID)))
	if err != nil {
		return nil, fmt.Errorf("create temporary output file: %w", err)
	}
	return f, nil
}

// createTemp creates a temporary file in the shard dir, creating the shard
// the first time.
func createTemp(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		f, err = os.CreateTemp(dir, ".tmp-*")
	}
	return f, err
}

// installOutput moves the finished temporary file tmp into place as the
// output outputID of size bytes and returns its path. An output already in
// place with that size is the same content (its name is its digest), so it
// is kept and tmp removed.
//
// Outputs are not synced to disk: the go command's own cache does not
// either, and a lost or short file after a crash is caught by the size
// check on lookup or by the go command's own checks, costing a rebuild.
func (c *Cache) installOutput(tmp string, outputID []byte, size int64) (string, error) {
	path := c.outputPath(outputID)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == size {
		os.Remove(tmp)
		return path, nil
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("install output %x: %w", outputID, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("install output %x: %w", outputID, err)
	}
	return path, nil
}

// writeEntry records e under actionID, replacing any earlier entry whole.
func (c *Cache) writeEntry(actionID []byte, e Entry) error {
	data, err := json.Marshal(diskEntry{OutputID: hex.EncodeToString(e.OutputID), Size: e.Size, Time: e.Time.UTC()})
	if err != nil {
		return fmt.Errorf("encode entry %x: %w", actionID, err)
	}
	path := c.entryPath(actionID)
	f, err := createTemp(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("write entry %x: %w", actionID, err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write entry %x: %w", actionID, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write entry %x: %w", actionID, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write entry %x: %w", actionID, err)
	}
	return nil
}

// remoteError marks a failure on the remote's side, as opposed to the local
// disk's: only these disable the remote.
type remoteError struct {
	op  string
	err error
}

func (e *remoteError) Error() string { return fmt.Sprintf("remote %s: %v", e.op, e.err) }
func (e *remoteError) Unwrap() error { return e.err }

// errCorrupt marks remote content that failed verification; it has been
// logged and counts as a miss.
var errCorrupt = errors.New("remote entry failed verification")

// remoteReader tags read errors as the remote's, so that a failing local
// write during the same copy is not mistaken for one.
type remoteReader struct {
	r  io.Reader
	op string
}

func (r remoteReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = &remoteError{op: r.op, err: err}
	}
	return n, err
}

// activeRemote returns the remote, or nil when there is none or the first
// failure turned it off.
func (c *Cache) activeRemote() Remote {
	if c.o.remote == nil || c.remoteOff.Load() {
		return nil
	}
	return c.o.remote
}

// fetch asks the remote for actionID and, if the content it returns has the
// SHA-256 and size the entry promises, stores both locally. It returns
// ErrMiss, errCorrupt, a *remoteError, or a local error.
func (c *Cache) fetch(ctx context.Context, r Remote, actionID []byte) (Entry, string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.remoteTimeout)
	defer cancel()
	op := fmt.Sprintf("get %x", actionID)
	e, body, err := r.Get(ctx, actionID)
	if errors.Is(err, ErrMiss) {
		return Entry{}, "", ErrMiss
	}
	if err != nil {
		return Entry{}, "", &remoteError{op: op, err: err}
	}
	defer body.Close()
	if len(e.OutputID) != sha256.Size || e.Size < 0 {
		c.st.corrupt.Add(1)
		c.logf("ignoring remote entry for action %x: output ID %x of size %d is not a SHA-256 digest, building", actionID, e.OutputID, e.Size)
		return Entry{}, "", errCorrupt
	}
	tmp, err := c.newOutputTemp(e.OutputID)
	if err != nil {
		return Entry{}, "", err
	}
	defer os.Remove(tmp.Name()) // a no-op once installed
	h := sha256.New()
	// One byte more than promised is enough to tell a longer body apart.
	n, err := io.Copy(io.MultiWriter(tmp, h), remoteReader{r: io.LimitReader(body, e.Size+1), op: op})
	c.st.bytesDown.Add(n)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write fetched output %x: %w", e.OutputID, cerr)
	}
	if err != nil {
		return Entry{}, "", err
	}
	if sum := h.Sum(nil); n != e.Size || string(sum) != string(e.OutputID) {
		c.st.corrupt.Add(1)
		c.logf("ignoring remote entry for action %x: digest mismatch (content is %d bytes with sha256 %x, entry says %d bytes with sha256 %x), building",
			actionID, n, sum, e.Size, e.OutputID)
		return Entry{}, "", errCorrupt
	}
	path, err := c.installOutput(tmp.Name(), e.OutputID, e.Size)
	if err != nil {
		return Entry{}, "", err
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if err := c.writeEntry(actionID, e); err != nil {
		return Entry{}, "", err
	}
	c.inRemote.Store(hex.EncodeToString(actionID), struct{}{})
	return e, path, nil
}

// remoteFailed accounts for a remote failure. The first one turns the
// remote off for the rest of the process, and is logged. Outside strict
// mode remoteFailed returns nil: the build goes on locally. In strict mode
// it returns the error, redacted, for the request to report, and keeps the
// first for later requests and close: the build will fail anyway, so
// waiting on the remote again would only make it fail later.
func (c *Cache) remoteFailed(err error) error {
	c.st.remoteErrors.Add(1)
	red := redactError(err)
	first := c.remoteOff.CompareAndSwap(false, true)
	if !c.o.strict {
		if first {
			c.logf("remote cache unavailable (%v); falling back to building locally", red)
		}
		return nil
	}
	c.failMu.Lock()
	if c.failure == nil {
		c.failure = red
	}
	c.failMu.Unlock()
	if first {
		c.logf("remote cache failed (%v); strict mode, so this build will fail", red)
	}
	return red
}

// strictFailure returns the first remote failure in strict mode, or nil.
func (c *Cache) strictFailure() error {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	if c.failure == nil {
		return nil
	}
	return fmt.Errorf("the remote cache failed and strict mode is on: %w", c.failure)
}

// logf writes one line to the log; concurrent lines never interleave.
func (c *Cache) logf(format string, args ...any) {
	if c.o.log == io.Discard {
		return
	}
	line := "gocache: " + redact(fmt.Sprintf(format, args...))
	line = strings.TrimRight(line, "\n") + "\n"
	c.logMu.Lock()
	defer c.logMu.Unlock()
	io.WriteString(c.o.log, line)
}

// Credentials can hide in URLs (user info, signed query strings) and in
// authorization headers quoted by an error. Remotes should keep them out of
// their errors; this is the second line of defence for what reaches logs
// and the go command's output.
var (
	userInfoRE = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)
	secretQRE  = regexp.MustCompile(`(?i)([?&][^=&\s]*(?:token|sig|signature|secret|password|passwd|key|auth|credential)[^=&\s]*=)[^&\s"']+`)
	authHdrRE  = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`)
)

func redact(s string) string {
	s = userInfoRE.ReplaceAllString(s, "${1}REDACTED@")
	s = secretQRE.ReplaceAllString(s, "${1}REDACTED")
	s = authHdrRE.ReplaceAllString(s, "$1 REDACTED")
	return s
}

// redactedError shows err's text without credentials and still unwraps to
// it, so errors.Is keeps working.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redactError(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: redact(err.Error()), err: err}
}
