package dockerengine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"
)

// streamMessage is one object of the newline-delimited JSON that the
// daemon answers load, import and build requests with. The top-level
// "error" string is kept next to errorDetail because older daemons fill
// only one of the two.
type streamMessage struct {
	Stream      string            `json:"stream"`
	Status      string            `json:"status"`
	ID          string            `json:"id"`
	Error       string            `json:"error"`
	ErrorDetail *jsonstream.Error `json:"errorDetail"`
	Aux         json.RawMessage   `json:"aux"`
}

// tailLines is how many output lines a failed load or build quotes in its
// error, so a silent caller still sees why the daemon gave up.
const tailLines = 20

// streamReader decodes a daemon message stream into whole lines of text.
type streamReader struct {
	out     io.Writer
	onLine  func(string)
	onAux   func(json.RawMessage)
	partial strings.Builder
	tail    []string
}

// read consumes r until EOF or the first error the daemon reports. Text is
// re-assembled into lines because the builder splits a line across
// several messages ("Step 1/9 : FROM x" and "\n" arrive separately).
func (s *streamReader) read(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m streamMessage
		if err := dec.Decode(&m); err != nil {
			s.flush()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read daemon response: %w", err)
		}
		if m.ErrorDetail != nil || m.Error != "" {
			s.flush()
			msg := m.Error
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				msg = m.ErrorDetail.Message
			}
			return &daemonError{msg: strings.TrimSpace(msg), tail: s.tail}
		}
		if len(m.Aux) > 0 && s.onAux != nil {
			s.onAux(m.Aux)
		}
		switch {
		case m.Stream != "":
			s.write(m.Stream)
		case m.Status != "" && m.ID != "":
			s.write(m.ID + ": " + m.Status + "\n")
		case m.Status != "":
			s.write(m.Status + "\n")
		}
	}
}

func (s *streamReader) write(text string) {
	for {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			s.partial.WriteString(text)
			return
		}
		s.partial.WriteString(text[:i])
		s.emit()
		text = text[i+1:]
	}
}

func (s *streamReader) flush() {
	if s.partial.Len() > 0 {
		s.emit()
	}
}

func (s *streamReader) emit() {
	line := strings.TrimRight(s.partial.String(), "\r")
	s.partial.Reset()
	if s.out != nil {
		fmt.Fprintln(s.out, line)
	}
	if s.onLine != nil {
		s.onLine(line)
	}
	if strings.TrimSpace(line) == "" {
		return
	}
	if len(s.tail) == tailLines {
		s.tail = append(s.tail[:0], s.tail[1:]...)
	}
	s.tail = append(s.tail, line)
}

// daemonError is a failure the daemon reported inside an otherwise
// successful response, together with the output that led up to it.
type daemonError struct {
	msg  string
	tail []string
}

func (e *daemonError) Error() string {
	if len(e.tail) == 0 {
		return e.msg
	}
	return e.msg + "\n--- last output lines ---\n" + strings.Join(e.tail, "\n")
}
