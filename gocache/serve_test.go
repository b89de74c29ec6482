package gocache

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer collects log lines written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSpace(s.b.String()), "\n")
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// linesContaining returns the log lines that contain sub.
func (s *syncBuffer) linesContaining(sub string) []string {
	var out []string
	for _, l := range s.lines() {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// client plays the go command against a Serve running in-process.
type client struct {
	t     *testing.T
	c     *Cache
	log   *syncBuffer
	in    *io.PipeWriter
	resps chan response
	done  chan error
	caps  response
}

// start opens a cache in a fresh directory and serves it.
func start(t *testing.T, opts ...Option) *client {
	t.Helper()
	log := new(syncBuffer)
	c, err := New(t.TempDir(), append([]Option{WithLog(log)}, opts...)...)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return serve(t, c, log)
}

// serve runs c.Serve and reads its capabilities line.
func serve(t *testing.T, c *Cache, log *syncBuffer) *client {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	cl := &client{t: t, c: c, log: log, in: inW, resps: make(chan response, 100), done: make(chan error, 1)}
	go func() {
		err := c.Serve(t.Context(), inR, outW)
		outW.Close()
		inR.Close()
		cl.done <- err
	}()
	go func() {
		defer close(cl.resps)
		dec := json.NewDecoder(outR)
		for {
			var r response
			if err := dec.Decode(&r); err != nil {
				return
			}
			cl.resps <- r
		}
	}()
	t.Cleanup(func() {
		inW.Close()
		select {
		case <-cl.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10s of its input closing")
		}
	})
	cl.caps = cl.recv()
	return cl
}

func (cl *client) send(req request, body []byte) {
	cl.t.Helper()
	if body != nil {
		req.BodySize = int64(len(body))
	}
	line, err := json.Marshal(req)
	if err != nil {
		cl.t.Fatal(err)
	}
	msg := string(line) + "\n"
	if len(body) > 0 {
		msg += `"` + base64.StdEncoding.EncodeToString(body) + "\"\n"
	}
	cl.sendRaw(msg)
}

func (cl *client) sendRaw(s string) {
	cl.t.Helper()
	if _, err := io.WriteString(cl.in, s); err != nil {
		cl.t.Fatalf("write to Serve: %v", err)
	}
}

func (cl *client) recv() response {
	cl.t.Helper()
	select {
	case r, ok := <-cl.resps:
		if !ok {
			cl.t.Fatal("Serve closed its output; want a response")
		}
		return r
	case <-time.After(10 * time.Second):
		cl.t.Fatal("no response within 10s")
	}
	return response{}
}

// roundTrip sends one request and returns its response, which must carry
// the request's ID.
func (cl *client) roundTrip(req request, body []byte) response {
	cl.t.Helper()
	cl.send(req, body)
	r := cl.recv()
	if r.ID != req.ID {
		cl.t.Fatalf("response ID = %d, want %d (%+v)", r.ID, req.ID, r)
	}
	return r
}

// close sends "close" and returns its response and what Serve returned.
func (cl *client) close(id int64) (response, error) {
	cl.t.Helper()
	r := cl.roundTrip(request{ID: id, Command: cmdClose}, nil)
	select {
	case err := <-cl.done:
		cl.done <- err // for the cleanup
		return r, err
	case <-time.After(10 * time.Second):
		cl.t.Fatal("Serve did not return within 10s of answering close")
	}
	return r, nil
}

func actionID(name string) []byte {
	s := sha256.Sum256([]byte("action " + name))
	return s[:]
}

func outputID(content string) []byte {
	s := sha256.Sum256([]byte(content))
	return s[:]
}

func putReq(id int64, action, content string) (request, []byte) {
	return request{ID: id, Command: cmdPut, ActionID: actionID(action), OutputID: outputID(content)}, []byte(content)
}

// mustPut stores content under action and returns the DiskPath.
func (cl *client) mustPut(id int64, action, content string) string {
	cl.t.Helper()
	req, body := putReq(id, action, content)
	r := cl.roundTrip(req, body)
	if r.Err != "" || r.DiskPath == "" {
		cl.t.Fatalf("put %s = %+v, want a DiskPath and no error", action, r)
	}
	return r.DiskPath
}

// wantHit checks r is a hit on content.
func wantHit(t *testing.T, r response, content string) {
	t.Helper()
	if r.Err != "" || r.Miss {
		t.Fatalf("get = %+v, want a hit", r)
	}
	if !bytes.Equal(r.OutputID, outputID(content)) || r.Size != int64(len(content)) || r.Time == nil {
		t.Errorf("get = OutputID %x Size %d Time %v, want %x, %d and a time", r.OutputID, r.Size, r.Time, outputID(content), len(content))
	}
	got, err := os.ReadFile(r.DiskPath)
	if err != nil || string(got) != content {
		t.Errorf("DiskPath %s holds %q, %v; want %q", r.DiskPath, got, err, content)
	}
	if !filepath.IsAbs(r.DiskPath) {
		t.Errorf("DiskPath %s is relative, want absolute", r.DiskPath)
	}
}

func TestCapabilitiesFirst(t *testing.T) {
	cl := start(t)
	if cl.caps.ID != 0 || !slices.Equal(cl.caps.KnownCommands, []string{"get", "put", "close"}) {
		t.Errorf("first response = %+v, want ID 0 and KnownCommands [get put close]", cl.caps)
	}
}

func TestGetMissPutGetHit(t *testing.T) {
	cl := start(t)
	if r := cl.roundTrip(request{ID: 1, Command: cmdGet, ActionID: actionID("a")}, nil); !r.Miss || r.Err != "" {
		t.Fatalf("get before put = %+v, want a miss", r)
	}
	path := cl.mustPut(2, "a", "package output")
	r := cl.roundTrip(request{ID: 3, Command: cmdGet, ActionID: actionID("a")}, nil)
	wantHit(t, r, "package output")
	if r.DiskPath != path {
		t.Errorf("get DiskPath = %s, want the put's %s", r.DiskPath, path)
	}
	// An empty output has no body line at all.
	cl.mustPut(4, "empty", "")
	wantHit(t, cl.roundTrip(request{ID: 5, Command: cmdGet, ActionID: actionID("empty")}, nil), "")

	if r, err := cl.close(6); r.Err != "" || err != nil {
		t.Fatalf("close = %+v, Serve = %v; want no errors", r, err)
	}
	st := cl.c.Stats()
	if st.LocalHits != 2 || st.Misses != 1 || st.Puts != 2 || st.RemoteHits != 0 {
		t.Errorf("Stats() = %+v, want 2 local hits, 1 miss, 2 puts", st)
	}
	if st.Start.IsZero() || st.End.Before(st.Start) {
		t.Errorf("Stats() Start %v End %v, want both set, in order", st.Start, st.End)
	}
	// The files outlive the session: a later run hits them.
	cl2 := serve(t, cl.c, cl.log)
	wantHit(t, cl2.roundTrip(request{ID: 1, Command: cmdGet, ActionID: actionID("a")}, nil), "package output")
}

func TestPutRejectsWrongOutputID(t *testing.T) {
	cl := start(t)
	req, _ := putReq(1, "a", "the real content")
	r := cl.roundTrip(req, []byte("other content"))
	if !strings.Contains(r.Err, "SHA-256") {
		t.Fatalf("put with a mismatched body = %+v, want an error naming SHA-256", r)
	}
	if r := cl.roundTrip(request{ID: 2, Command: cmdGet, ActionID: actionID("a")}, nil); !r.Miss {
		t.Errorf("get after a rejected put = %+v, want a miss", r)
	}
	// An output ID that is not a SHA-256 cannot be checked, so it is stored.
	r = cl.roundTrip(request{ID: 3, Command: cmdPut, ActionID: actionID("b"), OutputID: []byte("short-id")}, []byte("x"))
	if r.Err != "" || r.DiskPath == "" {
		t.Errorf("put with an 8-byte OutputID = %+v, want it stored", r)
	}
	leftovers, _ := filepath.Glob(filepath.Join(cl.c.Dir(), outputsDir, "*", ".tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestPutMalformedBody(t *testing.T) {
	okLine := func(id int64) string {
		b, _ := json.Marshal(request{ID: id, Command: cmdPut, ActionID: actionID("a"), OutputID: outputID("hello"), BodySize: 5})
		return string(b) + "\n"
	}
	tests := []struct {
		name, body, wantErr string
	}{
		{"bad base64", `"aGVsb!!!"` + "\n", "illegal base64"},
		{"short body", `"aGVs"` + "\n", "3 bytes, want BodySize 5"},
		{"long body", `"aGVsbG8gd29ybGQ="` + "\n", "longer than BodySize"},
		{"unterminated string", `"aGVsbG8=` + "\n", "unterminated"},
		{"not a string", `{"ID":99}` + "\n", "want a base64 JSON string"},
		{"bad escape", `"aGVs\nbG8="` + "\n", "escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := start(t)
			cl.sendRaw(okLine(1) + tt.body)
			byID := map[int64]response{}
			r := cl.recv()
			byID[r.ID] = r
			if tt.name == "not a string" {
				// The line was left for the request reader: request 99 is
				// answered too, in either order.
				r := cl.recv()
				byID[r.ID] = r
				if r := byID[99]; !strings.Contains(r.Err, "unknown command") {
					t.Fatalf("after a put without body, request 99 = %+v, want it read and answered", r)
				}
			}
			if r := byID[1]; !strings.Contains(r.Err, tt.wantErr) {
				t.Fatalf("put with body %q = %+v, want ID 1 and an error containing %q", tt.body, byID, tt.wantErr)
			}
			// The stream is still in step: the next request is understood.
			cl.mustPut(2, "a", "hello")
			// "\/" is valid JSON for "/" and accepted.
			content := "\xff\xff\xff" // base64 "////"
			cl.sendRaw(fmt.Sprintf(`{"ID":3,"Command":"put","ActionID":%q,"OutputID":%q,"BodySize":3}`+"\n"+`"\/\/\/\/"`+"\n",
				base64.StdEncoding.EncodeToString(actionID("b")), base64.StdEncoding.EncodeToString(outputID(content))))
			if r := cl.recv(); r.ID != 3 || r.Err != "" {
				t.Fatalf(`put with an escaped "\/" body = %+v, want it stored`, r)
			}
			if r, err := cl.close(4); r.Err != "" || err != nil {
				t.Fatalf("close = %+v, %v; want no errors", r, err)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	cl := start(t)
	r := cl.roundTrip(request{ID: 7, Command: "get2", ActionID: actionID("a")}, nil)
	if !strings.Contains(r.Err, `unknown command "get2"`) {
		t.Errorf("get2 = %+v, want an unknown command error", r)
	}
	// A body sent with it is skipped, not read as a request.
	r = cl.roundTrip(request{ID: 8, Command: "stash", ActionID: actionID("a")}, []byte("body"))
	if !strings.Contains(r.Err, "unknown command") {
		t.Errorf("stash = %+v, want an unknown command error", r)
	}
	cl.mustPut(9, "a", "still in step")
}

func TestBadRequestsAnswered(t *testing.T) {
	cl := start(t)
	tests := []struct {
		name    string
		req     request
		wantErr string
	}{
		{"get without ActionID", request{Command: cmdGet}, "ActionID"},
		{"put without OutputID", request{Command: cmdPut, ActionID: actionID("a")}, "OutputID"},
		{"put with a huge ActionID", request{Command: cmdPut, ActionID: make([]byte, 100), OutputID: outputID("")}, "ActionID"},
		{"negative BodySize", request{Command: cmdPut, ActionID: actionID("a"), OutputID: outputID(""), BodySize: -1}, "BodySize"},
	}
	for i, tt := range tests {
		tt.req.ID = int64(i + 1)
		if r := cl.roundTrip(tt.req, nil); !strings.Contains(r.Err, tt.wantErr) {
			t.Errorf("%s: response %+v, want an error containing %q", tt.name, r, tt.wantErr)
		}
	}
}

func TestNotJSONEndsServe(t *testing.T) {
	cl := start(t)
	cl.sendRaw("this is not the protocol\n")
	select {
	case err := <-cl.done:
		cl.done <- err
		if err == nil || !strings.Contains(err.Error(), "not JSON") {
			t.Errorf("Serve() = %v, want an error saying the request is not JSON", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve kept going after a line that is not JSON")
	}
}

func TestAnswersOutOfOrder(t *testing.T) {
	remote := newMemRemote()
	// Another runner stored "slow" in the shared tier.
	other := start(t, WithRemote(remote))
	other.mustPut(1, "slow", "from the remote")
	other.close(2)

	cl := start(t, WithRemote(remote))
	cl.mustPut(1, "fast", "local")
	release := remote.gate(actionID("slow"))
	defer release()
	cl.send(request{ID: 2, Command: cmdGet, ActionID: actionID("slow")}, nil)
	cl.send(request{ID: 3, Command: cmdGet, ActionID: actionID("fast")}, nil)
	first := cl.recv()
	if first.ID != 3 {
		t.Fatalf("first response = %+v, want request 3 (a local hit) while request 2 waits on the remote", first)
	}
	wantHit(t, first, "local")
	release()
	second := cl.recv()
	if second.ID != 2 {
		t.Fatalf("second response = %+v, want request 2", second)
	}
	wantHit(t, second, "from the remote")
}

func TestJobsBoundConcurrency(t *testing.T) {
	for _, jobs := range []int{1, 2} {
		t.Run(fmt.Sprint(jobs), func(t *testing.T) {
			remote := newMemRemote()
			cl := start(t, WithRemote(remote), WithJobs(jobs))
			releaseA, releaseB := remote.gate(actionID("a")), remote.gate(actionID("b"))
			defer releaseA()
			defer releaseB()
			cl.send(request{ID: 1, Command: cmdGet, ActionID: actionID("a")}, nil)
			cl.send(request{ID: 2, Command: cmdGet, ActionID: actionID("b")}, nil)
			deadline := time.Now().Add(10 * time.Second)
			for {
				remote.mu.Lock()
				n := remote.inFlight
				remote.mu.Unlock()
				if n == jobs || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // room for a request beyond the bound to start
			releaseA()
			releaseB()
			cl.recv()
			cl.recv()
			remote.mu.Lock()
			defer remote.mu.Unlock()
			if remote.maxSeen != jobs {
				t.Errorf("remote calls at once = %d, want %d with WithJobs(%d)", remote.maxSeen, jobs, jobs)
			}
		})
	}
}

func TestRemoteHitStoredLocally(t *testing.T) {
	remote := newMemRemote()
	a := start(t, WithRemote(remote))
	a.mustPut(1, "pkg", "compiled package")
	if r, err := a.close(2); r.Err != "" || err != nil {
		t.Fatalf("close = %+v, %v", r, err)
	}
	if st := a.c.Stats(); st.Uploads != 1 || st.BytesUploaded != int64(len("compiled package")) {
		t.Errorf("uploader Stats() = %+v, want 1 upload of %d bytes", st, len("compiled package"))
	}

	b := start(t, WithRemote(remote))
	wantHit(t, b.roundTrip(request{ID: 1, Command: cmdGet, ActionID: actionID("pkg")}, nil), "compiled package")
	r := b.roundTrip(request{ID: 2, Command: cmdGet, ActionID: actionID("pkg")}, nil)
	wantHit(t, r, "compiled package")
	if !strings.HasPrefix(r.DiskPath, b.c.Dir()) {
		t.Errorf("DiskPath %s is outside the local tier %s", r.DiskPath, b.c.Dir())
	}
	if r, err := b.close(3); r.Err != "" || err != nil {
		t.Fatalf("close = %+v, %v", r, err)
	}
	st := b.c.Stats()
	if st.RemoteHits != 1 || st.LocalHits != 1 || st.Misses != 0 || st.BytesDownloaded != int64(len("compiled package")) || st.Uploads != 0 {
		t.Errorf("Stats() = %+v, want 1 remote hit, then 1 local hit, no upload", st)
	}
	if gets, _ := remote.counts(); gets != 1 {
		t.Errorf("remote gets = %d, want 1 (the second get is local)", gets)
	}
	if st.Remote != "memory" {
		t.Errorf("Stats().Remote = %q, want the remote's String, memory", st.Remote)
	}
}

func TestRemoteCorruptEntryIsMiss(t *testing.T) {
	remote := newMemRemote()
	a := start(t, WithRemote(remote))
	a.mustPut(1, "bad", "will be altered")
	a.mustPut(2, "good", "stays intact")
	a.close(3)
	remote.corrupt(actionID("bad"))

	b := start(t, WithRemote(remote))
	if r := b.roundTrip(request{ID: 1, Command: cmdGet, ActionID: actionID("bad")}, nil); !r.Miss || r.Err != "" {
		t.Fatalf("get of a corrupt remote entry = %+v, want a miss", r)
	}
	if got := b.log.linesContaining("digest mismatch"); len(got) != 1 || !strings.Contains(got[0], "ignoring") || !strings.Contains(got[0], "building") {
		t.Errorf("log = %q, want one line ignoring the entry for a digest mismatch", b.log.String())
	}
	if _, err := os.Stat(b.c.entryPath(actionID("bad"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("corrupt entry stored locally: Stat = %v", err)
	}
	// One bad entry does not turn the remote off.
	wantHit(t, b.roundTrip(request{ID: 2, Command: cmdGet, ActionID: actionID("good")}, nil), "stays intact")
	st := b.c.Stats()
	if st.Corrupt != 1 || st.Misses != 1 || st.RemoteHits != 1 || st.RemoteErrors != 0 || st.RemoteDisabled {
		t.Errorf("Stats() = %+v, want 1 corrupt miss, 1 remote hit, the remote still on", st)
	}
}

func TestRemoteLongerThanEntryIsMiss(t *testing.T) {
	remote := newMemRemote()
	remote.entries[fmt.Sprintf("%x", actionID("x"))] = memEntry{
		e:    Entry{OutputID: outputID("abc"), Size: 3, Time: time.Now()},
		data: []byte("abcdef"),
	}
	cl := start(t, WithRemote(remote))
	if r := cl.roundTrip(request{ID: 1, Command: cmdGet, ActionID: actionID("x")}, nil); !r.Miss {
		t.Fatalf("get of an entry with extra content = %+v, want a miss", r)
	}
	if len(cl.log.linesContaining("digest mismatch")) != 1 {
		t.Errorf("log = %q, want one digest mismatch line", cl.log.String())
	}
}

func TestRemoteFailureFallsBackToLocal(t *testing.T) {
	remote := newMemRemote()
	remote.fail = errors.New(`GET https://ci:hunter2@registry.example/v2/team/gocache/manifests/x?token=s3cr3t: dial tcp: connection refused`)
	cl := start(t, WithRemote(remote))
	for i := range 3 {
		if r := cl.roundTrip(request{ID: int64(i + 1), Command: cmdGet, ActionID: actionID(fmt.Sprint(i))}, nil); !r.Miss || r.Err != "" {
			t.Fatalf("get with a failing remote = %+v, want a plain miss", r)
		}
	}
	cl.mustPut(4, "built", "built locally")
	wantHit(t, cl.roundTrip(request{ID: 5, Command: cmdGet, ActionID: actionID("built")}, nil), "built locally")
	if r, err := cl.close(6); r.Err != "" || err != nil {
		t.Fatalf("close = %+v, Serve = %v; want success without strict", r, err)
	}
	if gets, puts := remote.counts(); gets != 1 || puts != 0 {
		t.Errorf("remote saw %d gets and %d puts, want 1 and 0: the first failure turns it off", gets, puts)
	}
	lines := cl.log.lines()
	if len(lines) != 1 || !strings.Contains(lines[0], "falling back to building locally") {
		t.Errorf("log = %q, want exactly one line about falling back to building locally", lines)
	}
	for _, secret := range []string{"hunter2", "s3cr3t"} {
		if strings.Contains(cl.log.String(), secret) {
			t.Errorf("log %q shows the credential %q", cl.log.String(), secret)
		}
	}
	st := cl.c.Stats()
	if st.RemoteErrors != 1 || !st.RemoteDisabled || st.Misses != 3 || st.Puts != 1 {
		t.Errorf("Stats() = %+v, want 1 remote error, remote disabled, 3 misses, 1 put", st)
	}
}

func TestStrictRemoteFailureFails(t *testing.T) {
	remote := newMemRemote()
	remote.fail = errors.New("registry.example: 503 Service Unavailable")
	cl := start(t, WithRemote(remote), WithStrict(true))
	r := cl.roundTrip(request{ID: 1, Command: cmdGet, ActionID: actionID("a")}, nil)
	if !strings.Contains(r.Err, "503") {
		t.Fatalf("strict get with a failing remote = %+v, want the remote's error", r)
	}
	// The build is bound to fail: later lookups fail at once.
	r = cl.roundTrip(request{ID: 2, Command: cmdGet, ActionID: actionID("b")}, nil)
	if !strings.Contains(r.Err, "503") {
		t.Fatalf("second strict get = %+v, want the first failure reported", r)
	}
	// Stores still work locally.
	cl.mustPut(3, "a", "content")
	r, err := cl.close(4)
	if !strings.Contains(r.Err, "strict") || err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("close = %+v, Serve = %v; want both to report the remote failure", r, err)
	}
	if gets, puts := remote.counts(); gets != 1 || puts != 0 {
		t.Errorf("remote saw %d gets and %d puts, want 1 and 0 after the first failure", gets, puts)
	}
	if st := cl.c.Stats(); st.RemoteErrors != 1 || st.Misses != 2 || len(cl.log.lines()) != 1 {
		t.Errorf("Stats() = %+v, log %q; want 1 remote error, 2 misses, one log line", st, cl.log.lines())
	}
}

func TestUploadFailure(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprint("strict=", strict), func(t *testing.T) {
			remote := newMemRemote()
			remote.putFail = errors.New("upload refused: 401 Unauthorized")
			cl := start(t, WithRemote(remote), WithStrict(strict))
			cl.mustPut(1, "a", "content")
			// Wait for the upload to fail: the drain at close does that.
			r, err := cl.close(2)
			if strict != (r.Err != "") || strict != (err != nil) {
				t.Errorf("close = %+v, Serve = %v; want errors only in strict mode", r, err)
			}
			if lines := cl.log.linesContaining("401"); len(lines) != 1 {
				t.Errorf("log = %q, want one line with the upload's error", cl.log.String())
			}
			// The remote stays off for the rest of the process.
			cl2 := serve(t, cl.c, cl.log)
			r = cl2.roundTrip(request{ID: 1, Command: cmdGet, ActionID: actionID("b")}, nil)
			if strict != (r.Err != "") || r.Miss == strict {
				t.Errorf("get after a failed upload = %+v, want a miss, or an error in strict mode", r)
			}
			if gets, _ := remote.counts(); gets != 0 {
				t.Errorf("remote saw %d gets after the failure, want 0", gets)
			}
		})
	}
}

func TestPutAnswersBeforeUploadAndCloseDrains(t *testing.T) {
	remote := newMemRemote()
	remote.putGate = make(chan struct{})
	cl := start(t, WithRemote(remote))
	cl.mustPut(1, "a", "uploaded later")
	if remote.has(actionID("a")) {
		t.Fatal("remote has the entry while its Put is held; want the put answered first")
	}
	cl.send(request{ID: 2, Command: cmdClose}, nil)
	select {
	case r := <-cl.resps:
		t.Fatalf("close answered (%+v) while an upload was still running", r)
	case <-time.After(100 * time.Millisecond):
	}
	close(remote.putGate)
	if r := cl.recv(); r.ID != 2 || r.Err != "" {
		t.Fatalf("close = %+v, want it answered once the upload is done", r)
	}
	if !remote.has(actionID("a")) {
		t.Error("remote lacks the entry after close; want close to wait for the upload")
	}
	if st := cl.c.Stats(); st.Uploads != 1 || st.UploadsAbandoned != 0 {
		t.Errorf("Stats() = %+v, want 1 upload, none abandoned", st)
	}
}

func TestCloseAbandonsSlowUploads(t *testing.T) {
	remote := newMemRemote()
	remote.putGate = make(chan struct{}) // never opened
	cl := start(t, WithRemote(remote), WithUploadWait(50*time.Millisecond))
	cl.mustPut(1, "a", "never uploaded")
	began := time.Now()
	if r, err := cl.close(2); r.Err != "" || err != nil {
		t.Fatalf("close = %+v, %v; want success", r, err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("close took %v, want about the 50ms upload wait", d)
	}
	if got := cl.log.linesContaining("gave up waiting for 1 uploads"); len(got) != 1 {
		t.Errorf("log = %q, want one line about giving up on 1 upload", cl.log.String())
	}
	remote.mu.Lock()
	ctxErr := remote.putCtxErr
	remote.mu.Unlock()
	if ctxErr == nil {
		t.Error("the abandoned Put's context was not cancelled")
	}
	if st := cl.c.Stats(); st.UploadsAbandoned != 1 || st.RemoteErrors != 0 {
		t.Errorf("Stats() = %+v, want 1 upload abandoned and no remote error", st)
	}
}

func TestInputEndWithoutClose(t *testing.T) {
	remote := newMemRemote()
	cl := start(t, WithRemote(remote))
	cl.mustPut(1, "a", "go list never sends close")
	cl.in.Close()
	select {
	case err := <-cl.done:
		cl.done <- err
		if err != nil {
			t.Fatalf("Serve() = %v at the end of input, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return at the end of its input")
	}
	if !remote.has(actionID("a")) {
		t.Error("the upload did not finish before Serve returned")
	}
}

func TestLocalEntryWithoutOutputIsMiss(t *testing.T) {
	cl := start(t)
	path := cl.mustPut(1, "a", "soon gone")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if r := cl.roundTrip(request{ID: 2, Command: cmdGet, ActionID: actionID("a")}, nil); !r.Miss {
		t.Errorf("get of an entry whose output is gone = %+v, want a miss", r)
	}
	bogus := cl.c.entryPath(actionID("b"))
	if err := os.MkdirAll(filepath.Dir(bogus), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bogus, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := cl.roundTrip(request{ID: 3, Command: cmdGet, ActionID: actionID("b")}, nil); !r.Miss {
		t.Errorf("get of an unreadable entry = %+v, want a miss", r)
	}
}

func TestManyConcurrentRequests(t *testing.T) {
	remote := newMemRemote()
	cl := start(t, WithRemote(remote), WithJobs(4))
	const n = 40
	// Half the puts share one output, so installs race on the same file.
	var msg strings.Builder
	for i := range n {
		content := fmt.Sprintf("output %d", i%(n/2))
		req, body := putReq(int64(i+1), fmt.Sprint(i), content)
		line, _ := json.Marshal(request{ID: req.ID, Command: cmdPut, ActionID: req.ActionID, OutputID: req.OutputID, BodySize: int64(len(body))})
		fmt.Fprintf(&msg, "%s\n\"%s\"\n", line, base64.StdEncoding.EncodeToString(body))
	}
	for i := range n {
		line, _ := json.Marshal(request{ID: int64(n + i + 1), Command: cmdGet, ActionID: actionID(fmt.Sprint(i))})
		fmt.Fprintf(&msg, "%s\n", line)
	}
	go io.WriteString(cl.in, msg.String())
	seen := map[int64]bool{}
	for range 2 * n {
		r := cl.recv()
		if seen[r.ID] {
			t.Fatalf("response ID %d twice", r.ID)
		}
		seen[r.ID] = true
		if r.Err != "" {
			t.Errorf("request %d: %s", r.ID, r.Err)
		}
	}
	if r, err := cl.close(1000); r.Err != "" || err != nil {
		t.Fatalf("close = %+v, %v", r, err)
	}
	if _, puts := remote.counts(); puts != n {
		t.Errorf("remote puts = %d, want %d", puts, n)
	}
}

func TestServeOneStreamAtATime(t *testing.T) {
	cl := start(t)
	err := cl.c.Serve(t.Context(), strings.NewReader(""), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Serve() = %v, want an error saying Serve is already running", err)
	}
}

func TestServeReturnsWhenContextEnds(t *testing.T) {
	c, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	inR, inW := io.Pipe()
	defer inW.Close()
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, inR, io.Discard) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Serve() = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

func TestServeWriteFailure(t *testing.T) {
	c, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	err = c.Serve(t.Context(), strings.NewReader(""), failingWriter{})
	if err == nil || !strings.Contains(err.Error(), "capabilities") {
		t.Errorf("Serve() with a failing output = %v, want an error about announcing capabilities", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
		want string
	}{
		{"no jobs", WithJobs(0), "jobs"},
		{"zero remote timeout", WithRemoteTimeout(0), "remote timeout"},
		{"negative upload wait", WithUploadWait(-time.Second), "upload wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(t.TempDir(), tt.opt); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%s) = %v, want an error about %s", tt.name, err, tt.want)
			}
		})
	}
	if _, err := New(""); err == nil {
		t.Error(`New("") = nil error, want one`)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:pw@reg.example/v2/", "https://REDACTED@reg.example/v2/"},
		{"GET https://reg.example/blob?X-Amz-Signature=abc&digest=sha256:1", "GET https://reg.example/blob?X-Amz-Signature=REDACTED&digest=sha256:1"},
		{"https://reg.example/token?access_token=xyz", "https://reg.example/token?access_token=REDACTED"},
		{"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30", "Authorization: Bearer REDACTED"},
		{"dial tcp 10.0.0.1:443: connection refused", "dial tcp 10.0.0.1:443: connection refused"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	base := errors.New("https://u:p@x/ failed")
	if err := redactError(base); !errors.Is(err, base) || strings.Contains(err.Error(), "u:p") {
		t.Errorf("redactError() = %v, want it to unwrap to the original without showing u:p", err)
	}
}

// The protocol's JSON must match what the go command reads: ID 0 carries
// KnownCommands, a hit carries OutputID as base64 and Time as RFC 3339.
func TestWireFormat(t *testing.T) {
	c, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	in := `{"ID":1,"Command":"get","ActionID":"` + base64.StdEncoding.EncodeToString(actionID("a")) + `"}` + "\n" + `{"ID":2,"Command":"close"}` + "\n"
	var out bytes.Buffer
	if err := c.Serve(t.Context(), strings.NewReader(in), &out); err != nil {
		t.Fatalf("Serve() = %v", err)
	}
	want := `{"ID":0,"KnownCommands":["get","put","close"]}` + "\n" + `{"ID":1,"Miss":true}` + "\n" + `{"ID":2}` + "\n"
	if out.String() != want {
		t.Errorf("Serve() wrote\n%s\nwant\n%s", out.String(), want)
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Errorf("line %q is not JSON", sc.Text())
		}
	}
}

// Bodies larger than the read buffer arrive in pieces, and a malformed one
// must still be skipped whole.
func TestLargeBodies(t *testing.T) {
	cl := start(t)
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>11)
	}
	r := cl.roundTrip(request{ID: 1, Command: cmdPut, ActionID: actionID("big"), OutputID: outputID(string(big))}, big)
	if r.Err != "" {
		t.Fatalf("put of 3 MiB = %+v", r)
	}
	wantHit(t, cl.roundTrip(request{ID: 2, Command: cmdGet, ActionID: actionID("big")}, nil), string(big))

	line, _ := json.Marshal(request{ID: 3, Command: cmdPut, ActionID: actionID("bad"), OutputID: outputID(string(big)), BodySize: int64(len(big))})
	cl.sendRaw(string(line) + "\n\"!!!!" + base64.StdEncoding.EncodeToString(big) + "\"\n")
	if r := cl.recv(); r.ID != 3 || !strings.Contains(r.Err, "illegal base64") {
		t.Fatalf("put of a malformed 3 MiB body = %+v, want an illegal base64 error", r)
	}
	cl.mustPut(4, "after", "the stream is in step")
}
