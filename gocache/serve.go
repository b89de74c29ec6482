package gocache

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
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The protocol's messages, as cmd/go/internal/cacheprog defines them
// (that package is internal to the go command, so they are restated here).
type request struct {
	ID       int64
	Command  string
	ActionID []byte `json:",omitempty"`
	OutputID []byte `json:",omitempty"`
	BodySize int64  `json:",omitempty"`
}

type response struct {
	ID            int64
	Err           string     `json:",omitempty"`
	KnownCommands []string   `json:",omitempty"`
	Miss          bool       `json:",omitempty"`
	OutputID      []byte     `json:",omitempty"`
	Size          int64      `json:",omitempty"`
	Time          *time.Time `json:",omitempty"`
	DiskPath      string     `json:",omitempty"`
}

const (
	cmdGet   = "get"
	cmdPut   = "put"
	cmdClose = "close"
)

// Serve speaks the GOCACHEPROG protocol: it announces its commands on out,
// then reads requests from in and answers each on out as it completes, in
// any order. It returns after answering "close", or when in ends (the go
// command does not send "close" for commands such as go list), having first
// waited for running requests and, up to the upload wait, for uploads.
//
// Serve returns an error when the input is not the protocol, when out
// fails, and in strict mode when the remote failed. If ctx ends first it
// returns ctx's error without waiting for a read from in that is blocked.
// One Cache serves one stream at a time.
func (c *Cache) Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	if !c.serving.CompareAndSwap(false, true) {
		return errors.New("gocache: Serve is already running on this cache")
	}
	defer c.serving.Store(false)
	start := time.Now()
	c.st.start.Store(&start)
	defer func() {
		end := time.Now()
		c.st.end.Store(&end)
	}()

	upCtx, cancelUploads := context.WithCancel(ctx)
	defer cancelUploads()
	s := &session{
		c:             c,
		ctx:           ctx,
		upCtx:         upCtx,
		cancelUploads: cancelUploads,
		bw:            bufio.NewWriter(out),
		jobs:          make(chan struct{}, c.o.jobs),
		upJobs:        make(chan struct{}, c.o.jobs),
	}
	s.enc = json.NewEncoder(s.bw)
	if err := s.send(response{KnownCommands: []string{cmdGet, cmdPut, cmdClose}}); err != nil {
		return fmt.Errorf("gocache: announce capabilities: %w", err)
	}

	reqs := make(chan incoming)
	stop := make(chan struct{})
	readDone := make(chan error, 1)
	go func() { readDone <- s.read(in, reqs, stop) }()
	defer close(stop)

	for {
		select {
		case <-ctx.Done():
			s.handlers.Wait()
			s.drainUploads()
			return ctx.Err()
		case err := <-readDone:
			s.handlers.Wait()
			s.drainUploads()
			if err != nil {
				return fmt.Errorf("gocache: read request: %w", err)
			}
			return errors.Join(s.writeError(), c.strictFailure())
		case inc := <-reqs:
			if inc.req.Command == cmdClose {
				s.handlers.Wait()
				s.drainUploads()
				res := response{ID: inc.req.ID}
				ferr := c.strictFailure()
				if ferr != nil {
					res.Err = ferr.Error()
				}
				s.send(res)
				return errors.Join(s.writeError(), ferr)
			}
			select {
			case s.jobs <- struct{}{}:
			case <-ctx.Done():
				inc.discard()
				continue // the outer select returns
			}
			s.handlers.Add(1)
			go func() {
				defer s.handlers.Done()
				defer func() { <-s.jobs }()
				s.handle(inc)
			}()
		}
	}
}

// session is the state of one Serve call.
type session struct {
	c   *Cache
	ctx context.Context

	wmu  sync.Mutex // guards bw, enc and werr
	bw   *bufio.Writer
	enc  *json.Encoder
	werr error

	jobs     chan struct{} // a slot per running request
	handlers sync.WaitGroup

	upJobs        chan struct{} // a slot per running upload
	uploads       sync.WaitGroup
	pending       atomic.Int64
	upCtx         context.Context
	cancelUploads context.CancelFunc
}

// send writes res as one line. After a failed write it does nothing: the go
// command is gone, and the end of the input will end Serve.
func (s *session) send(res response) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.werr != nil {
		return s.werr
	}
	err := s.enc.Encode(res)
	if err == nil {
		err = s.bw.Flush()
	}
	if err != nil {
		s.werr = fmt.Errorf("write response: %w", err)
	}
	return s.werr
}

func (s *session) writeError() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.werr
}

// incoming is one request as read, with its body already received.
type incoming struct {
	req  request
	body *received // for put requests with a valid OutputID
	err  error     // a problem with the request's body, to answer with
}

// received is a put body saved in a temporary file.
type received struct {
	tmp  string
	size int64
	sum  []byte
}

// discard removes a received body that will not be used.
func (inc incoming) discard() {
	if inc.body != nil {
		os.Remove(inc.body.tmp)
	}
}

// read parses requests from in and passes them on until in ends (nil), a
// "close" request has been passed on (nil), stop is closed (nil), or the
// input is not the protocol (an error). Bodies follow their request line,
// so read receives them itself, in order.
func (s *session) read(in io.Reader, reqs chan<- incoming, stop <-chan struct{}) error {
	br := bufio.NewReaderSize(in, 256<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) == 0 {
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		var inc incoming
		if jerr := json.Unmarshal(line, &inc.req); jerr != nil {
			return fmt.Errorf("request %.200q is not JSON: %w", line, jerr)
		}
		if inc.req.BodySize < 0 {
			inc.err = fmt.Errorf("BodySize is %d", inc.req.BodySize)
		} else if inc.req.Command == cmdPut || inc.req.BodySize > 0 {
			if berr := s.receive(br, &inc); berr != nil {
				return berr
			}
		}
		select {
		case reqs <- inc:
		case <-stop:
			inc.discard()
			return nil
		}
		if inc.req.Command == cmdClose || err == io.EOF {
			return nil
		}
	}
}

// receive reads the body of inc's request, if it has one, into a temporary
// file (or nowhere, when the request cannot use it). Problems with the body
// become inc.err; the returned error means the input itself failed.
func (s *session) receive(br *bufio.Reader, inc *incoming) error {
	req := inc.req
	var (
		dst io.Writer = io.Discard
		tmp *os.File
		h   hash.Hash
	)
	if req.Command == cmdPut && validID(req.OutputID) {
		var err error
		if tmp, err = s.c.newOutputTemp(req.OutputID); err != nil {
			inc.err = err
		} else {
			h = sha256.New()
			dst = io.MultiWriter(tmp, h)
		}
	}
	var n int64
	var berr error
	if req.BodySize > 0 {
		var err error
		n, berr, err = readBody(br, req.BodySize, dst)
		if err != nil {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
			return err
		}
	}
	if tmp == nil {
		if inc.err == nil {
			inc.err = berr
		}
		return nil
	}
	if cerr := tmp.Close(); berr == nil && cerr != nil {
		berr = fmt.Errorf("write output %x: %w", req.OutputID, cerr)
	}
	if berr != nil {
		os.Remove(tmp.Name())
		inc.err = berr
		return nil
	}
	inc.body = &received{tmp: tmp.Name(), size: n, sum: h.Sum(nil)}
	return nil
}

// readBody decodes a put body: a JSON string of base64 on the line after
// the request. It writes size bytes to dst. A malformed body is returned as
// berr, after skipping the rest of its line so the next request starts
// clean; err reports that the input itself failed or ended.
func readBody(br *bufio.Reader, size int64, dst io.Writer) (n int64, berr, err error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, nil, inputEnded(err)
		}
		if b == ' ' || b == '\t' || b == '\r' || b == '\n' {
			continue
		}
		if b != '"' {
			// Not a body at all, perhaps the next request: leave it be.
			br.UnreadByte()
			return 0, fmt.Errorf("put body: want a base64 JSON string after the request, found %q", b), nil
		}
		break
	}
	q := &quoted{r: br}
	dec := base64.NewDecoder(base64.StdEncoding, q)
	n, berr = io.Copy(dst, io.LimitReader(dec, size))
	if berr == nil {
		if n < size {
			berr = fmt.Errorf("%d bytes, want BodySize %d", n, size)
		} else if m, rerr := dec.Read(make([]byte, 1)); m > 0 {
			berr = fmt.Errorf("longer than BodySize %d", size)
		} else if rerr != io.EOF {
			berr = rerr
		}
	}
	if q.inputErr != nil {
		return n, nil, q.inputErr
	}
	if berr != nil {
		berr = fmt.Errorf("put body: %w", berr)
	}
	// Whatever is left of the line (the closing quote's newline, or the rest
	// of a malformed string) goes.
	if !q.lineDone {
		for {
			_, rerr := br.ReadSlice('\n')
			if rerr == nil {
				break
			}
			if rerr != bufio.ErrBufferFull {
				if rerr == io.EOF && q.closed {
					break // the input ends right after the body: fine
				}
				return n, nil, inputEnded(rerr)
			}
		}
	}
	return n, berr, nil
}

func inputEnded(err error) error {
	if err == io.EOF {
		return errors.New("input ended inside a put body")
	}
	return err
}

// quoted reads the inside of a JSON string from r, stopping after the
// closing quote. Base64 needs no escapes; "\/" is accepted since JSON
// encoders may write it.
type quoted struct {
	r        *bufio.Reader
	closed   bool  // the closing quote was read
	lineDone bool  // the newline ending the line was read
	inputErr error // r failed or ended
	err      error
}

func (q *quoted) Read(p []byte) (int, error) {
	switch {
	case q.closed:
		return 0, io.EOF
	case q.err != nil:
		return 0, q.err
	case len(p) == 0:
		return 0, nil
	}
	if _, err := q.r.Peek(1); err != nil {
		q.inputErr = inputEnded(err)
		q.err = q.inputErr
		return 0, q.err
	}
	buf, _ := q.r.Peek(q.r.Buffered())
	n := 0
	for n < len(p) && n < len(buf) {
		if c := buf[n]; c == '"' || c == '\\' || c == '\n' {
			break
		}
		n++
	}
	if n > 0 {
		copy(p, buf[:n])
		q.r.Discard(n)
		return n, nil
	}
	c, _ := q.r.ReadByte()
	switch c {
	case '"':
		q.closed = true
		return 0, io.EOF
	case '\n':
		q.lineDone = true
		q.err = errors.New("unterminated string")
		return 0, q.err
	}
	e, err := q.r.ReadByte()
	if err != nil {
		q.inputErr = inputEnded(err)
		q.err = q.inputErr
		return 0, q.err
	}
	if e == '/' {
		p[0] = '/'
		return 1, nil
	}
	q.lineDone = e == '\n'
	q.err = fmt.Errorf("escape \\%c in base64", e)
	return 0, q.err
}

// handle answers one request.
func (s *session) handle(inc incoming) {
	var res response
	switch {
	case inc.err != nil:
		inc.discard()
		res.Err = redact(fmt.Sprintf("%s %x: %v", inc.req.Command, inc.req.ActionID, inc.err))
	case inc.req.Command == cmdGet:
		res = s.get(inc.req)
	case inc.req.Command == cmdPut:
		res = s.put(inc.req, inc.body)
	default:
		inc.discard()
		res.Err = fmt.Sprintf("unknown command %q; this cache program knows get, put and close", inc.req.Command)
	}
	res.ID = inc.req.ID
	s.send(res)
}

func hit(e Entry, path string) response {
	t := e.Time
	return response{OutputID: e.OutputID, Size: e.Size, Time: &t, DiskPath: path}
}

func (s *session) get(req request) response {
	c := s.c
	if !validID(req.ActionID) {
		return response{Err: fmt.Sprintf("get: ActionID %x is not 1 to %d bytes", req.ActionID, maxIDLen)}
	}
	if e, path, ok := c.lookupLocal(req.ActionID); ok {
		c.st.localHits.Add(1)
		return hit(e, path)
	}
	if r := c.activeRemote(); r != nil {
		e, path, err := c.fetch(s.ctx, r, req.ActionID)
		var rerr *remoteError
		switch {
		case err == nil:
			c.st.remoteHits.Add(1)
			return hit(e, path)
		case errors.Is(err, ErrMiss), errors.Is(err, errCorrupt):
		case errors.As(err, &rerr):
			if s.ctx.Err() != nil {
				break // shutting down, not the remote's fault
			}
			if ferr := c.remoteFailed(err); ferr != nil {
				c.st.misses.Add(1)
				return response{Err: ferr.Error()}
			}
		default:
			c.st.misses.Add(1)
			return response{Err: redact(fmt.Sprintf("get %x: %v", req.ActionID, err))}
		}
	} else if ferr := c.strictFailure(); ferr != nil {
		c.st.misses.Add(1)
		return response{Err: ferr.Error()}
	}
	c.st.misses.Add(1)
	return response{Miss: true}
}

func (s *session) put(req request, body *received) response {
	c := s.c
	switch {
	case !validID(req.ActionID):
		return response{Err: fmt.Sprintf("put: ActionID %x is not 1 to %d bytes", req.ActionID, maxIDLen)}
	case body == nil: // only when the OutputID is bad: see receive
		return response{Err: fmt.Sprintf("put %x: OutputID %x is not 1 to %d bytes", req.ActionID, req.OutputID, maxIDLen)}
	}
	if len(req.OutputID) == sha256.Size && !bytes.Equal(body.sum, req.OutputID) {
		os.Remove(body.tmp)
		return response{Err: fmt.Sprintf("put %x: the body's SHA-256 is %x, not its OutputID %x", req.ActionID, body.sum, req.OutputID)}
	}
	path, err := c.installOutput(body.tmp, req.OutputID, body.size)
	if err != nil {
		return response{Err: fmt.Sprintf("put %x: %v", req.ActionID, err)}
	}
	e := Entry{OutputID: req.OutputID, Size: body.size, Time: time.Now()}
	if err := c.writeEntry(req.ActionID, e); err != nil {
		return response{Err: fmt.Sprintf("put %x: %v", req.ActionID, err)}
	}
	c.st.puts.Add(1)
	// Only content the remote's readers can verify is worth sharing.
	if c.activeRemote() != nil && len(req.OutputID) == sha256.Size {
		if _, known := c.inRemote.LoadOrStore(hex.EncodeToString(req.ActionID), struct{}{}); !known {
			s.pending.Add(1)
			s.uploads.Add(1)
			go s.upload(req.ActionID, e)
		}
	}
	return response{DiskPath: path}
}

// upload copies a put to the remote in the background.
func (s *session) upload(actionID []byte, e Entry) {
	defer s.uploads.Done()
	defer s.pending.Add(-1)
	c := s.c
	select {
	case s.upJobs <- struct{}{}:
		defer func() { <-s.upJobs }()
	case <-s.upCtx.Done():
		return
	}
	r := c.activeRemote()
	if r == nil {
		return
	}
	f, err := os.Open(c.outputPath(e.OutputID))
	if err != nil {
		c.logf("cannot upload action %x: %v", actionID, err)
		return
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(s.upCtx, c.o.remoteTimeout)
	defer cancel()
	if err := r.Put(ctx, actionID, e, f); err != nil {
		if s.upCtx.Err() != nil {
			return // abandoned at close, or shutting down
		}
		c.remoteFailed(&remoteError{op: fmt.Sprintf("put %x", actionID), err: err})
		return
	}
	c.st.uploads.Add(1)
	c.st.bytesUp.Add(e.Size)
}

// drainUploads waits up to the upload wait for background uploads, then
// cancels those still running. Requests must have finished: they start
// uploads.
func (s *session) drainUploads() {
	done := make(chan struct{})
	go func() {
		s.uploads.Wait()
		close(done)
	}()
	t := time.NewTimer(s.c.o.uploadWait)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	n := s.pending.Load()
	s.c.st.abandoned.Add(n)
	s.c.logf("gave up waiting for %d uploads after %v; those outputs stay in the local cache only", n, s.c.o.uploadWait)
	s.cancelUploads()
	// Remotes honour ctx, so the rest finish promptly; do not hang on one
	// that does not.
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}
