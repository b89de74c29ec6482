package gocache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"github.com/hoistdev/hoist/internal/atomicfile"
)

// Stats counts what a Cache did, for reports such as a cache:stats target
// showing the last run. hoist-cache serves once per process, so its counts
// are one go command's.
type Stats struct {
	// Start and End bound the latest Serve call; the counts run from New.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Remote names the remote tier when it describes itself (implements
	// fmt.Stringer), without credentials.
	Remote string `json:"remote,omitempty"`

	// LocalHits and RemoteHits count get requests answered from each tier.
	LocalHits  int64 `json:"localHits"`
	RemoteHits int64 `json:"remoteHits"`
	// Misses counts get requests answered without an output, whatever the
	// reason: absent everywhere, corrupt in the remote, or failed.
	Misses int64 `json:"misses"`
	// Puts counts outputs stored locally.
	Puts int64 `json:"puts"`
	// Uploads counts outputs stored in the remote; UploadsAbandoned those
	// still running when close stopped waiting.
	Uploads          int64 `json:"uploads"`
	UploadsAbandoned int64 `json:"uploadsAbandoned,omitempty"`

	BytesDownloaded int64 `json:"bytesDownloaded"`
	BytesUploaded   int64 `json:"bytesUploaded"`

	// RemoteErrors counts failed remote calls; Corrupt counts remote
	// entries whose content did not match their digest or size.
	RemoteErrors int64 `json:"remoteErrors"`
	Corrupt      int64 `json:"corrupt"`
	// RemoteDisabled reports that a failure made the rest of the run local.
	RemoteDisabled bool `json:"remoteDisabled,omitempty"`
}

// Add counts o in s as well, for a report over several go commands: the
// counts add up, Start and End widen to cover both, and the remote is
// turned off if it was in either.
func (s *Stats) Add(o Stats) {
	if s.Start.IsZero() || (!o.Start.IsZero() && o.Start.Before(s.Start)) {
		s.Start = o.Start
	}
	if o.End.After(s.End) {
		s.End = o.End
	}
	if s.Remote == "" {
		s.Remote = o.Remote
	}
	s.LocalHits += o.LocalHits
	s.RemoteHits += o.RemoteHits
	s.Misses += o.Misses
	s.Puts += o.Puts
	s.Uploads += o.Uploads
	s.UploadsAbandoned += o.UploadsAbandoned
	s.BytesDownloaded += o.BytesDownloaded
	s.BytesUploaded += o.BytesUploaded
	s.RemoteErrors += o.RemoteErrors
	s.Corrupt += o.Corrupt
	s.RemoteDisabled = s.RemoteDisabled || o.RemoteDisabled
}

// Hits returns the get requests answered with an output.
func (s Stats) Hits() int64 { return s.LocalHits + s.RemoteHits }

// String summarises s on one line.
func (s Stats) String() string {
	str := fmt.Sprintf("%d hits (%d local, %d remote), %d misses, %d puts, %d uploads, %s downloaded, %s uploaded",
		s.Hits(), s.LocalHits, s.RemoteHits, s.Misses, s.Puts, s.Uploads, byteSize(s.BytesDownloaded), byteSize(s.BytesUploaded))
	if s.Corrupt > 0 {
		str += fmt.Sprintf(", %d corrupt remote entries", s.Corrupt)
	}
	if s.RemoteErrors > 0 {
		str += fmt.Sprintf(", %d remote errors", s.RemoteErrors)
	}
	if s.RemoteDisabled {
		str += " (remote turned off after a failure)"
	}
	if s.UploadsAbandoned > 0 {
		str += fmt.Sprintf(", %d uploads abandoned", s.UploadsAbandoned)
	}
	return str
}

func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// counters are the live form of Stats.
type counters struct {
	start, end                                   atomic.Pointer[time.Time]
	localHits, remoteHits, misses, puts, uploads atomic.Int64
	abandoned, bytesDown, bytesUp, remoteErrors  atomic.Int64
	corrupt                                      atomic.Int64
}

// Stats returns what the cache has done so far; after Serve returns, what
// it did.
func (c *Cache) Stats() Stats {
	s := Stats{
		LocalHits:        c.st.localHits.Load(),
		RemoteHits:       c.st.remoteHits.Load(),
		Misses:           c.st.misses.Load(),
		Puts:             c.st.puts.Load(),
		Uploads:          c.st.uploads.Load(),
		UploadsAbandoned: c.st.abandoned.Load(),
		BytesDownloaded:  c.st.bytesDown.Load(),
		BytesUploaded:    c.st.bytesUp.Load(),
		RemoteErrors:     c.st.remoteErrors.Load(),
		Corrupt:          c.st.corrupt.Load(),
		RemoteDisabled:   c.remoteOff.Load(),
	}
	if t := c.st.start.Load(); t != nil {
		s.Start = *t
	}
	if t := c.st.end.Load(); t != nil {
		s.End = *t
	}
	if n, ok := c.o.remote.(fmt.Stringer); ok {
		s.Remote = redact(n.String())
	}
	return s
}

// statsVersion is the format of the stats file; ReadStats rejects others.
const statsVersion = 1

type statsFile struct {
	Version int `json:"version"`
	Stats
}

// WriteStats saves s as JSON at path, replacing the file whole, so that a
// reader in another process sees the previous run or this one.
func WriteStats(path string, s Stats) error {
	data, err := json.MarshalIndent(statsFile{Version: statsVersion, Stats: s}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode cache stats: %w", err)
	}
	if err := atomicfile.ReplaceBytes(context.Background(), path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write cache stats %s: %w", path, err)
	}
	return nil
}

// ReadStats loads what WriteStats saved. A missing file is an error that
// wraps fs.ErrNotExist.
func ReadStats(path string) (Stats, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Stats{}, fmt.Errorf("no cache stats at %s yet (hoist-cache writes them with -stats): %w", path, err)
	}
	if err != nil {
		return Stats{}, fmt.Errorf("read cache stats: %w", err)
	}
	var f statsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return Stats{}, fmt.Errorf("read cache stats %s: %w", path, err)
	}
	if f.Version != statsVersion {
		return Stats{}, fmt.Errorf("read cache stats %s: format version %d, want %d (written by another hoist version?)", path, f.Version, statsVersion)
	}
	return f.Stats, nil
}
