package release

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/vulntest"
	"github.com/hoistdev/hoist/vuln"
)

// vulnRepo is a service that requires vulnlib at version and calls fn,
// resolved from the on-disk proxy that env points at.
func vulnRepo(t *testing.T, env []string, version, fn string) *testRepo {
	t.Helper()
	isolateGit(t)
	r := &testRepo{t: t, dir: t.TempDir()}
	r.write("go.mod", "module example.com/acme/svc\n\ngo 1.26\n\nrequire "+vulntest.Module+" "+version+"\n")
	r.write("cmd/svc/main.go", vulntest.MainCalling(fn))
	r.write("VERSION", "1.4.0\n")
	r.write(".gitignore", "/dist/\n")
	cmd := exec.CommandContext(t.Context(), "go", "mod", "tidy")
	cmd.Dir, cmd.Env = r.dir, append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	r.git("init", "-q", "-b", "main")
	r.git("config", "user.name", "t")
	r.git("config", "user.email", "t@example.com")
	r.git("add", ".")
	r.gitAt(svcDate, "commit", "-qm", "feat: first")
	return r
}

// TestVulnGate releases through the real vulnerability gate against an
// offline database: a reachable vulnerable function stops the release
// before anything is built or changed, a vulnerable package that is only
// imported passes with a notice, and the fixed version passes; the plan
// names the gate.
func TestVulnGate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs govulncheck and releases")
	}
	env := vulntest.Env(t, vulntest.Proxy(t, t.TempDir()))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	db := vulntest.DB(t, t.TempDir())
	tests := []struct {
		name, version, fn string
		pass              bool
		say               string
	}{
		{"reachable", vulntest.Vulnerable, "Bad", false, "call path: example.com/acme/svc/cmd/svc.main"},
		{"imported only", vulntest.Vulnerable, "Good", true, "notice (imported, not reachable): " + vulntest.ID},
		{"fixed", vulntest.Fixed, "Bad", true, "0 reachable, 0 accepted, 0 only imported or required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := vulnRepo(t, env, tt.version, tt.fn)
			rl := &releaser{t: t, r: r, env: map[string]string{"REGISTRY": memRegistry(t) + "/acme", "PLATFORMS": "linux/amd64", "HOIST_VULN_DB": db}}
			p := rl.plan(ModeRelease, nil)
			if !planSays(p, "vuln", "govulncheck at symbol level over ./cmd/svc for linux/amd64 against "+db) {
				t.Errorf("the plan does not describe the gate: %+v", p.Steps)
			}
			w, out := open(t, r.dir, rl.env, nil)
			gates := okGates
			gates.Vuln = w.VulnCheck
			before := r.state()
			err := w.Release(t.Context(), ModeRelease, gates)
			if (err == nil) != tt.pass {
				t.Fatalf("release = %v, want pass %v\n%s", err, tt.pass, out)
			}
			if !strings.Contains(out.String(), tt.say) {
				t.Errorf("the gate's output lacks %q:\n%s", tt.say, out)
			}
			if tt.pass {
				return
			}
			if !errors.Is(err, vuln.ErrVulnerable) || !strings.Contains(err.Error(), "Vuln.Allow") {
				t.Errorf("release error = %v, want ErrVulnerable naming Vuln.Allow", err)
			}
			if !strings.Contains(out.String(), "fix: go get "+vulntest.Module+"@"+vulntest.Fixed) {
				t.Errorf("the output does not give the fix:\n%s", out)
			}
			if after := r.state(); after != before {
				t.Errorf("the refused release changed the repository: %+v -> %+v", before, after)
			}
			if _, err := os.Stat(filepath.Join(r.dir, "dist", "svc_linux_amd64")); err == nil {
				t.Error("the refused release built binaries")
			}
		})
	}
}

// TestVulnGateOffAndUnreachable: HOIST_VULN=off is recorded as a skip in
// the plan and release.json; an unreadable database fails the gate with
// both ways out named.
func TestVulnGateOffAndUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("a release")
	}
	r := svcRepo(t)
	rl := &releaser{t: t, r: r, env: map[string]string{"REGISTRY": memRegistry(t) + "/acme", "PLATFORMS": "linux/amd64", "HOIST_VULN_DB": "http://127.0.0.1:1"}}
	w, out := open(t, r.dir, rl.env, nil)
	gates := okGates
	gates.Vuln = w.VulnCheck
	err := w.Release(t.Context(), ModeRelease, gates)
	if !errors.Is(err, vuln.ErrDBUnreachable) || !strings.Contains(err.Error(), "HOIST_VULN_DB=module") || !strings.Contains(err.Error(), "HOIST_VULN=off") {
		t.Fatalf("release with an unreachable database = %v, want ErrDBUnreachable naming HOIST_VULN_DB and HOIST_VULN=off\n%s", err, out)
	}
	p := rl.plan(ModeRelease, map[string]string{"HOIST_VULN": "off"})
	if !planSays(p, "vuln", "skipped on purpose: HOIST_VULN=off") {
		t.Errorf("the plan does not record the skip: %+v", p.Steps)
	}
	w, out = open(t, r.dir, rl.with(map[string]string{"HOIST_VULN": "off"}), nil)
	gates.Vuln = w.VulnCheck
	if err := w.Release(t.Context(), ModeRelease, gates); err != nil {
		t.Fatalf("release with HOIST_VULN=off: %v\n%s", err, out)
	}
	m := rl.manifest()
	samePlanAndRun(t, p, m)
}

// planSays reports whether the plan's stage name has a reason containing
// want.
func planSays(p *Plan, name, want string) bool {
	for _, s := range p.Steps {
		if s.Name == name && strings.Contains(s.Reason, want) {
			return true
		}
	}
	return false
}
