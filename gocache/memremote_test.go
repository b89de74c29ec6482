package gocache

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
)

// memRemote is a Remote in memory. It stands for faults a real registry
// cannot produce on demand: content altered after upload, every call
// failing, calls that hang until released.
type memRemote struct {
	mu      sync.Mutex
	entries map[string]memEntry // by hex action ID
	fail    error               // when set, every call fails with it
	putFail error               // when set, every Put fails with it
	gates   map[string]chan struct{}
	putGate chan struct{} // when set, Put waits for it to close (or ctx)

	gets, puts        int
	inFlight, maxSeen int
	putCtxErr         error // what ctx said when a gated Put gave up
}

type memEntry struct {
	e    Entry
	data []byte
}

func newMemRemote() *memRemote {
	return &memRemote{entries: map[string]memEntry{}, gates: map[string]chan struct{}{}}
}

func (m *memRemote) String() string { return "memory" }

// gate makes Get of actionID wait until the returned function is called.
func (m *memRemote) gate(actionID []byte) (release func()) {
	ch := make(chan struct{})
	m.mu.Lock()
	m.gates[hex.EncodeToString(actionID)] = ch
	m.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (m *memRemote) enter() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inFlight++
	m.maxSeen = max(m.maxSeen, m.inFlight)
}

func (m *memRemote) leave() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inFlight--
}

func (m *memRemote) Get(ctx context.Context, actionID []byte) (Entry, io.ReadCloser, error) {
	m.enter()
	defer m.leave()
	key := hex.EncodeToString(actionID)
	m.mu.Lock()
	m.gets++
	gate, fail := m.gates[key], m.fail
	m.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return Entry{}, nil, ctx.Err()
		}
	}
	if fail != nil {
		return Entry{}, nil, fail
	}
	m.mu.Lock()
	me, ok := m.entries[key]
	m.mu.Unlock()
	if !ok {
		return Entry{}, nil, fmt.Errorf("action %s: %w", key, ErrMiss)
	}
	return me.e, io.NopCloser(bytes.NewReader(me.data)), nil
}

func (m *memRemote) Put(ctx context.Context, actionID []byte, e Entry, body io.Reader) error {
	m.enter()
	defer m.leave()
	m.mu.Lock()
	m.puts++
	gate, fail := m.putGate, firstErr(m.fail, m.putFail)
	m.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			m.mu.Lock()
			m.putCtxErr = ctx.Err()
			m.mu.Unlock()
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[hex.EncodeToString(actionID)] = memEntry{e: e, data: data}
	return nil
}

func (m *memRemote) has(actionID []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.entries[hex.EncodeToString(actionID)]
	return ok
}

// corrupt flips a byte of the content stored under actionID.
func (m *memRemote) corrupt(actionID []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	me := m.entries[hex.EncodeToString(actionID)]
	data := bytes.Clone(me.data)
	data[0] ^= 0xff
	m.entries[hex.EncodeToString(actionID)] = memEntry{e: me.e, data: data}
}

func (m *memRemote) counts() (gets, puts int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gets, m.puts
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
