package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoistdev/hoist/registry"
	"github.com/hoistdev/hoist/sign"
)

// interruptMagefile moves floating tags too, so that a release can be cut
// between the floating tags and the version tag.
const interruptMagefile = `//go:build mage

package main

import (
	"github.com/hoistdev/hoist/config"
	//mage:import
	"github.com/hoistdev/hoist/targets"
	//mage:import
	_ "github.com/hoistdev/hoist/targets/release"
)

func init() {
	targets.Configure(func(c *config.Config) { c.Publish.Latest, c.Publish.MinorTag = true, true })
}
`

// interruptEnv builds the killpoints in (the hoisttest build tag) and keeps
// the release small.
var interruptEnv = []string{"GOFLAGS=-tags=hoisttest", "PLATFORMS=linux/amd64", "COVERAGE_MIN=-1", "HOIST_VULN=off"}

// releaseState is what an interrupted release must end in once rerun: the
// same as a release nobody interrupted.
type releaseState struct {
	Version  string
	Head     string
	Branch   string
	Tags     string // each tag with the commit it points at
	Status   string
	Registry map[string]string // image tag -> digest in the embedded registry
	Manifest string            // release.json without the stage times
	Journal  bool
}

// prepared is a consumer that released 0.1.0 and has a feat commit since:
// the next release is 0.2.0. Each test copies it.
type prepared struct {
	c    *consumer
	data string
}

func prepare(t *testing.T) *prepared {
	t.Helper()
	c := newConsumer(t, map[string]string{
		"go.mod":                "module example.com/acme/svc\n\ngo 1.26\n",
		"VERSION":               "0.1.0\n",
		".gitignore":            "/dist/\n",
		"cmd/svc/main.go":       stampMain,
		"magefiles/magefile.go": interruptMagefile,
	})
	c.mustMage(interruptEnv, "release")
	writeTree(t, c.dir, map[string]string{"cmd/svc/more.go": "package main\n"})
	c.run(".", "git", "add", ".")
	c.run(".", "git", "commit", "-qm", "feat: more")
	return &prepared{c: c, data: c.data}
}

// copy gives a test its own checkout and registry storage, in the state
// prepare left, sharing the compiled magefile.
func (p *prepared) copy(t *testing.T) *consumer {
	t.Helper()
	root := t.TempDir()
	dir, data := filepath.Join(root, "repo"), filepath.Join(root, "registry")
	for _, c := range [][2]string{{p.c.dir, dir}, {p.data, data}} {
		if out, err := exec.Command("cp", "-a", c[0], c[1]).CombinedOutput(); err != nil {
			t.Fatalf("cp -a %s %s: %v\n%s", c[0], c[1], err, out)
		}
	}
	env := slices.Clone(p.c.env)
	for i, kv := range env {
		if strings.HasPrefix(kv, "HOIST_REGISTRY_DATA=") {
			env[i] = "HOIST_REGISTRY_DATA=" + data
		}
	}
	return &consumer{t: t, dir: dir, data: data, env: env}
}

func (c *consumer) state() releaseState {
	c.t.Helper()
	v, _ := os.ReadFile(c.path("VERSION"))
	st := releaseState{
		Version:  string(v),
		Head:     strings.TrimSpace(c.run(".", "git", "rev-parse", "HEAD")),
		Branch:   strings.TrimSpace(c.run(".", "git", "rev-parse", "--abbrev-ref", "HEAD")),
		Tags:     c.run(".", "git", "for-each-ref", "--format=%(refname) %(*objectname)", "refs/tags"),
		Status:   c.run(".", "git", "status", "--porcelain"),
		Registry: map[string]string{},
	}
	for _, tag := range []string{"0.1.0", "0.1", "0.2.0", "0.2", "latest"} {
		link, err := os.ReadFile(filepath.Join(c.data, "docker", "registry", "v2", "repositories", "svc", "_manifests", "tags", tag, "current", "link"))
		if err == nil && registry.Holds(c.data, "svc", tag, strings.TrimSpace(string(link))) {
			st.Registry[tag] = strings.TrimSpace(string(link))
		}
	}
	if _, err := os.Stat(c.path("dist/release.json")); err == nil {
		m := readManifest(c.t, c.path("dist/release.json"))
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s\n", m.Version, m.Tag, m.Commit)
		for _, a := range m.Artifacts {
			fmt.Fprintf(&b, "%s %s %s %s\n", a.Type, a.Path, a.Platform, a.SHA256)
		}
		for _, i := range m.Images {
			fmt.Fprintf(&b, "%s %s\n", i.Ref, i.Digest)
		}
		for _, r := range m.Referrers {
			fmt.Fprintf(&b, "referrer %s %s %s %s\n", r.Ref, r.Kind, r.Subject, r.Platform)
			// On the embedded registry the referrers tag lists them.
			tag := strings.Replace(r.Subject, ":", "-", 1)
			if link, err := os.ReadFile(filepath.Join(c.data, "docker", "registry", "v2", "repositories", "svc", "_manifests", "tags", tag, "current", "link")); err == nil {
				st.Registry[tag] = strings.TrimSpace(string(link))
			}
		}
		for _, s := range m.Stages {
			fmt.Fprintf(&b, "%s %s\n", s.Name, s.Status)
		}
		st.Manifest = b.String()
	}
	_, err := os.Stat(c.path(".git/hoist/release-journal.json"))
	st.Journal = err == nil
	return st
}

// TestKilledReleaseResumes kills the real CLI with SIGKILL at every stage
// boundary and inside the tag stage's git steps, then reruns the release:
// the end state must be the one an uninterrupted release reaches.
func TestKilledReleaseResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs some thirty releases")
	}
	p := prepare(t)
	ref := p.copy(t)
	ref.mustMage(interruptEnv, "release")
	want := ref.state()
	if want.Version != "0.2.0\n" || want.Registry["0.2.0"] == "" || want.Registry["latest"] != want.Registry["0.2.0"] || want.Journal {
		t.Fatalf("the uninterrupted release ended in %+v, want 0.2.0 everywhere and no journal", want)
	}
	var points []string
	for _, stage := range []string{"preflight", "tidy", "vet", "test", "version", "build", "package", "changelog", "image", "size", "push", "sign"} {
		points = append(points, "after "+stage)
	}
	points = append(points, "finish: branch moved", "finish: VERSION written", "finish: tagged", "after tag",
		"image tags: before 0.2", "image tags: before 0.2.0", "after image tags", "after manifest")
	// From the tag stage on, the rerun finishes the interrupted release.
	finishes := map[string]bool{}
	for _, p := range points[len(points)-8 : len(points)-1] {
		finishes[p] = true
	}
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			t.Parallel() // each has its own checkout and registry storage
			c := p.copy(t)
			out, err := c.mage(append(slices.Clone(interruptEnv), "HOIST_TEST_KILL="+point), "release")
			if err == nil {
				t.Fatalf("release with a kill at %q succeeded:\n%s", point, out)
			}
			out, err = c.mage(interruptEnv, "release")
			if err != nil {
				t.Fatalf("rerun after a kill at %q: %v\n%s", point, err, out)
			}
			if diff := cmp.Diff(want, c.state()); diff != "" {
				t.Errorf("after a kill at %q and a rerun (-uninterrupted +resumed):\n%s\n%s", point, diff, out)
			}
			if finishes[point] && !strings.Contains(out, "finishing it with commit") {
				t.Errorf("rerun after a kill at %q does not say it finished the release:\n%s", point, out)
			}
		})
	}
}

// TestKilledSignedReleaseResumes kills a signed release around its sign
// stage and reruns it: signatures are deterministic, so the rerun ends with
// exactly the referrers (and referrers tags) of a release nobody killed,
// none of them twice.
func TestKilledSignedReleaseResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four signed releases")
	}
	key, _, err := sign.GenerateKeyPair([]byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "cosign.key")
	writeTree(t, filepath.Dir(keyFile), map[string]string{"cosign.key": string(key)})
	env := append(slices.Clone(interruptEnv), "COSIGN_KEY="+keyFile, "COSIGN_PASSWORD="+keyPassword)
	p := prepare(t)
	ref := p.copy(t)
	ref.mustMage(env, "release")
	want := ref.state()
	if n := strings.Count(want.Manifest, "referrer "); n != 6 {
		t.Fatalf("the uninterrupted signed release lists %d referrers, want 6:\n%s", n, want.Manifest)
	}
	for _, point := range []string{"after push", "after sign", "finish: tagged"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			c := p.copy(t)
			if out, err := c.mage(append(slices.Clone(env), "HOIST_TEST_KILL="+point), "release"); err == nil {
				t.Fatalf("release with a kill at %q succeeded:\n%s", point, out)
			}
			out, err := c.mage(env, "release")
			if err != nil {
				t.Fatalf("rerun after a kill at %q: %v\n%s", point, err, out)
			}
			if diff := cmp.Diff(want, c.state()); diff != "" {
				t.Errorf("after a kill at %q and a rerun (-uninterrupted +resumed):\n%s\n%s", point, diff, out)
			}
		})
	}
}

// signalAt runs release through `go tool mage` (hoist's launcher) paused at
// point, sends sig to the go command at the top of the tree, and returns
// the exit status and the output.
func signalAt(t *testing.T, c *consumer, point string, sig syscall.Signal) (int, string) {
	t.Helper()
	pause := filepath.Join(t.TempDir(), "paused")
	cmd := exec.CommandContext(t.Context(), "go", "tool", "-C", "magefiles", "mage", "-w", "..", "release")
	cmd.Dir = c.dir
	cmd.Env = append(slices.Clone(c.env), append(slices.Clone(interruptEnv), "HOIST_TEST_PAUSE="+point, "HOIST_TEST_PAUSE_FILE="+pause)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(pause); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the release never reached %q:\n%s", point, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestSignalledReleaseRollsBack sends SIGTERM and SIGINT to `go tool mage
// release`, as a CI runner or a user does: the release rolls back and
// exits 143 or 130, and the repository and the registry are as they were.
func TestSignalledReleaseRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("runs releases")
	}
	p := prepare(t)
	for _, tt := range []struct {
		point string
		sig   syscall.Signal
		code  int
	}{
		{"after push", syscall.SIGTERM, 143},
		{"finish: branch moved", syscall.SIGTERM, 143},
		{"after tag", syscall.SIGINT, 130},
		{"after build", syscall.SIGINT, 130},
	} {
		t.Run(fmt.Sprintf("%v at %s", tt.sig, tt.point), func(t *testing.T) {
			c := p.copy(t)
			before := c.state()
			code, out := signalAt(t, c, tt.point, tt.sig)
			if code != tt.code {
				t.Errorf("exit status after %v at %q = %d, want %d:\n%s", tt.sig, tt.point, code, tt.code, out)
			}
			if diff := cmp.Diff(before, c.state()); diff != "" {
				t.Errorf("state after %v at %q (-before +after):\n%s\n%s", tt.sig, tt.point, diff, out)
			}
		})
	}
	t.Run("a second release while one runs", func(t *testing.T) {
		c := p.copy(t)
		pause := filepath.Join(t.TempDir(), "paused")
		first := exec.CommandContext(t.Context(), "go", "tool", "-C", "magefiles", "mage", "-w", "..", "release")
		first.Dir = c.dir
		first.Env = append(slices.Clone(c.env), append(slices.Clone(interruptEnv), "HOIST_TEST_PAUSE=after build", "HOIST_TEST_PAUSE_FILE="+pause)...)
		if err := first.Start(); err != nil {
			t.Fatal(err)
		}
		defer first.Wait()
		for i := 0; ; i++ {
			if _, err := os.Stat(pause); err == nil {
				break
			}
			if i > 6000 {
				first.Process.Kill()
				t.Fatal("the first release never paused")
			}
			time.Sleep(20 * time.Millisecond)
		}
		out, err := c.mage(interruptEnv, "release")
		build, berr := c.mage(interruptEnv, "go:build")
		first.Process.Signal(syscall.SIGTERM)
		if err == nil || !strings.Contains(out, "another hoist release (pid") {
			t.Errorf("release while another runs = %v, want a refusal naming it:\n%s", err, out)
		}
		if berr == nil || !strings.Contains(build, "another hoist run (pid") || !strings.Contains(build, "is using dist") {
			t.Errorf("go:build while a release writes dist/ = %v, want a refusal naming it:\n%s", berr, build)
		}
	})
}

// startPaused starts `go tool mage args` in c paused at point and waits
// until it is there; it returns the command and the pause file (touch
// <file>.continue to let it go on).
func startPaused(t *testing.T, c *consumer, point string, out *bytes.Buffer, args ...string) (*exec.Cmd, string) {
	t.Helper()
	pause := filepath.Join(t.TempDir(), "paused")
	cmd := exec.CommandContext(t.Context(), "go", append([]string{"tool", "-C", "magefiles", "mage", "-w", ".."}, args...)...)
	cmd.Dir = c.dir
	cmd.Env = append(slices.Clone(c.env), append(slices.Clone(interruptEnv), "HOIST_TEST_PAUSE="+point, "HOIST_TEST_PAUSE_FILE="+pause)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if _, err := os.Stat(pause); err == nil {
			return cmd, pause
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%v never reached %q:\n%s", args, point, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// magefileBinary is the pid of the compiled magefile below a go tool mage
// process: the process that holds the lease and the registry.
func magefileBinary(t *testing.T, top int) int {
	t.Helper()
	pid := top
	for range 2 { // go -> mage launcher -> magefile binary
		out, err := exec.Command("pgrep", "-P", fmt.Sprint(pid)).Output()
		if err != nil {
			t.Skipf("pgrep: %v", err)
		}
		f := strings.Fields(string(out))
		if len(f) == 0 {
			t.Fatalf("process %d has no child", pid)
		}
		pid = atoi(t, f[0])
	}
	return pid
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEmbeddedRegistryShared runs two snapshots of two repositories that
// share one embedded registry, forced to overlap: the first starts the
// registry, the second finds it, is frozen with SIGSTOP in the middle of
// its push while the first finishes, and is thawed. The first must wait
// for it rather than stop the registry underneath, and both succeed.
func TestEmbeddedRegistryShared(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two snapshots")
	}
	p := prepare(t)
	a, b := p.copy(t), p.copy(t)
	for i, kv := range b.env {
		if strings.HasPrefix(kv, "HOIST_REGISTRY_DATA=") {
			b.env[i] = "HOIST_REGISTRY_DATA=" + a.data
		}
	}
	var outA, outB bytes.Buffer
	cmdA, pauseA := startPaused(t, a, "push: registry ready", &outA, "release:snapshot")
	cmdB, pauseB := startPaused(t, b, "push: registry ready", &outB, "release:snapshot")
	binB := magefileBinary(t, cmdB.Process.Pid)
	if err := syscall.Kill(binB, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pauseB+".continue", nil, 0o644)
	os.WriteFile(pauseA+".continue", nil, 0o644)
	doneA := make(chan error, 1)
	go func() { doneA <- cmdA.Wait() }()
	select {
	case err := <-doneA:
		syscall.Kill(binB, syscall.SIGCONT)
		cmdB.Wait()
		t.Fatalf("the first snapshot ended (%v) while the second was frozen in its push:\n%s", err, outA.String())
	case <-time.After(3 * time.Second):
	}
	syscall.Kill(binB, syscall.SIGCONT)
	if err := cmdB.Wait(); err != nil {
		t.Errorf("the second snapshot, thawed, failed: %v\n%s", err, outB.String())
	}
	select {
	case err := <-doneA:
		if err != nil {
			t.Errorf("the first snapshot failed: %v\n%s", err, outA.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("the first snapshot never finished after the second did")
	}
	if !strings.Contains(outA.String(), "waiting for 1 other run still pushing") {
		t.Errorf("the first snapshot did not say it waited:\n%s", outA.String())
	}
	if !strings.Contains(outB.String(), "pushing to the embedded registry at ") {
		t.Errorf("second snapshot output:\n%s", outB.String())
	}
}

// TestPushKeepsReleasedTags pushes a commit past a release through the
// CLI: it goes out as a snapshot version, and the released tags stay.
func TestPushKeepsReleasedTags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and pushes")
	}
	p := prepare(t)
	c := p.copy(t)
	before := c.state().Registry
	out := c.mustMage(append(slices.Clone(interruptEnv), "HOIST_FLOATING_TAGS=1"), "image:push")
	if !strings.Contains(out, "HEAD is past v0.1.0: pushing this build as 0.2.0-snapshot.") {
		t.Errorf("image:push past the release does not say it pushes a snapshot:\n%s", out)
	}
	if after := c.state().Registry; !maps.Equal(before, after) {
		t.Errorf("image:push past the release moved registry tags: %v -> %v", before, after)
	}
}
