package release

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/registry"
)

// okGates pass, as the real gates do on a healthy project; the pipeline
// tests are about what happens around them.
var okGates = Gates{Tidy: noGate, Vet: noGate, Test: noGate, Vuln: noGate}

func noGate(context.Context) error { return nil }

// releaser runs releases of one repository in this process, each with a
// fresh workspace, as separate `go tool mage` runs would.
type releaser struct {
	t    *testing.T
	r    *testRepo
	env  map[string]string
	edit func(*config.Config)
}

func (rl *releaser) with(extra map[string]string) map[string]string {
	env := map[string]string{}
	for k, v := range rl.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// plan plans mode m as release:plan would.
func (rl *releaser) plan(m Mode, extra map[string]string) *Plan {
	rl.t.Helper()
	w, _ := open(rl.t, rl.r.dir, rl.with(extra), rl.edit)
	p, err := w.Plan(rl.t.Context(), m)
	if err != nil {
		rl.t.Fatalf("Plan(%s) = %v", m, err)
	}
	return p
}

// run runs mode m as release or release:snapshot would and returns its
// output.
func (rl *releaser) run(m Mode, extra map[string]string, gates Gates) (string, error) {
	rl.t.Helper()
	w, out := open(rl.t, rl.r.dir, rl.with(extra), rl.edit)
	err := w.Release(rl.t.Context(), m, gates)
	return out.String(), err
}

func (rl *releaser) manifest() *Manifest {
	rl.t.Helper()
	return readManifest(rl.t, filepath.Join(rl.r.dir, "dist", ManifestFile))
}

// embedded points the releaser at a private embedded registry.
func (rl *releaser) embedded(data string) {
	rl.env["HOIST_REGISTRY_DATA"] = data
	rl.env["HOIST_REGISTRY_COMMAND"] = registryCommand(rl.t)
}

// samePlanAndRun compares what a plan said with what the run then recorded
// in dist/release.json, field by field.
func samePlanAndRun(t *testing.T, p *Plan, m *Manifest) {
	t.Helper()
	if p.Refused != "" {
		t.Fatalf("the plan refuses: %s", p.Refused)
	}
	type head struct {
		Version, Tag, PreviousTag, Commit, Date string
		Snapshot                                bool
	}
	date := ""
	if p.Date != nil {
		date = p.Date.UTC().String()
	}
	if diff := gocmp.Diff(head{p.Version, p.Tag, p.PreviousTag, p.Commit, date, p.Snapshot},
		head{m.Version, m.Tag, m.PreviousTag, m.Commit, m.Date.UTC().String(), m.Snapshot}); diff != "" {
		t.Errorf("plan and release.json disagree on the release (-plan +run):\n%s", diff)
	}
	var ran []Step
	for _, s := range m.Stages {
		ran = append(ran, Step{Name: s.Name, Run: s.Status != StatusSkipped, Reason: s.Reason})
		if s.Status == StatusFailed {
			t.Errorf("stage %s failed in a successful run: %s", s.Name, s.Error)
		}
	}
	if diff := gocmp.Diff(p.Steps, ran); diff != "" {
		t.Errorf("plan steps and release.json stages differ (-plan +run):\n%s", diff)
	}
	var planned, recorded []PlannedArtifact
	for _, a := range p.Artifacts {
		if a.Type != ManifestType { // release.json does not list itself
			planned = append(planned, a)
		}
	}
	for _, a := range m.Artifacts {
		recorded = append(recorded, PlannedArtifact{Type: a.Type, Name: a.Name, Path: a.Path, Platform: a.Platform})
	}
	sortArtifacts := func(as []PlannedArtifact) {
		slices.SortFunc(as, func(a, b PlannedArtifact) int {
			return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Platform, b.Platform), cmp.Compare(a.Path, b.Path))
		})
	}
	sortArtifacts(planned)
	sortArtifacts(recorded)
	if diff := gocmp.Diff(planned, recorded); diff != "" {
		t.Errorf("planned and recorded artifacts differ (-plan +run):\n%s", diff)
	}
	var refs []string
	for _, i := range m.Images {
		refs = append(refs, i.Ref)
		if !strings.HasPrefix(i.Digest, "sha256:") {
			t.Errorf("release.json image %s has digest %q", i.Ref, i.Digest)
		}
	}
	images := append([]string{}, p.Images...)
	refs = append([]string{}, refs...)
	slices.Sort(images)
	slices.Sort(refs)
	if diff := gocmp.Diff(images, refs); diff != "" {
		t.Errorf("planned and pushed images differ (-plan +run):\n%s", diff)
	}
	var attached []PlannedReferrer
	for _, r := range m.Referrers {
		repo, _, _ := strings.Cut(r.Ref, "@")
		attached = append(attached, PlannedReferrer{Repository: repo, Kind: r.Kind, Platform: r.Platform})
	}
	byRef := func(a, b PlannedReferrer) int {
		return cmp.Or(cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.Platform, b.Platform), cmp.Compare(a.Kind, b.Kind))
	}
	planned2 := slices.Clone(p.Referrers)
	slices.SortFunc(planned2, byRef)
	slices.SortFunc(attached, byRef)
	if diff := gocmp.Diff(planned2, attached, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("planned and attached referrers differ (-plan +run):\n%s", diff)
	}
}

// TestPlanEqualsRun plans and then runs a dozen kinds of release and checks
// that release:plan JSON=1 said exactly what the run then recorded.
func TestPlanEqualsRun(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs a dozen releases")
	}
	r := svcRepo(t)
	host := memRegistry(t)
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64,windows/amd64", "REGISTRY": host + "/acme"},
		edit: func(c *config.Config) { c.Publish.Latest, c.Publish.MinorTag = true, true }}
	rl.embedded(t.TempDir()) // for the snapshot at the end
	step := func(name string, m Mode, extra map[string]string, prepare func(), want string) {
		t.Run(name, func(t *testing.T) {
			rl.t = t
			if prepare != nil {
				prepare()
			}
			p := rl.plan(m, extra)
			out, err := rl.run(m, extra, okGates)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			man := rl.manifest()
			if man.Version != want && !(m == ModeSnapshot && strings.HasPrefix(man.Version, want)) {
				t.Fatalf("released %s, want %s", man.Version, want)
			}
			samePlanAndRun(t, p, man)
		})
	}
	step("first release", ModeRelease, nil, nil, "1.4.0")
	t.Run("nothing to release", func(t *testing.T) {
		rl.t = t
		before := r.state()
		p := rl.plan(ModeRelease, nil)
		out, err := rl.run(ModeRelease, nil, okGates)
		if err != nil || p.Release || !strings.Contains(out, "nothing to release: "+p.Reason) {
			t.Fatalf("plan release = %v (%s), run = %v\n%s; want nothing to release in both", p.Release, p.Reason, err, out)
		}
		for _, s := range p.Steps[1:] {
			if s.Run {
				t.Errorf("plan runs %s with nothing to release", s.Name)
			}
		}
		if diff := gocmp.Diff(before, r.state()); diff != "" {
			t.Errorf("nothing to release changed the repository:\n%s", diff)
		}
	})
	step("fix", ModeRelease, nil, func() { r.change("fix: a bug") }, "1.4.1")
	step("feat", ModeRelease, nil, func() { r.change("feat: a thing") }, "1.5.0")
	step("breaking", ModeRelease, nil, func() { r.change("feat!: another thing") }, "2.0.0")
	step("prerelease", ModeRelease, map[string]string{"BUMP": "prerelease"}, nil, "2.0.1-rc.1")
	step("changed platform list", ModeRelease, map[string]string{"PLATFORMS": "linux/amd64,linux/arm64"}, func() { r.change("fix: finish the candidate") }, "2.0.1")
	step("build metadata", ModeRelease, nil, func() {
		r.write("VERSION", "2.1.0+build.5\n")
		r.git("commit", "-qam", "chore: a build of 2.1.0")
	}, "2.1.0+build.5")
	t.Run("build metadata tags", func(t *testing.T) {
		m := rl.manifest()
		if !slices.ContainsFunc(m.Images, func(i ImageRef) bool { return i.Ref == host+"/acme/svc:2.1.0_build.5" }) || m.Tag != "v2.1.0+build.5" {
			t.Errorf("release of 2.1.0+build.5 = tag %s, images %+v; want v2.1.0+build.5 and image tag 2.1.0_build.5", m.Tag, m.Images)
		}
	})
	t.Run("dirty tree", func(t *testing.T) {
		rl.t = t
		r.change("fix: one more")
		r.write("README.md", "svc, edited\n")
		defer r.git("checkout", "README.md")
		before := r.state()
		p := rl.plan(ModeRelease, nil)
		out, err := rl.run(ModeRelease, nil, okGates)
		if p.Refused == "" || err == nil || !strings.Contains(err.Error(), p.Refused) {
			t.Fatalf("plan refused %q, run = %v\n%s; want the same refusal from both", p.Refused, err, out)
		}
		if !strings.Contains(p.Refused, "README.md") {
			t.Errorf("refusal %q does not name the dirty file", p.Refused)
		}
		for _, s := range p.Steps[1:] {
			if s.Run {
				t.Errorf("refused plan runs %s", s.Name)
			}
		}
		if diff := gocmp.Diff(before, r.state()); diff != "" {
			t.Errorf("the refused release changed the repository:\n%s", diff)
		}
	})
	step("snapshot", ModeSnapshot, nil, func() { r.write("scratch.txt", "work in progress\n") }, "2.1.1-snapshot.")
	// With nothing changed the plan predicts the skips from the records.
	step("snapshot again", ModeSnapshot, nil, nil, "2.1.1-snapshot.")
	t.Run("snapshot again skips", func(t *testing.T) {
		for _, s := range rl.manifest().Stages {
			if (s.Name == "build" || s.Name == "package" || s.Name == "image") && !strings.Contains(s.Reason, "up to date") {
				t.Errorf("second snapshot %s: %q, want up to date", s.Name, s.Reason)
			}
		}
	})
}

// TestPlanEqualsRunElsewhere covers the embedded registry that a
// registry:serve already serves on another address, and a monorepo prefix.
func TestPlanEqualsRunElsewhere(t *testing.T) {
	if testing.Short() {
		t.Skip("runs releases")
	}
	t.Run("registry:serve elsewhere", func(t *testing.T) {
		r := svcRepo(t)
		rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64"}}
		data := t.TempDir()
		rl.embedded(data)
		serve, err := registry.Start(t.Context(), registry.WithCommand(registryCommand(t)), registry.WithDataDir(data), registry.WithAddr("127.0.0.1:0"))
		if err != nil {
			t.Fatal(err)
		}
		defer serve.Stop(context.Background())
		p := rl.plan(ModeRelease, nil)
		if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
			t.Fatalf("run: %v\n%s", err, out)
		}
		samePlanAndRun(t, p, rl.manifest())
		want := serve.Host() + "/svc:1.4.0"
		if !slices.Contains(p.Images, want) {
			t.Errorf("plan images = %v, want %s, where registry:serve serves", p.Images, want)
		}
		if !registry.Holds(data, "svc", "1.4.0", rl.manifest().Images[0].Digest) {
			t.Error("the serving registry does not hold svc:1.4.0")
		}
	})
	t.Run("plain tags", func(t *testing.T) {
		r := svcRepo(t)
		host := memRegistry(t)
		rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64", "REGISTRY": host}}
		// Years ago the project tagged v1.0.0; it has tagged plain since.
		r.gitAt(svcDate.Add(-1000*24*time.Hour), "tag", "-a", "-m", "old", "v1.9.0")
		r.gitAt(svcDate, "tag", "-a", "-m", "new", "1.4.0")
		r.change("fix: after 1.4.0")
		p := rl.plan(ModeRelease, nil)
		if p.Tag != "1.4.1" || p.PreviousTag != "1.4.0" || !strings.Contains(p.TagScheme, "plain tags, as on 1.4.0") {
			t.Fatalf("plan = tag %s after %s, scheme %q; want 1.4.1 after 1.4.0 by the plain scheme", p.Tag, p.PreviousTag, p.TagScheme)
		}
		if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
			t.Fatalf("run: %v\n%s", err, out)
		}
		samePlanAndRun(t, p, rl.manifest())
		if !strings.Contains(r.state().Tags, "refs/tags/1.4.1 ") {
			t.Errorf("tags after the release = %s, want 1.4.1", r.state().Tags)
		}
	})
	t.Run("monorepo prefix", func(t *testing.T) {
		r := svcRepo(t)
		host := memRegistry(t)
		rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64", "REGISTRY": host},
			edit: func(c *config.Config) { c.Release.TagPrefix, c.Release.Paths = "svc/v", []string{"cmd/svc"} }}
		if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
			t.Fatalf("first release: %v\n%s", err, out)
		}
		r.commit("feat: elsewhere in the monorepo")
		if p := rl.plan(ModeRelease, nil); p.Release {
			t.Errorf("a feat outside cmd/svc plans release %s, want nothing", p.Version)
		}
		r.change("fix: in the service")
		p := rl.plan(ModeRelease, nil)
		if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
			t.Fatalf("run: %v\n%s", err, out)
		}
		m := rl.manifest()
		samePlanAndRun(t, p, m)
		if m.Tag != "svc/v1.4.1" || m.PreviousTag != "svc/v1.4.0" {
			t.Errorf("monorepo release = %s after %s, want svc/v1.4.1 after svc/v1.4.0", m.Tag, m.PreviousTag)
		}
	})
}

// registryState is what a rollback must leave in the embedded registry.
func tagged(data, repo, tag string) bool {
	_, err := os.Stat(filepath.Join(data, "docker", "registry", "v2", "repositories", repo, "_manifests", "tags", tag, "current", "link"))
	return err == nil
}

// TestReleaseRollsBack fails each stage in turn, after the stage's side
// effects: the repository must come back exactly, and the registry must
// hold no tag of the failed version and keep latest on the last release.
func TestReleaseRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a dozen releases")
	}
	r := svcRepo(t)
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64,windows/amd64"},
		edit: func(c *config.Config) { c.Publish.Latest, c.Publish.MinorTag = true, true }}
	data := t.TempDir()
	rl.embedded(data)
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("first release: %v\n%s", err, out)
	}
	first := rl.manifest()
	// The release stopped the registry it started and gave its lease back.
	if _, _, running := registry.Running(t.Context(), data); running {
		t.Error("the embedded registry still runs after the release")
	}
	if leases, _ := filepath.Glob(filepath.Join(data, "leases", "*.lock")); len(leases) != 0 {
		t.Errorf("the release left leases behind: %v", leases)
	}
	if st := r.state(); !strings.Contains(st.Tags, "refs/tags/v1.4.0 ") || !registry.Holds(data, "svc", "1.4.0", first.Images[0].Digest) {
		t.Fatalf("first release: tags %q, want v1.4.0 in git and the registry", st.Tags)
	}
	r.change("feat: more")
	before := r.state()
	for _, s := range Pipeline {
		name := s.Name()
		if name == "preflight" {
			continue // its refusals are tested in preflight_test.go
		}
		if slices.Contains([]string{"forge draft", "git push", "forge publish"}, name) {
			continue // they skip without a forge; forge_test.go fails them against Gitea
		}
		t.Run("fail "+name, func(t *testing.T) {
			rl.t = t
			gates := okGates
			injected := fmt.Errorf("injected failure in %s", name)
			switch name {
			case "tidy":
				gates.Tidy = func(context.Context) error { return injected }
			case "vet":
				gates.Vet = func(context.Context) error { return injected }
			case "test":
				gates.Test = func(context.Context) error { return injected }
			default:
				afterStage = func(s string) error {
					if s == name {
						return injected
					}
					return nil
				}
				defer func() { afterStage = func(string) error { return nil } }()
			}
			out, err := rl.run(ModeRelease, nil, gates)
			if !errors.Is(err, injected) {
				t.Fatalf("release with %s failing = %v, want the injected failure\n%s", name, err, out)
			}
			if diff := gocmp.Diff(before, r.state()); diff != "" {
				t.Errorf("repository after %s failed (-before +after):\n%s\n%s", name, diff, out)
			}
			for _, tag := range []string{"1.5.0", "1.5"} {
				if tagged(data, "svc", tag) {
					t.Errorf("registry has svc:%s after %s failed", tag, name)
				}
			}
			if !registry.Holds(data, "svc", "latest", first.Images[0].Digest) {
				t.Errorf("svc:latest no longer points at the 1.4.0 image after %s failed", name)
			}
			if j, _ := readJournal(t.Context(), r.dir); j != nil {
				t.Errorf("a journal (phase %s) is left after the rollback", j.Phase)
			}
		})
	}
	t.Run("tag blocked", func(t *testing.T) {
		rl.t = t
		// A ref lock file makes git refuse to create the tag.
		lock := filepath.Join(r.dir, ".git", "refs", "tags", "v1.5.0.lock")
		os.MkdirAll(filepath.Dir(lock), 0o755)
		os.WriteFile(lock, nil, 0o644)
		out, err := rl.run(ModeRelease, nil, okGates)
		os.Remove(lock)
		if err == nil {
			t.Fatalf("release with the tag blocked succeeded\n%s", out)
		}
		if diff := gocmp.Diff(before, r.state()); diff != "" {
			t.Errorf("repository after the tag failed (-before +after):\n%s", diff)
		}
		if tagged(data, "svc", "1.5.0") {
			t.Error("registry has svc:1.5.0 after the git tag failed")
		}
	})

	rl.t = t
	out, err := rl.run(ModeRelease, nil, okGates)
	if err != nil {
		t.Fatalf("release after the failures: %v\n%s", err, out)
	}
	st := r.state()
	if !strings.Contains(st.Tags, "refs/tags/v1.5.0 ") || st.Version != "1.5.0\n" || st.Status != "" {
		t.Errorf("after the feat release: %+v, want v1.5.0 tagged, VERSION 1.5.0, clean tree", st)
	}
	m := rl.manifest()
	if m.Version != "1.5.0" || m.Tag != "v1.5.0" || m.PreviousTag != "v1.4.0" || len(m.Images) != 3 || len(m.Stages) != len(Pipeline) {
		t.Errorf("release.json = version %s tag %s prev %s, %d images, %d stages", m.Version, m.Tag, m.PreviousTag, len(m.Images), len(m.Stages))
	}
	released := map[string]string{}
	for _, a := range m.Artifacts {
		if a.SHA256 == "" && a.Type != "image" {
			t.Errorf("release.json artifact %s %s has no sha256", a.Type, a.Path)
		}
		released[a.Path] = a.SHA256
	}

	// The tag names the commit the binaries were stamped with: rebuilding
	// the tagged checkout gives the released bytes.
	w, _ := open(t, r.dir, map[string]string{"PLATFORMS": "linux/amd64,windows/amd64", "HOIST_FORCE": "1"}, nil)
	stamp, err := w.CurrentStamp(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.BuildBinaries(t.Context(), stamp); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"dist/svc_linux_amd64/svc", "dist/svc_windows_amd64/svc.exe"} {
		if got := sha256Of(t, filepath.Join(r.dir, p)); got != released[p] {
			t.Errorf("rebuilt %s at the tag = %s, released %s", p, got, released[p])
		}
	}

	// A snapshot on a dirty tree changes nothing in git.
	r.write("scratch.txt", "wip")
	before = r.state()
	out, err = rl.run(ModeSnapshot, nil, okGates)
	if err != nil {
		t.Fatalf("snapshot: %v\n%s", err, out)
	}
	if diff := gocmp.Diff(before, r.state()); diff != "" || !strings.Contains(out, "-snapshot.") {
		t.Errorf("snapshot changed the repo or used no snapshot version:\n%s\n%s", diff, out)
	}
	m = rl.manifest()
	if !m.Snapshot || m.Tag != "" || !strings.HasPrefix(m.Version, "1.5.1-snapshot.") {
		t.Errorf("snapshot release.json = %+v", m)
	}
}

// TestHeadMovedDuringChecks refuses to prepare a release when a commit
// landed after preflight decided the version and the changelog.
func TestHeadMovedDuringChecks(t *testing.T) {
	r := svcRepo(t)
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64", "REGISTRY": memRegistry(t)}}
	gates := okGates
	gates.Test = func(context.Context) error {
		r.change("fix: sneaked in during the tests")
		return nil
	}
	out, err := rl.run(ModeRelease, nil, gates)
	if err == nil || !strings.Contains(err.Error(), "HEAD moved") {
		t.Errorf("release after HEAD moved = %v, want a refusal\n%s", err, out)
	}
}

// TestTwoReleasesAtOnce shows the release lock: a second release of the
// same repository is refused at once and changes nothing.
func TestTwoReleasesAtOnce(t *testing.T) {
	r := svcRepo(t)
	rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64", "REGISTRY": memRegistry(t)}}
	gates := okGates
	var second error
	gates.Test = func(context.Context) error {
		_, second = rl.run(ModeRelease, nil, okGates)
		return nil
	}
	if out, err := rl.run(ModeRelease, nil, gates); err != nil {
		t.Fatalf("first release: %v\n%s", err, out)
	}
	if second == nil || !strings.Contains(second.Error(), "another hoist release") || !strings.Contains(second.Error(), "wait for it") {
		t.Errorf("release during a release = %v, want a refusal naming the other run", second)
	}
}

func sha256Of(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(data))
}
