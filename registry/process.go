package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Lines the child prints on stdout; see the package doc.
const (
	readyPrefix  = "hoist-registry listening on http://"
	inUsePrefix  = "hoist-registry already running on http://"
	dataMarker   = " data="
	pidMarker    = " pid="
	stderrKeep   = 16 << 10
	maxLineBytes = 64 << 10
)

// InUseError reports that the data dir is already served by another live
// hoist-registry. Host is that instance's host:port, ready to use.
type InUseError struct {
	// Host is the running registry's host:port.
	Host string
	// DataDir is the contested data directory.
	DataDir string
	// PID is the running registry's process id.
	PID int
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("data dir %s is already served by hoist-registry pid %d on http://%s; "+
		"use that registry, stop it, or pass a different data dir", e.DataDir, e.PID, e.Host)
}

// Process is a running hoist-registry child.
type Process struct {
	cmd     *exec.Cmd
	host    string
	dataDir string
	grace   time.Duration
	stderr  *tailBuffer
	tmp     string // the go command's GOTMPDIR, removed when the child is gone

	waitNote func(others int) // told while Stop waits for leases

	done     chan struct{} // closed once the child has exited and Wait returned
	waitErr  error
	killedMu sync.Mutex
	killed   bool
}

// Start launches hoist-registry and returns once it reports that it is
// listening. The child lives until [Process.Stop] or until ctx is done, in
// which case it is stopped the same way; pass context.WithoutCancel(ctx) to
// keep it beyond the caller's work. Waiting for readiness is bounded by ctx
// and [WithStartTimeout]. If the data dir is served by another instance the
// error is an [*InUseError].
func Start(ctx context.Context, opts ...Option) (*Process, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, fmt.Errorf("start registry: %w", err)
	}
	flags := []string{"-addr", o.addr}
	if o.dataDir != "" {
		flags = append(flags, "-data", o.dataDir)
	}
	if o.logWriter != nil {
		flags = append(flags, "-v")
	}

	p := &Process{grace: o.stopGrace, stderr: &tailBuffer{max: stderrKeep}, done: make(chan struct{}), waitNote: o.waitNote}
	var env []string // nil: the caller's environment
	// The go command behind `go tool` compiles the registry on first use
	// and leaves its work directory behind when a signal stops it: give it
	// a directory of its own, removed once the child is gone.
	if os.Getenv("GOTMPDIR") == "" {
		if tmp, err := os.MkdirTemp("", "hoist-registry-go-"); err == nil {
			p.tmp = tmp
			env = append(os.Environ(), "GOTMPDIR="+tmp)
		}
	}
	timer := time.NewTimer(o.startTimeout)
	defer timer.Stop()
	var slow <-chan time.Time
	if o.slowNote != nil {
		st := time.NewTimer(o.slowAfter)
		defer st.Stop()
		slow = st.C
	}
	var abandon <-chan struct{}
	if o.startCtx != nil {
		abandon = o.startCtx.Done()
	}
	command := o.command
	if o.toolRecord != "" && slices.Equal(o.command, defaultCommand()) {
		path, stop, err := resolveTool(ctx, o, env, &slow, abandon, timer.C)
		if stop != nil {
			p.removeTmp()
			return nil, fmt.Errorf("start registry: %w", stop)
		}
		// Without a path, `go tool hoist-registry` runs and says itself
		// what is wrong.
		if err == nil {
			command = []string{path}
		}
	}
	args := slices.Concat(command[1:], flags)

	lines := &lineWriter{c: make(chan string, 1)}
	cmd := exec.CommandContext(ctx, command[0], args...)
	cmd.Dir = o.dir
	cmd.Env = env
	cmd.Stdout = lines
	cmd.Stderr = p.stderr
	if o.logWriter != nil {
		cmd.Stderr = io.MultiWriter(p.stderr, o.logWriter)
	}
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return terminate(cmd.Process) }
	cmd.WaitDelay = o.stopGrace
	p.cmd = cmd
	argv := strings.Join(slices.Concat(command[:1], args), " ")
	if err := cmd.Start(); err != nil {
		p.removeTmp()
		return nil, fmt.Errorf("start registry %q: %w%s", argv, err, p.hint(o))
	}
	go p.wait()

	for {
		select {
		case line := <-lines.c:
			return p.ready(ctx, line)
		case <-p.done:
			select {
			case line := <-lines.c:
				return p.ready(ctx, line)
			default:
			}
			return nil, fmt.Errorf("registry %q exited before it was ready: %v%s%s", argv, p.waitErr, p.stderrSuffix(), p.hint(o))
		case <-slow:
			o.slowNote()
		case <-timer.C:
			stopErr := p.Stop(context.WithoutCancel(ctx))
			return nil, errors.Join(fmt.Errorf("registry %q did not report ready within %s%s", argv, o.startTimeout, p.stderrSuffix()), stopErr)
		case <-abandon:
			p.kill()
			<-p.done
			return nil, fmt.Errorf("start registry: %w", context.Cause(o.startCtx))
		case <-ctx.Done():
			<-p.done // CommandContext already signalled it
			return nil, fmt.Errorf("start registry: %w", context.Cause(ctx))
		}
	}
}

// resolveTool finds the registry binary through the tool record (see
// WithToolRecord) while Start's clock runs: the slow-start note fires if
// the go command is still building the tool after the usual delay (slow is
// then cleared, so the note is given once). A lookup that fails returns
// err; one that ctx, abandon or the start timeout ended returns stop, and
// Start gives up.
func resolveTool(ctx context.Context, o *options, env []string, slow *<-chan time.Time, abandon <-chan struct{}, timeout <-chan time.Time) (path string, stop, err error) {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type result struct {
		path string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		path, err := toolBinary(rctx, o.dir, o.toolRecord, env)
		done <- result{path, err}
	}()
	for {
		select {
		case r := <-done:
			if ctx.Err() != nil {
				return "", context.Cause(ctx), r.err
			}
			return r.path, nil, r.err
		case <-*slow:
			*slow = nil
			o.slowNote()
		case <-abandon:
			cancel(context.Cause(o.startCtx))
			<-done
			return "", context.Cause(o.startCtx), nil
		case <-timeout:
			err := fmt.Errorf("the go command did not build hoist-registry within %s", o.startTimeout)
			cancel(err)
			<-done
			return "", err, nil
		}
	}
}

// ready interprets the child's first stdout line.
func (p *Process) ready(ctx context.Context, line string) (*Process, error) {
	if rest, ok := strings.CutPrefix(line, readyPrefix); ok {
		host, dataDir, ok := strings.Cut(rest, dataMarker)
		if ok && host != "" {
			p.host, p.dataDir = host, dataDir
			return p, nil
		}
	}
	if rest, ok := strings.CutPrefix(line, inUsePrefix); ok {
		host, rest, _ := strings.Cut(rest, dataMarker)
		dataDir, pid, _ := cutLast(rest, pidMarker)
		n, _ := strconv.Atoi(pid)
		<-p.done
		return nil, &InUseError{Host: host, DataDir: dataDir, PID: n}
	}
	stopErr := p.Stop(context.WithoutCancel(ctx))
	return nil, errors.Join(fmt.Errorf("registry printed %q instead of its ready line; is the command really hoist-registry?", line), stopErr)
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

func (p *Process) wait() {
	p.waitErr = p.cmd.Wait()
	// A child of `go tool` can outlive it if go was killed; its group goes too.
	killGroup(p.cmd.Process)
	p.removeTmp()
	close(p.done)
}

// removeTmp removes the go command's private temporary directory.
func (p *Process) removeTmp() {
	if p.tmp != "" {
		_ = os.RemoveAll(p.tmp)
	}
}

// hint names the usual fix when the default `go tool` command could not
// find the tool; a registry that started and refused its settings has said
// what is wrong itself.
func (p *Process) hint(o *options) string {
	if !slices.Equal(o.command, defaultCommand()) || strings.Contains(p.stderr.String(), "hoist-registry:") {
		return ""
	}
	return "\nto fix: add the tool to go.mod with `go get -tool " + ToolPackage + "` " +
		"(run it in the module at the working directory), or configure a destination registry instead of the embedded one"
}

func (p *Process) stderrSuffix() string {
	s := strings.TrimSpace(p.stderr.String())
	if s == "" {
		return ""
	}
	return "\nstderr:\n" + s
}

// Host is the registry's host:port, e.g. "127.0.0.1:43211", usable as the
// registry part of an image reference.
func (p *Process) Host() string { return p.host }

// URL is the registry's base URL, e.g. "http://127.0.0.1:43211".
func (p *Process) URL() string { return "http://" + p.host }

// DataDir is the absolute data directory the child reported.
func (p *Process) DataDir() string { return p.dataDir }

// Done is closed when the child has exited, whether stopped or crashed.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop asks the child to shut down gracefully (SIGTERM), waits for the stop
// grace period or until ctx is done, then kills it. It returns nil when the
// child exited cleanly, and is safe to call more than once. While other
// processes hold a [Lease] on the data directory, because they push to this
// registry too, Stop first waits for them (or for ctx), so the last user
// is the one that stops it.
func (p *Process) Stop(ctx context.Context) error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	if p.dataDir != "" {
		waitForLeases(ctx, p.dataDir, p.waitNote)
	}
	if err := terminate(p.cmd.Process); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.kill()
	}
	timer := time.NewTimer(p.grace)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.kill()
	case <-ctx.Done():
		p.kill()
	}
	<-p.done
	return p.exitErr()
}

func (p *Process) kill() {
	p.killedMu.Lock()
	p.killed = true
	p.killedMu.Unlock()
	killGroup(p.cmd.Process)
}

func (p *Process) exitErr() error {
	p.killedMu.Lock()
	killed := p.killed
	p.killedMu.Unlock()
	switch {
	case p.cmd.ProcessState != nil && p.cmd.ProcessState.Success():
		// A clean exit, even if exec reports that Start's ctx ended first.
		return nil
	case !killed && p.cmd.ProcessState != nil && stoppedBySignal(p.cmd.ProcessState):
		return nil
	case killed && p.waitErr != nil:
		return fmt.Errorf("stop registry on %s: killed after it did not exit within %s%s", p.host, p.grace, p.stderrSuffix())
	case p.waitErr != nil:
		return fmt.Errorf("stop registry on %s: %w%s", p.host, p.waitErr, p.stderrSuffix())
	}
	return nil
}

// lineWriter delivers the child's first stdout line and discards the rest,
// so the child never blocks on a full pipe.
type lineWriter struct {
	c    chan string
	buf  []byte
	sent bool
}

func (w *lineWriter) Write(b []byte) (int, error) {
	if w.sent {
		return len(b), nil
	}
	w.buf = append(w.buf, b...)
	if i := bytes.IndexByte(w.buf, '\n'); i >= 0 || len(w.buf) > maxLineBytes {
		if i < 0 {
			i = len(w.buf)
		}
		w.c <- strings.TrimRight(string(w.buf[:i]), "\r")
		w.sent, w.buf = true, nil
	}
	return len(b), nil
}

// tailBuffer keeps the last max bytes written: enough of the child's stderr
// to explain a failure without growing for the life of the process.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, b...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = slices.Clone(t.b[over:])
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
