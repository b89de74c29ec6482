package release

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/version"
)

func TestPreflight(t *testing.T) {
	errRegistry := errors.New("dial tcp 127.0.0.1:1: connection refused")
	tests := []struct {
		name     string
		setup    func(r *testRepo, o *PreflightOptions)
		release  bool
		next     string
		wantErrs []string // substrings, one per expected problem
		registry bool     // whether the registry hook must have been called
	}{
		{
			name:     "first release as is",
			release:  true,
			next:     "0.1.0",
			registry: true,
		},
		{
			name: "feat after a tag bumps minor, dist ignored",
			setup: func(r *testRepo, o *PreflightOptions) {
				r.git("tag", "-a", "-m", "v0.1.0", "v0.1.0")
				r.commit("feat: add things")
				r.write("dist/out.txt", "built\n")
			},
			release:  true,
			next:     "0.2.0",
			registry: true,
		},
		{
			name: "nothing to release is not an error and skips the registry",
			setup: func(r *testRepo, o *PreflightOptions) {
				r.git("tag", "-a", "-m", "v0.1.0", "v0.1.0")
				r.commit("docs: words")
			},
			next: "0.1.0",
		},
		{
			name: "explicit bump",
			setup: func(r *testRepo, o *PreflightOptions) {
				r.git("tag", "-a", "-m", "v0.1.0", "v0.1.0")
				o.Bump = version.Major
			},
			release:  true,
			next:     "1.0.0",
			registry: true,
		},
		{
			name: "monorepo prefix and paths",
			setup: func(r *testRepo, o *PreflightOptions) {
				r.git("tag", "-a", "-m", "svc/v0.1.0", "svc/v0.1.0")
				r.commit("fix: elsewhere")
				o.Prefix = "svc/v"
				o.Paths = []string{"svc"}
			},
			next: "0.1.0",
		},
		{
			name: "prerelease with an identifier",
			setup: func(r *testRepo, o *PreflightOptions) {
				r.git("tag", "-a", "-m", "v0.1.0", "v0.1.0")
				o.Bump = version.Prerelease
				o.PreID = "beta"
			},
			release:  true,
			next:     "0.1.1-beta.1",
			registry: true,
		},
		{
			name: "dirty tree",
			setup: func(r *testRepo, o *PreflightOptions) {
				r.write("stray.go", "package x\n")
			},
			wantErrs: []string{"stray.go"},
			next:     "0.1.0",
			release:  true,
			registry: true,
		},
		{
			name: "detached head refused",
			setup: func(r *testRepo, o *PreflightOptions) {
				r.git("checkout", "-q", "--detach")
			},
			wantErrs: []string{"git switch"},
			next:     "0.1.0",
			release:  true,
			registry: true,
		},
		{
			name: "detached head allowed",
			setup: func(r *testRepo, o *PreflightOptions) {
				r.git("checkout", "-q", "--detach")
				o.AllowDetached = true
			},
			next:     "0.1.0",
			release:  true,
			registry: true,
		},
		{
			name: "malformed VERSION",
			setup: func(r *testRepo, o *PreflightOptions) {
				r.write("VERSION", "v1.2\n")
				r.git("commit", "-q", "-am", "chore: break it")
			},
			wantErrs: []string{"VERSION holds"},
			registry: true,
		},
		{
			name: "version going backwards",
			setup: func(r *testRepo, o *PreflightOptions) {
				r.git("tag", "-a", "-m", "v0.3.0", "v0.3.0")
				r.commit("feat: x")
			},
			wantErrs: []string{"0.3.0"},
			registry: true,
		},
		{
			name: "tag already exists",
			setup: func(r *testRepo, o *PreflightOptions) {
				// A tag of a tree is no release tag, so only the final
				// existence check can catch the name.
				r.git("tag", "v0.1.0", "HEAD^{tree}")
			},
			wantErrs: []string{"already exists"},
			registry: true,
		},
		{
			name: "no identity",
			setup: func(r *testRepo, o *PreflightOptions) {
				r.git("config", "--unset", "user.name")
				r.git("config", "--unset", "user.email")
			},
			wantErrs: []string{"user.name"},
			next:     "0.1.0",
			release:  true,
			registry: true,
		},
		{
			name: "registry unreachable",
			setup: func(r *testRepo, o *PreflightOptions) {
				o.CheckRegistry = func(context.Context) error { return errRegistry }
			},
			wantErrs: []string{"connection refused"},
			next:     "0.1.0",
			release:  true,
		},
		{
			name: "every problem at once",
			setup: func(r *testRepo, o *PreflightOptions) {
				r.write("stray.go", "package x\n")
				r.git("checkout", "-q", "--detach")
				o.CheckRegistry = func(context.Context) error { return errRegistry }
			},
			wantErrs: []string{"stray.go", "detached", "connection refused"},
			next:     "0.1.0",
			release:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t, "0.1.0")
			called := false
			o := PreflightOptions{Dir: r.dir, CheckRegistry: func(context.Context) error { called = true; return nil }}
			if tt.setup != nil {
				tt.setup(r, &o)
			}
			before := r.state()
			d, err := Preflight(t.Context(), o)
			if after := r.state(); after != before {
				t.Errorf("Preflight changed the repository: %+v, want %+v", after, before)
			}
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("Preflight() = %v, want no error", err)
				}
			} else {
				var pe *PreflightError
				if !errors.As(err, &pe) {
					t.Fatalf("Preflight() = %v, want a *PreflightError", err)
				}
				if len(pe.Problems) != len(tt.wantErrs) {
					t.Errorf("Preflight() found %d problems (%v), want %d", len(pe.Problems), err, len(tt.wantErrs))
				}
				for _, w := range tt.wantErrs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Preflight() = %q, want it to mention %q", err, w)
					}
				}
			}
			if d.Release != tt.release {
				t.Errorf("Preflight().Release = %v, want %v (%s)", d.Release, tt.release, d.Reason)
			}
			if tt.next != "" && (d.Next == nil || d.Next.String() != tt.next) {
				t.Errorf("Preflight().Next = %v, want %s", d.Next, tt.next)
			}
			if tt.setup != nil && strings.Contains(strings.Join(tt.wantErrs, " "), "connection refused") && !errors.Is(err, errRegistry) {
				t.Errorf("Preflight() = %v, want it to wrap the registry error", err)
			}
			if testing.Verbose() && err != nil {
				t.Logf("Preflight() error:\n%v", err)
			}
			if called != tt.registry {
				t.Errorf("registry check called = %v, want %v", called, tt.registry)
			}
		})
	}
}

func TestPreflightShallow(t *testing.T) {
	r := newRepo(t, "0.1.0")
	r.commit("feat: one")
	r.commit("feat: two")
	clone := filepath.Join(t.TempDir(), "shallow")
	r.git("clone", "-q", "--depth=1", "file://"+r.dir, clone)
	c := &testRepo{t: t, dir: clone}
	c.git("config", "user.name", "Test User")
	c.git("config", "user.email", "test@example.com")
	_, err := Preflight(t.Context(), PreflightOptions{Dir: clone})
	if err == nil || !strings.Contains(err.Error(), "git fetch --unshallow --tags") {
		t.Errorf("Preflight(shallow clone) = %v, want the unshallow fix", err)
	}
}

func TestPreflightOptions(t *testing.T) {
	r := newRepo(t, "0.1.0")
	tests := []struct {
		name string
		o    PreflightOptions
		want string
	}{
		{name: "no dir", o: PreflightOptions{}, want: "no directory"},
		{name: "dist outside", o: PreflightOptions{Dir: r.dir, Dist: filepath.Dir(r.dir)}, want: "outside"},
		{name: "dist is root", o: PreflightOptions{Dir: r.dir, Dist: "."}, want: "module root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Preflight(t.Context(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Preflight(%+v) = %v, want an error mentioning %q", tt.o, err, tt.want)
			}
		})
	}
	// An absolute dist inside the module is accepted and ignored by the
	// clean check.
	if err := os.MkdirAll(filepath.Join(r.dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.write("out/x", "x")
	if _, err := Preflight(t.Context(), PreflightOptions{Dir: r.dir, Dist: filepath.Join(r.dir, "out")}); err != nil {
		t.Errorf("Preflight(absolute dist) = %v, want no error", err)
	}
}

func TestPreflightErrorSingle(t *testing.T) {
	e := &PreflightError{Problems: []error{errors.New("boom")}}
	if got, want := e.Error(), "release preflight failed: boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
