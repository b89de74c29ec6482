package release

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hoistdev/hoist/checksum"
)

// goBuild returns a Build function that compiles the module in dir with the
// real toolchain and reports dist/app's digest.
func goBuild(t *testing.T, args ...string) func(ctx context.Context, dir string) (map[string]string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go toolchain not on PATH")
	}
	return func(ctx context.Context, dir string) (map[string]string, error) {
		out := filepath.Join(dir, "dist", "app")
		cmd := exec.CommandContext(ctx, goTool, append(append([]string{"build"}, args...), "-o", out, ".")...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build: %v\n%s", err, b)
		}
		sum, _, err := checksum.SHA256File(context.Background(), out)
		if err != nil {
			return nil, err
		}
		return map[string]string{"dist/app": "sha256:" + sum}, nil
	}
}

// moduleRepo is a repository holding a small Go module in sub ("" for the
// root), with ignored output and an untracked file that clean clones must
// not see.
func moduleRepo(t *testing.T, sub string) (*testRepo, string) {
	t.Helper()
	r := newRepo(t, "0.1.0")
	dir := filepath.Join(r.dir, sub)
	r.write(filepath.Join(sub, "go.mod"), "module example.com/app\n\ngo 1.24\n")
	r.write(filepath.Join(sub, "main.go"), "package main\n\nfunc main() { println(\"hi\") }\n")
	r.git("add", ".")
	r.git("commit", "-q", "-m", "feat: app")
	r.write(filepath.Join(sub, "untracked.txt"), "local only\n")
	r.write(filepath.Join(sub, "dist", "stale"), "old output\n")
	return r, dir
}

func TestVerifyReproducible(t *testing.T) {
	for _, sub := range []string{"", "svc"} {
		t.Run("module in "+cmp.Or(sub, "root"), func(t *testing.T) {
			r, dir := moduleRepo(t, sub)
			tmp := t.TempDir()
			build := goBuild(t, "-trimpath")
			var dirs []string
			var log bytes.Buffer
			rep, err := Verify(t.Context(), VerifyOptions{
				Dir:     dir,
				TempDir: tmp,
				Log:     &log,
				Build: func(ctx context.Context, d string) (map[string]string, error) {
					dirs = append(dirs, d)
					for _, name := range []string{"untracked.txt", "dist/stale"} {
						if _, err := os.Stat(filepath.Join(d, name)); err == nil {
							t.Errorf("clean checkout %s holds %s, want only committed files", d, name)
						}
					}
					if _, err := os.Stat(filepath.Join(d, "go.mod")); err != nil {
						t.Errorf("checkout %s has no go.mod: %v", d, err)
					}
					return build(ctx, d)
				},
			})
			if err != nil {
				t.Fatalf("Verify() = %v\nlog:\n%s", err, log.String())
			}
			if len(dirs) != 2 || dirs[0] == dirs[1] || filepath.Base(dirs[0]) != filepath.Base(dir) && sub != "" {
				t.Errorf("Build called in %v, want two distinct checkouts of %s", dirs, sub)
			}
			if rep.Commit != r.git("rev-parse", "HEAD") {
				t.Errorf("report commit = %s, want HEAD", rep.Commit)
			}
			if len(rep.Entries) != 1 || !rep.Entries[0].Identical || rep.Entries[0].Path != "dist/app" || len(rep.Differences()) != 0 {
				t.Errorf("report entries = %+v, want dist/app identical", rep.Entries)
			}
			if left := listDir(t, tmp); len(left) != 0 {
				t.Errorf("temp dir after Verify holds %v, want it cleaned", left)
			}
			var text bytes.Buffer
			if err := rep.WriteText(&text); err != nil || !strings.HasPrefix(text.String(), "same  dist/app  sha256:") {
				t.Errorf("WriteText() = %q, %v; want a same line", text.String(), err)
			}
		})
	}
}

// TestVerifyCatchesPathLeak builds without -trimpath: the clone's directory
// ends up in the binary, which is exactly what verify exists to catch.
func TestVerifyCatchesPathLeak(t *testing.T) {
	_, dir := moduleRepo(t, "")
	tmp := t.TempDir()
	rep, err := Verify(t.Context(), VerifyOptions{Dir: dir, TempDir: tmp, Build: goBuild(t)})
	if err == nil || !strings.Contains(err.Error(), "1 of 1 artifacts differ") || !strings.Contains(err.Error(), "dist/app (sha256:") {
		t.Fatalf("Verify(no -trimpath) = %v, want dist/app reported as different", err)
	}
	if d := rep.Differences(); len(d) != 1 || d[0].First == d[0].Second {
		t.Errorf("Differences() = %+v, want dist/app with two digests", d)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	if !strings.HasPrefix(text.String(), "DIFF  dist/app  sha256:") {
		t.Errorf("WriteText() = %q, want a DIFF line", text.String())
	}
	if left := listDir(t, tmp); len(left) != 0 {
		t.Errorf("temp dir after a failed Verify holds %v, want it cleaned", left)
	}
}

func TestVerifyFailures(t *testing.T) {
	errBuild := errors.New("compiler exploded")
	tests := []struct {
		name   string
		builds [2]map[string]string
		err    error
		want   []string
	}{
		{
			name:   "only in second",
			builds: [2]map[string]string{{"a": "sha256:1"}, {"a": "sha256:1", "b": "sha256:2"}},
			want:   []string{"b only in the second build"},
		},
		{
			name:   "only in first",
			builds: [2]map[string]string{{"a": "sha256:1", "c": "sha256:3"}, {"a": "sha256:1"}},
			want:   []string{"c only in the first build"},
		},
		{
			name:   "empty digests are not proof",
			builds: [2]map[string]string{{"a": ""}, {"a": ""}},
			want:   []string{"1 of 1 artifacts differ"},
		},
		{
			name: "nothing reported",
			want: []string{"nothing was compared"},
		},
		{
			name: "build fails",
			err:  errBuild,
			want: []string{"build 1 of 2", "compiler exploded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir := moduleRepo(t, "")
			tmp := t.TempDir()
			var n atomic.Int32
			_, err := Verify(t.Context(), VerifyOptions{Dir: dir, TempDir: tmp, Build: func(ctx context.Context, d string) (map[string]string, error) {
				i := n.Add(1) - 1
				// A build that leaves read-only directories must still be
				// cleaned up.
				ro := filepath.Join(d, "ro")
				os.MkdirAll(ro, 0o755)
				os.WriteFile(filepath.Join(ro, "f"), nil, 0o444)
				os.Chmod(ro, 0o555)
				if tt.err != nil {
					return nil, tt.err
				}
				return tt.builds[i], nil
			}})
			if err == nil {
				t.Fatal("Verify() = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Verify() = %v, want it to mention %q", err, w)
				}
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("Verify() = %v, want it to wrap %v", err, tt.err)
			}
			if left := listDir(t, tmp); len(left) != 0 {
				t.Errorf("temp dir after Verify holds %v, want it cleaned", left)
			}
		})
	}
}

func TestVerifyOptionErrors(t *testing.T) {
	isolateGit(t)
	noop := func(context.Context, string) (map[string]string, error) { return nil, nil }
	empty := t.TempDir()
	unborn := t.TempDir()
	(&testRepo{t: t, dir: unborn}).git("init", "-q")
	tests := []struct {
		name string
		o    VerifyOptions
		want string
	}{
		{name: "no dir", o: VerifyOptions{Build: noop}, want: "required"},
		{name: "no build", o: VerifyOptions{Dir: empty}, want: "required"},
		{name: "not a repository", o: VerifyOptions{Dir: empty, Build: noop}, want: "inside a git repository"},
		{name: "no commit", o: VerifyOptions{Dir: unborn, Build: noop}, want: "needs a commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Verify(t.Context(), tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Verify(%+v) = %v, want an error mentioning %q", tt.o, err, tt.want)
			}
		})
	}
	r := newRepo(t, "0.1.0")
	if _, err := Verify(t.Context(), VerifyOptions{Dir: r.dir, Build: noop, TempDir: filepath.Join(empty, "missing")}); err == nil || !strings.Contains(err.Error(), "temporary directory") {
		t.Errorf("Verify(missing TempDir) = %v, want a temporary directory error", err)
	}
}

func TestVerifyReportWriteError(t *testing.T) {
	rep := &VerifyReport{Entries: []VerifyEntry{{Path: "a", First: "x", Second: "x", Identical: true}}}
	if err := rep.WriteText(failWriter{}); err == nil {
		t.Errorf("WriteText(failing writer) = nil, want an error")
	}
}
