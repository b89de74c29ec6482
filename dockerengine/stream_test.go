package dockerengine

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStreamReader(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		wantLines []string
		wantAux   []string
		wantErr   string // "" means success
	}{
		{
			name: "builder splits lines across messages",
			input: `{"stream":"Step 1/2 : FROM scratch"}` + "\n" + `{"stream":"\n"}` +
				`{"stream":" ---\u003e Running\nline two\r\n"}` + `{"aux":{"ID":"sha256:abc"}}` + `{"stream":"no newline at end"}`,
			wantLines: []string{"Step 1/2 : FROM scratch", " ---> Running", "line two", "no newline at end"},
			wantAux:   []string{`{"ID":"sha256:abc"}`},
		},
		{
			name:      "status with and without id",
			input:     `{"status":"Loading layer","id":"abc123"}{"status":"sha256:feed"}`,
			wantLines: []string{"abc123: Loading layer", "sha256:feed"},
		},
		{
			name:      "errorDetail fails with its message and the output so far",
			input:     `{"stream":"Step 2/2 : RUN false\n"}{"errorDetail":{"code":1,"message":"The command returned a non-zero code: 1"},"error":"ignored"}{"stream":"never read\n"}`,
			wantLines: []string{"Step 2/2 : RUN false"},
			wantErr:   "The command returned a non-zero code: 1\n--- last output lines ---\nStep 2/2 : RUN false",
		},
		{
			name:    "old daemons send only error",
			input:   `{"error":"open /nonexistent: no such file"}`,
			wantErr: "open /nonexistent: no such file",
		},
		{
			name:    "garbage is reported, not ignored",
			input:   `{"stream":"ok\n"}<html>`,
			wantErr: "read daemon response",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			var lines, aux []string
			sr := streamReader{
				out:    &out,
				onLine: func(l string) { lines = append(lines, l) },
				onAux:  func(r json.RawMessage) { aux = append(aux, string(r)) },
			}
			err := sr.read(strings.NewReader(tc.input))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("read() = %v, want nil error", err)
			case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)):
				t.Fatalf("read() = %v, want an error starting %q", err, tc.wantErr)
			}
			if tc.wantLines != nil {
				if diff := cmp.Diff(tc.wantLines, lines); diff != "" {
					t.Errorf("read() lines mismatch (-want +got):\n%s", diff)
				}
				if got, want := out.String(), strings.Join(tc.wantLines, "\n")+"\n"; got != want {
					t.Errorf("read() output = %q, want %q", got, want)
				}
			}
			if diff := cmp.Diff(tc.wantAux, aux); diff != "" {
				t.Errorf("read() aux mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// Only the last lines are quoted in an error, so a long build log cannot
// turn one error into pages of text.
func TestStreamReaderTail(t *testing.T) {
	var in strings.Builder
	for i := range 50 {
		in.WriteString(`{"stream":"line ` + string(rune('A'+i%26)) + `\n"}`)
	}
	in.WriteString(`{"error":"boom"}`)
	sr := streamReader{}
	err := sr.read(strings.NewReader(in.String()))
	if err == nil {
		t.Fatal("read() = nil, want an error")
	}
	if got := strings.Count(err.Error(), "\nline "); got != tailLines {
		t.Errorf("read() error quotes %d lines, want %d", got, tailLines)
	}
}
