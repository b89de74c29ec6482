package cachecmd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/gocache"
)

// asProgEnv makes the test binary act as hoist-cache, with the test remotes
// added, when the go command starts it as GOCACHEPROG.
const asProgEnv = "HOIST_CACHE_TEST_AS_GOCACHEPROG"

func TestMain(m *testing.M) {
	if os.Getenv(asProgEnv) == "1" {
		os.Exit(Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, testRemotes))
	}
	os.Exit(m.Run())
}

// testRemotes are the binary's remotes plus two for tests, plugged in the
// way the registry tier will be.
var testRemotes = append(slices.Clone(Remotes),
	RemoteFlag{
		Name:  "test-dir-remote",
		Usage: "share results through `directory`, standing for a registry",
		Open: func(_ context.Context, dir string) (gocache.Remote, func(), error) {
			return dirRemote(dir), nil, nil
		},
	},
	RemoteFlag{
		Name:  "test-broken-remote",
		Usage: "a remote whose every call fails with `message`",
		Open: func(_ context.Context, msg string) (gocache.Remote, func(), error) {
			return brokenRemote(msg), nil, nil
		},
	},
	RemoteFlag{
		Name:  "test-unopenable-remote",
		Usage: "a remote that cannot be opened",
		Open: func(_ context.Context, msg string) (gocache.Remote, func(), error) {
			return nil, nil, errors.New(msg)
		},
	},
)

// dirRemote keeps entries in a directory another process can share, as a
// registry would: entries/<action>.json names objects/<output>.
type dirRemote string

type dirEntry struct {
	OutputID string
	Size     int64
	Time     time.Time
}

func (d dirRemote) entryPath(actionID []byte) string {
	return filepath.Join(string(d), "entries", hex.EncodeToString(actionID)+".json")
}

func (d dirRemote) objectPath(outputID []byte) string {
	return filepath.Join(string(d), "objects", hex.EncodeToString(outputID))
}

func (d dirRemote) Get(ctx context.Context, actionID []byte) (gocache.Entry, io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return gocache.Entry{}, nil, err
	}
	data, err := os.ReadFile(d.entryPath(actionID))
	if errors.Is(err, fs.ErrNotExist) {
		return gocache.Entry{}, nil, gocache.ErrMiss
	}
	if err != nil {
		return gocache.Entry{}, nil, err
	}
	var de dirEntry
	if err := json.Unmarshal(data, &de); err != nil {
		return gocache.Entry{}, nil, err
	}
	out, err := hex.DecodeString(de.OutputID)
	if err != nil {
		return gocache.Entry{}, nil, err
	}
	f, err := os.Open(d.objectPath(out))
	if err != nil {
		return gocache.Entry{}, nil, err
	}
	return gocache.Entry{OutputID: out, Size: de.Size, Time: de.Time}, f, nil
}

func (d dirRemote) Put(ctx context.Context, actionID []byte, e gocache.Entry, body io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if err := writeAtomic(d.objectPath(e.OutputID), data); err != nil {
		return err
	}
	meta, err := json.Marshal(dirEntry{OutputID: hex.EncodeToString(e.OutputID), Size: e.Size, Time: e.Time})
	if err != nil {
		return err
	}
	return writeAtomic(d.entryPath(actionID), meta)
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// brokenRemote fails every call, like a registry that is down.
type brokenRemote string

func (b brokenRemote) Get(context.Context, []byte) (gocache.Entry, io.ReadCloser, error) {
	return gocache.Entry{}, nil, errors.New(string(b))
}

func (b brokenRemote) Put(context.Context, []byte, gocache.Entry, io.Reader) error {
	return errors.New(string(b))
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no dir", nil, 2, "-dir is required"},
		{"arguments", []string{"-dir", dir, "extra"}, 2, "unexpected arguments"},
		{"unknown flag", []string{"-dir", dir, "-nope"}, 2, "flag provided but not defined"},
		{"two remotes", []string{"-dir", dir, "-test-dir-remote", dir, "-test-broken-remote", "x"}, 2, "use one"},
		{"remote does not open", []string{"-dir", dir, "-test-unopenable-remote", "no such repository"}, 1, "-test-unopenable-remote: no such repository"},
		{"stats twice", []string{"-dir", dir, "-stats", "a.json", "-stats-dir", dir}, 2, "use one"},
		{"bad jobs", []string{"-dir", dir, "-jobs", "-1"}, 1, "jobs is -1"},
		{"help", []string{"-h"}, 0, "-strict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr, testRemotes)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("Run(%q) = %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
			}
			if stdout.Len() != 0 && tt.code != 0 {
				t.Errorf("Run(%q) wrote %q on stdout, which belongs to the protocol", tt.args, stdout.String())
			}
		})
	}
}

// script renders protocol requests as the go command writes them.
func script(t *testing.T, reqs ...map[string]any) string {
	t.Helper()
	var b strings.Builder
	for _, r := range reqs {
		body, _ := r["body"].([]byte)
		delete(r, "body")
		if len(body) > 0 {
			r["BodySize"] = len(body)
		}
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
		if len(body) > 0 {
			fmt.Fprintf(&b, "%q\n", base64.StdEncoding.EncodeToString(body))
		}
	}
	return b.String()
}

func sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

type reply struct {
	ID       int64
	Err      string
	Miss     bool
	DiskPath string
}

func replies(t *testing.T, out string) map[int64]reply {
	t.Helper()
	got := map[int64]reply{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r reply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", sc.Text(), err)
		}
		got[r.ID] = r
	}
	return got
}

func TestServesAndWritesStats(t *testing.T) {
	dir, remote := t.TempDir(), t.TempDir()
	statsPath := filepath.Join(t.TempDir(), "stats.json")
	in := script(t,
		map[string]any{"ID": 1, "Command": "get", "ActionID": sum("b")},
		map[string]any{"ID": 2, "Command": "put", "ActionID": sum("a"), "OutputID": sum("out"), "body": []byte("out")},
		map[string]any{"ID": 3, "Command": "close"},
	)
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"-dir", dir, "-stats", statsPath, "-test-dir-remote", remote}, strings.NewReader(in), &stdout, &stderr, testRemotes)
	if code != 0 {
		t.Fatalf("Run() = %d, stderr %q; want 0", code, stderr.String())
	}
	got := replies(t, stdout.String())
	if !got[1].Miss || got[2].DiskPath == "" || got[3].Err != "" || len(got) != 4 {
		t.Errorf("responses = %+v, want capabilities, a miss, a stored put and a clean close", got)
	}
	st, err := gocache.ReadStats(statsPath)
	if err != nil {
		t.Fatalf("ReadStats() = %v", err)
	}
	if st.Misses != 1 || st.Puts != 1 || st.Uploads != 1 {
		t.Errorf("stats = %+v, want 1 miss, 1 put, 1 upload", st)
	}
	if _, err := os.Stat(dirRemote(remote).entryPath(sum("a"))); err != nil {
		t.Errorf("the put did not reach the remote: %v", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want silence when nothing notable happens", stderr.String())
	}
}

// TestStatsDir: each process leaves a file of its own in -stats-dir, as
// the go commands of one hoist run do.
func TestStatsDir(t *testing.T) {
	dir, statsDir := t.TempDir(), filepath.Join(t.TempDir(), "run")
	for i := range 2 {
		in := script(t, map[string]any{"ID": 1, "Command": "get", "ActionID": sum(fmt.Sprint(i))}, map[string]any{"ID": 2, "Command": "close"})
		var stdout, stderr bytes.Buffer
		if code := Run(t.Context(), []string{"-dir", dir, "-stats-dir", statsDir}, strings.NewReader(in), &stdout, &stderr, testRemotes); code != 0 {
			t.Fatalf("Run() = %d, stderr %q; want 0", code, stderr.String())
		}
	}
	files, err := filepath.Glob(filepath.Join(statsDir, "go-*.json"))
	if err != nil || len(files) != 2 {
		t.Fatalf("stats files = %q (%v), want one per run", files, err)
	}
	for _, f := range files {
		if st, err := gocache.ReadStats(f); err != nil || st.Misses != 1 {
			t.Errorf("ReadStats(%s) = %+v, %v; want 1 miss", f, st, err)
		}
	}
}

func TestStrictRemoteFailureExitStatus(t *testing.T) {
	in := script(t,
		map[string]any{"ID": 1, "Command": "get", "ActionID": sum("a")},
		map[string]any{"ID": 2, "Command": "close"},
	)
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprint("strict=", strict), func(t *testing.T) {
			statsPath := filepath.Join(t.TempDir(), "stats.json")
			args := []string{"-dir", t.TempDir(), "-stats", statsPath, "-test-broken-remote", "registry down"}
			if strict {
				args = append(args, "-strict")
			}
			var stdout, stderr bytes.Buffer
			code := Run(t.Context(), args, strings.NewReader(in), &stdout, &stderr, testRemotes)
			want := map[bool]int{false: 0, true: 1}[strict]
			if code != want || !strings.Contains(stderr.String(), "registry down") {
				t.Errorf("Run(%q) = %d, stderr %q; want %d and the remote's error", args, code, stderr.String(), want)
			}
			if got := replies(t, stdout.String()); (got[2].Err != "") != strict {
				t.Errorf("close response = %+v, want an error only in strict mode", got[2])
			}
			if st, err := gocache.ReadStats(statsPath); err != nil || st.RemoteErrors != 1 {
				t.Errorf("stats = %+v, %v; want them written, with 1 remote error", st, err)
			}
		})
	}
}
