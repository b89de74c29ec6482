package release

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/publish"
)

// TestSizeBudget: a release records its sizes in its tag; the next one,
// whose binary grew past the budget by an embedded file, fails before
// anything is tagged or pushed, with the table; a larger budget lets it
// through and records the new sizes.
func TestSizeBudget(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("releases")
	}
	r := svcRepo(t)
	host := memRegistry(t)
	rl := &releaser{t: t, r: r, env: map[string]string{"REGISTRY": host + "/acme", "PLATFORMS": "linux/amd64"}}
	if p := rl.plan(ModeRelease, nil); !planSays(p, "size", "first release: records the size") {
		t.Errorf("first plan's size step: %+v", p.Steps)
	}
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("first release: %v\n%s", err, out)
	}
	msg := r.git("tag", "-l", "--format=%(contents)", "v1.4.0")
	rec := sizesFromMessage(msg)
	if rec["binary svc linux/amd64"] <= 0 || rec["archive linux/amd64"] <= 0 || rec["image linux/amd64"] <= 0 {
		t.Fatalf("tag v1.4.0 records %v, want the binary, archive and image sizes:\n%s", rec, msg)
	}

	// 2 MB of incompressible data embedded in the binary.
	blob := make([]byte, 2<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range blob {
		blob[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(filepath.Join(r.dir, "cmd", "svc", "blob.bin"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	r.write("cmd/svc/blob.go", "package main\n\nimport _ \"embed\"\n\n//go:embed blob.bin\nvar blob []byte\n\nfunc init() {\n\tif len(blob) == 0 {\n\t\tpanic(\"no blob\")\n\t}\n}\n")
	r.git("add", ".")
	r.gitAt(svcDate.AddDate(0, 0, 1), "commit", "-qm", "feat: a big table")

	if p := rl.plan(ModeRelease, nil); !planSays(p, "size", "compares every binary, archive and image with v1.4.0's sizes, budget +10%") {
		t.Errorf("second plan's size step: %+v", p.Steps)
	}
	before := r.state()
	out, err := rl.run(ModeRelease, nil, okGates)
	if err == nil || !strings.Contains(err.Error(), "binary svc linux/amd64") || !strings.Contains(err.Error(), "HOIST_SIZE_BUDGET") {
		t.Fatalf("release of the grown binary = %v, want it refused naming the binary and HOIST_SIZE_BUDGET\n%s", err, out)
	}
	for _, want := range []string{"artifact", "v1.4.0", "now", "change", "budget", "binary svc linux/amd64", "+10%", "OVER BUDGET"} {
		if !strings.Contains(out, want) {
			t.Errorf("the size table lacks %q:\n%s", want, out)
		}
	}
	if after := r.state(); after != before {
		t.Errorf("the refused release changed the repository: %+v -> %+v", before, after)
	}
	if d, err := publish.TagDigest(t.Context(), host+"/acme/svc", "1.5.0"); err != nil || d != "" {
		t.Errorf("registry tag 1.5.0 after the refusal = %q, %v; want none", d, err)
	}
	if strings.Contains(out, "pushed sha256") {
		t.Errorf("the refused release pushed something:\n%s", out)
	}

	// A budget in the magefile lets it through.
	rl.edit = func(c *config.Config) {
		c.Size.Budgets = map[string]float64{"binary *": 1000, "archive *": 1000, "image *": 1000}
	}
	if out, err := rl.run(ModeRelease, nil, okGates); err != nil {
		t.Fatalf("release with a larger budget: %v\n%s", err, out)
	}
	next := sizesFromMessage(r.git("tag", "-l", "--format=%(contents)", "v1.5.0"))
	if next["binary svc linux/amd64"] < rec["binary svc linux/amd64"]+2<<20 {
		t.Errorf("tag v1.5.0 records %v, want the grown binary", next)
	}
}

func TestSizeBudgetRules(t *testing.T) {
	w := &Workspace{Cfg: config.Config{Size: config.Size{Budget: 5, Budgets: map[string]float64{"image *": 25, "binary * windows/*": 15}}}}
	for key, want := range map[string]float64{
		"image linux/amd64": 25, "binary web windows/amd64": 15, "binary web linux/amd64": 5, "archive linux/arm64": 5,
	} {
		if got := w.budgetFor(key); got != want {
			t.Errorf("budgetFor(%q) = %v, want %v", key, got, want)
		}
	}
	if got := (&Workspace{}).budgetFor("x"); got != config.DefaultSizeBudget {
		t.Errorf("default budget = %v, want %v", got, config.DefaultSizeBudget)
	}
	zero := 0.0
	if got := (&Workspace{Env: config.Env{SizeBudget: &zero}}).budgetFor("x"); got != 0 {
		t.Errorf("HOIST_SIZE_BUDGET=0 gives %v, want 0 (no growth)", got)
	}
	thirty := 30.0
	w.Env.SizeBudget = &thirty
	if got := w.budgetFor("image linux/amd64"); got != 30 {
		t.Errorf("HOIST_SIZE_BUDGET=30 over Size.Budgets gives %v, want 30 for this run", got)
	}
	w.Env.SizeBudget = nil
	rows := w.compareSizes(Sizes{"binary web linux/amd64": 100, "image linux/amd64": 100, "archive gone": 5},
		Sizes{"binary web linux/amd64": 106, "image linux/amd64": 125, "archive new": 9})
	if len(rows) != 2 || !rows[0].over || rows[1].over {
		t.Errorf("compareSizes = %+v, want the binary over (+6%% > +5%%) and the image within (+25%%)", rows)
	}
	if sizesFromMessage("Release v1\n\nno record") != nil {
		t.Error("a message without a record gave sizes")
	}
}
