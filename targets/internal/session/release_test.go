package session

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/registry"
	"github.com/hoistdev/hoist/release"
	"github.com/hoistdev/hoist/version"
)

// registryBin is hoist-registry built once for these tests, standing in for
// `go tool hoist-registry`, which a throwaway module does not declare.
var registryBin string

func TestMain(m *testing.M) {
	if os.Getenv("HOIST_TEST_RELEASE_DIR") != "" {
		os.Exit(releaseProcess())
	}
	dir, err := os.MkdirTemp("", "hoist-session-test")
	if err != nil {
		panic(err)
	}
	registryBin = filepath.Join(dir, "hoist-registry")
	if out, err := exec.Command("go", "build", "-o", registryBin, registry.ToolPackage).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build hoist-registry: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// releaseProcess runs one release in a fresh process, as `go tool mage
// release` would: mage remembers which dependencies ran, so each release
// needs a process of its own. HOIST_TEST_FAIL names a stage to fail.
func releaseProcess() int {
	dir := os.Getenv("HOIST_TEST_RELEASE_DIR")
	fail := os.Getenv("HOIST_TEST_FAIL")
	Configure(func(c *config.Config) {
		c.Dir = dir
		c.NoRace = true
		c.Publish.Latest, c.Publish.MinorTag = true, true
	})
	s, err := New(os.Getenv, os.Stdout)
	if err != nil {
		fmt.Println("session:", err)
		return 3
	}
	Use(s)
	gate := func(stage string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			if fail == stage {
				return fmt.Errorf("injected failure in %s", stage)
			}
			return nil
		}
	}
	steps := Steps{Tidy: gate("tidy"), Vet: gate("vet"), Test: gate("test")}
	// Later stages fail after doing their work, to prove the rollback
	// undoes real side effects: binaries, pushes, the git tag, registry tags.
	afterStep = func(name string) error {
		if name == fail {
			return fmt.Errorf("injected failure in %s", name)
		}
		return nil
	}
	err = func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%v", p)
			}
		}()
		return s.RunRelease(context.Background(), os.Getenv("HOIST_TEST_SNAPSHOT") == "1", steps)
	}()
	if err != nil {
		fmt.Println("release failed:", err)
		return 1
	}
	return 0
}

type repoState struct{ head, tags, status, version string }

func stateOf(t *testing.T, dir string) repoState {
	t.Helper()
	out := func(args ...string) string {
		b, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return string(b)
	}
	v, _ := os.ReadFile(filepath.Join(dir, "VERSION"))
	return repoState{head: out("rev-parse", "HEAD"), tags: out("tag", "-l"), status: out("status", "--porcelain"), version: string(v)}
}

func commit(t *testing.T, dir, msg string) {
	t.Helper()
	f := filepath.Join(dir, "cmd", "svc", "extra.go")
	old, _ := os.ReadFile(f)
	if len(old) == 0 {
		old = []byte("package main\n")
	}
	os.WriteFile(f, append(old, []byte("// "+msg+"\n")...), 0o644)
	for _, args := range [][]string{{"add", "."}, {"commit", "-qm", msg}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// TestReleaseScenarios runs whole releases in child processes: the first
// release, nothing to release, a failure injected at every stage in turn
// (the repository must come back exactly, and the registry must hold no
// tag for the failed version), then the release that succeeds, and a
// snapshot.
func TestReleaseScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a dozen releases")
	}
	dir := newRepo(t)
	data := t.TempDir()
	run := func(env ...string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "HOIST_TEST_RELEASE_DIR="+dir, "HOIST_REGISTRY_DATA="+data,
			"HOIST_REGISTRY_COMMAND="+registryBin, "PLATFORMS=linux/amd64,windows/amd64", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run()
	if err != nil {
		t.Fatalf("first release: %v\n%s", err, out)
	}
	if st := stateOf(t, dir); st.tags != "v1.4.0\n" || !strings.Contains(out, "tagged v1.4.0") {
		t.Fatalf("first release tags = %q, want v1.4.0\n%s", st.tags, out)
	}
	if !registry.Holds(data, "svc", "1.4.0", digestOf(t, dir)) {
		t.Errorf("the embedded registry does not hold svc:1.4.0")
	}

	before := stateOf(t, dir)
	out, err = run()
	if err != nil || !strings.Contains(out, "nothing to release") || stateOf(t, dir) != before {
		t.Fatalf("rerun with no commits = %v, want a no-op exit 0\n%s", err, out)
	}

	first := digestOf(t, dir)
	commit(t, dir, "feat: more")
	before = stateOf(t, dir)
	for _, stage := range []string{"tidy", "vet", "test", "version", "build", "package", "image", "push", "tag", "image tags", "manifest"} {
		t.Run("fail "+stage, func(t *testing.T) {
			out, err := run("HOIST_TEST_FAIL=" + stage)
			if err == nil || !strings.Contains(out, "injected failure in "+stage) {
				t.Fatalf("release with %s failing = %v, want a failure\n%s", stage, err, out)
			}
			if got := stateOf(t, dir); got != before {
				t.Errorf("repo after %s failed = %+v, want %+v", stage, got, before)
			}
			if tagged(data, "svc", "1.5.0") {
				t.Errorf("registry has svc:1.5.0 after %s failed", stage)
			}
			if tagged(data, "svc", "1.5") {
				t.Errorf("registry has svc:1.5 after %s failed", stage)
			}
			if !registry.Holds(data, "svc", "latest", first) {
				t.Errorf("svc:latest no longer points at the 1.4.0 image after %s failed", stage)
			}
		})
	}
	t.Run("tag blocked", func(t *testing.T) {
		// Block the tag: a ref lock file makes git refuse to create it.
		lock := filepath.Join(dir, ".git", "refs", "tags", "v1.5.0.lock")
		os.MkdirAll(filepath.Dir(lock), 0o755)
		os.WriteFile(lock, nil, 0o644)
		out, err := run()
		os.Remove(lock)
		if err == nil {
			t.Fatalf("release with the tag blocked succeeded\n%s", out)
		}
		if got := stateOf(t, dir); got != before {
			t.Errorf("repo after the tag failed = %+v, want %+v", got, before)
		}
		if tagged(data, "svc", "1.5.0") {
			t.Error("registry has svc:1.5.0 after the git tag failed")
		}
	})

	out, err = run()
	if err != nil {
		t.Fatalf("release after the failures: %v\n%s", err, out)
	}
	st := stateOf(t, dir)
	if st.tags != "v1.4.0\nv1.5.0\n" || st.version != "1.5.0\n" || st.status != "" {
		t.Errorf("after the feat release: %+v, want v1.5.0 tagged, VERSION 1.5.0, clean tree", st)
	}
	m, err := release.ReadManifest(filepath.Join(dir, "dist", "release.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "1.5.0" || m.Tag != "v1.5.0" || m.PreviousTag != "v1.4.0" || len(m.Images) != 4 || len(m.Stages) != 11 {
		t.Errorf("release.json = version %s tag %s prev %s, %d images, %d stages", m.Version, m.Tag, m.PreviousTag, len(m.Images), len(m.Stages))
	}
	released := map[string]string{}
	for _, a := range m.Artifacts {
		if a.SHA256 == "" && a.Type != "image-layout" {
			t.Errorf("release.json artifact %s %s has no sha256", a.Type, a.Path)
		}
		released[a.Path] = a.SHA256
	}

	// The tag names the commit the binaries were stamped with: rebuilding
	// the tagged checkout gives the released bytes.
	rebuild, _ := newSession(t, dir, map[string]string{"PLATFORMS": "linux/amd64,windows/amd64", "HOIST_FORCE": "1"}, nil)
	if err := rebuild.BuildBinaries(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"dist/svc_linux_amd64/svc", "dist/svc_windows_amd64/svc.exe"} {
		sum, err := fileSHA256(filepath.Join(dir, path))
		if err != nil || sum != released[path] {
			t.Errorf("rebuilt %s at the tag = %s, released %s", path, sum, released[path])
		}
	}

	// A snapshot on a dirty tree changes nothing in git.
	os.WriteFile(filepath.Join(dir, "scratch.txt"), []byte("wip"), 0o644)
	before = stateOf(t, dir)
	out, err = run("HOIST_TEST_SNAPSHOT=1")
	if err != nil {
		t.Fatalf("snapshot: %v\n%s", err, out)
	}
	if stateOf(t, dir) != before || !strings.Contains(out, "-snapshot.") {
		t.Errorf("snapshot changed the repo or used no snapshot version\n%s", out)
	}
	m, _ = release.ReadManifest(filepath.Join(dir, "dist", "release.json"))
	if !m.Snapshot || m.Tag != "" || !strings.HasPrefix(m.Version, "1.5.1-snapshot.") {
		t.Errorf("snapshot release.json = %+v", m)
	}
}

func digestOf(t *testing.T, dir string) string {
	t.Helper()
	m, err := release.ReadManifest(filepath.Join(dir, "dist", "release.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range m.Images {
		return i.Digest
	}
	t.Fatal("release.json lists no image")
	return ""
}

// tagged reports whether the registry data dir resolves tag: distribution
// keeps a deleted tag's directory but removes its current link.
func tagged(data, repo, tag string) bool {
	_, err := os.Stat(filepath.Join(data, "docker", "registry", "v2", "repositories", repo, "_manifests", "tags", tag, "current", "link"))
	return err == nil
}

// TestStepsOutsideRelease checks the release steps refuse to run alone.
func TestStepsOutsideRelease(t *testing.T) {
	s, _ := newSession(t, newRepo(t), nil, nil)
	Use(s)
	for name, step := range map[string]func(context.Context) error{"preflight": preflightStep, "bump": bumpStep, "package": packageStep, "tag": tagStep} {
		if err := step(context.Background()); err == nil || !strings.Contains(err.Error(), "only runs inside") {
			t.Errorf("%s outside a release = %v", name, err)
		}
	}
	if err := s.SetBump("huge"); err == nil {
		t.Error("SetBump(huge) = nil error")
	}
	if err := s.SetBump("minor"); err != nil || s.Getenv("BUMP") != "minor" {
		t.Errorf("SetBump(minor) = %v, BUMP = %q", err, s.Getenv("BUMP"))
	}
}

// TestPlanAndVerify prints both plan forms and verifies reproducibility.
func TestPlanAndVerify(t *testing.T) {
	dir := newRepo(t)
	s, out := newSession(t, dir, map[string]string{"PLATFORMS": "linux/amd64,windows/amd64"}, nil)
	ctx := context.Background()
	if err := s.PrintPlan(ctx, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "v1.4.0") || !strings.Contains(out.String(), "dist/svc_1.4.0_linux_amd64.tar.gz") {
		t.Errorf("plan text lacks the tag or an archive:\n%s", out)
	}
	out.Reset()
	s.Getenv = func(k string) string { return map[string]string{"JSON": "1", "PLATFORMS": "linux/amd64"}[k] }
	if err := s.PrintPlan(ctx, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"snapshot": true`) {
		t.Errorf("JSON snapshot plan = %s", out)
	}
	s.Getenv = func(k string) string { return map[string]string{"BUMP": "sideways"}[k] }
	if err := s.PrintPlan(ctx, false); err == nil {
		t.Error("PrintPlan(BUMP=sideways) = nil error")
	}

	var vout bytes.Buffer
	s.Out = &vout
	s.Getenv = func(k string) string { return map[string]string{"PLATFORMS": "linux/amd64"}[k] }
	if err := s.Verify(ctx); err != nil {
		t.Fatalf("Verify: %v\n%s", err, vout.String())
	}
	if !strings.Contains(vout.String(), "OCI index") {
		t.Errorf("verify report lacks the image index:\n%s", vout.String())
	}
}

// TestHeadMovedDuringChecks refuses to prepare a release when a commit
// landed after preflight decided the version and the changelog.
func TestHeadMovedDuringChecks(t *testing.T) {
	dir := newRepo(t)
	s, _ := newSession(t, dir, map[string]string{"HOIST_REGISTRY_DATA": t.TempDir(), "HOIST_REGISTRY_COMMAND": registryBin}, nil)
	Use(s)
	r := &run{rec: release.NewRecorder()}
	s.mu.Lock()
	s.run = r
	s.mu.Unlock()
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	ctx := context.Background()
	if err := preflightStep(ctx); err != nil {
		t.Fatal(err)
	}
	commit(t, dir, "fix: sneaked in during the tests")
	if err := bumpStep(ctx); err == nil || !strings.Contains(err.Error(), "HEAD moved") {
		t.Errorf("bumpStep after HEAD moved = %v, want a refusal", err)
	}
}

// TestPlanPredictsSkips reads the build and package records: after a build
// and a package nothing is to be done, and a source edit is named.
func TestPlanPredictsSkips(t *testing.T) {
	dir := newRepo(t)
	s, _ := newSession(t, dir, map[string]string{"PLATFORMS": "linux/amd64,windows/amd64"}, nil)
	ctx := context.Background()
	step := func(p *release.Plan, name string) release.Step {
		for _, st := range p.Steps {
			if st.Name == name {
				return st
			}
		}
		t.Fatalf("plan has no %s step", name)
		return release.Step{}
	}
	p, err := s.Plan(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if st := step(p, "build"); !st.Run || !strings.Contains(st.Reason, "2 of 2 binaries to compile") {
		t.Errorf("build step before any build = %+v", st)
	}
	rev, _ := s.Revision(ctx)
	v, _ := release.SnapshotVersion(mustDecision(t, s), rev.Short)
	s.SetVersion(v)
	if err := s.BuildBinaries(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Package(ctx); err != nil {
		t.Fatal(err)
	}
	p, err = s.Plan(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if st := step(p, "build"); st.Run || !strings.Contains(st.Reason, "up to date") {
		t.Errorf("build step after a build = %+v, want a skip", st)
	}
	if st := step(p, "package"); st.Run || !strings.Contains(st.Reason, "up to date") {
		t.Errorf("package step after packaging = %+v, want a skip", st)
	}
	writeFiles(t, dir, map[string]string{"cmd/svc/main.go": "package main\n\nvar version, commit, date string\n\nfunc main() { println(version) }\n"})
	p, _ = s.Plan(ctx, true)
	if st := step(p, "build"); !st.Run || !strings.Contains(st.Reason, "cmd/svc/main.go changed") {
		t.Errorf("build step after an edit = %+v, want the file named", st)
	}
}

func mustDecision(t *testing.T, s *Session) version.Decision {
	t.Helper()
	d, err := version.Plan(context.Background(), s.Cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
