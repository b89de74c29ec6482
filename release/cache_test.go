package release

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// runnerCopy is a second clone of r, as a fresh CI runner has it: same
// commits, no dist/.
func runnerCopy(t *testing.T, r *testRepo) *testRepo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "runner")
	if out, err := exec.Command("git", "clone", "-q", r.dir, dir).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	return &testRepo{t: t, dir: dir}
}

// corruptingProxy passes a registry through, flipping a byte of every blob
// it serves while corrupt is set: damaged storage, which a real registry
// cannot produce on demand.
func corruptingProxy(t *testing.T, corrupt *bool) string {
	t.Helper()
	backend := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(backend.Close)
	u, _ := url.Parse(backend.URL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if *corrupt && resp.Request.Method == http.MethodGet && strings.Contains(resp.Request.URL.Path, "/blobs/sha256:") && resp.StatusCode == http.StatusOK {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(body) > 0 {
				body[len(body)/2] ^= 0xff
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestBuildCacheAcrossRunners: runner A compiles and stores its binaries
// in the cache; runner B, a fresh clone, restores the same bytes instead of
// compiling; a corrupt entry is ignored with one line and rebuilt; an
// unreachable cache builds locally with a warning, or fails in strict mode.
func TestBuildCacheAcrossRunners(t *testing.T) {
	if testing.Short() {
		t.Skip("builds")
	}
	t.Parallel()
	corrupt := false
	host := corruptingProxy(t, &corrupt)
	a := svcRepo(t)
	env := map[string]string{"PLATFORMS": "linux/amd64,linux/arm64", "HOIST_CACHE": host + "/team/cache", "CI": "true"}
	build := func(r *testRepo, extra map[string]string) (string, error) {
		all := map[string]string{}
		for k, v := range env {
			all[k] = v
		}
		for k, v := range extra {
			all[k] = v
		}
		w, out := open(t, r.dir, all, nil)
		st, err := w.CurrentStamp(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.BuildBinaries(t.Context(), st)
		return out.String(), err
	}
	out, err := build(a, nil)
	if err != nil || !strings.Contains(out, "2 not there, 2 stored") {
		t.Fatalf("runner A = %v, want both binaries built and stored:\n%s", err, out)
	}
	b := runnerCopy(t, a)
	out, err = build(b, nil)
	if err != nil || strings.Count(out, "restored from cache (key bin-") != 2 || !strings.Contains(out, "2 restored") {
		t.Fatalf("runner B = %v, want both binaries restored:\n%s", err, out)
	}
	for _, plat := range []string{"linux_amd64", "linux_arm64"} {
		x, _ := os.ReadFile(filepath.Join(a.dir, "dist", "svc_"+plat, "svc"))
		y, _ := os.ReadFile(filepath.Join(b.dir, "dist", "svc_"+plat, "svc"))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s: runner B's restored binary differs from A's", plat)
		}
		if fi, err := os.Stat(filepath.Join(b.dir, "dist", "svc_"+plat, "svc")); err != nil || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s: the restored binary is not executable: %v", plat, err)
		}
	}
	// cache:stats reads what B's run did.
	wb, _ := open(t, b.dir, env, nil)
	if r, err := wb.LastCacheRun(); err != nil || r.RecordTargets != 1 || r.Records.RemoteHits != 2 || r.Records.Misses != 0 || r.Records.BytesDownloaded == 0 || r.Records.Remote == "" {
		t.Errorf("LastCacheRun() after runner B = %+v, %v; want 2 records restored by one target", r, err)
	}
	// B again: nothing to do, locally.
	if out, _ := build(b, nil); strings.Contains(out, "restored") || strings.Count(out, "up to date") != 2 {
		t.Errorf("runner B's rerun does not skip locally:\n%s", out)
	}

	// Two cold runners at once on an empty cache both store the same
	// entry; a third restores it.
	pair := map[string]string{"HOIST_CACHE": host + "/team/cache-pair", "PLATFORMS": "linux/amd64"}
	var wg sync.WaitGroup
	outs, errs := make([]string, 2), make([]error, 2)
	for i := range 2 {
		r := runnerCopy(t, a)
		wg.Go(func() { outs[i], errs[i] = build(r, pair) })
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || !strings.Contains(outs[i], "built in") {
			t.Errorf("concurrent runner %d = %v, want a build:\n%s", i, errs[i], outs[i])
		}
	}
	if out, err := build(runnerCopy(t, a), pair); err != nil || strings.Count(out, "restored from cache (key bin-") != 1 {
		t.Errorf("runner after the concurrent pair = %v, want its binary restored:\n%s", err, out)
	}

	// Off CI, a machine only reads: it stores nothing, and the next
	// runner finds nothing.
	readOnly := map[string]string{"HOIST_CACHE": host + "/team/cache-ro", "CI": ""}
	if out, err := build(runnerCopy(t, a), readOnly); err != nil || !strings.Contains(out, "0 stored") || !strings.Contains(out, "read only here") {
		t.Errorf("runner off CI = %v, want a build that stores nothing and says why:\n%s", err, out)
	}
	if out, err := build(runnerCopy(t, a), readOnly); err != nil || strings.Contains(out, "restored from cache") {
		t.Errorf("runner after a read-only one = %v, want nothing in the cache:\n%s", err, out)
	}

	// Damaged storage: C ignores the entries and builds.
	corrupt = true
	c := runnerCopy(t, a)
	out, err = build(c, nil)
	corrupt = false
	if err != nil || strings.Count(out, "content does not match its digest") != 2 || strings.Contains(out, "restored from cache") {
		t.Errorf("runner C with corrupt entries = %v, want both rebuilt with a line each:\n%s", err, out)
	}

	// An unreachable cache: a warning, a local build; strict: an error.
	d := runnerCopy(t, a)
	out, err = build(d, map[string]string{"HOIST_CACHE": "127.0.0.1:1/team/cache"})
	if err != nil || strings.Count(out, "cannot be used") != 1 || !strings.Contains(out, "built in") {
		t.Errorf("runner D with an unreachable cache = %v, want one warning and a local build:\n%s", err, out)
	}
	e := runnerCopy(t, a)
	if out, err := build(e, map[string]string{"HOIST_CACHE": "127.0.0.1:1/team/cache", "HOIST_CACHE_STRICT": "1"}); err == nil || !strings.Contains(err.Error(), "HOIST_CACHE_STRICT=1") {
		t.Errorf("runner E, strict, unreachable cache = %v, want an error naming HOIST_CACHE_STRICT:\n%s", err, out)
	}
}

// TestSnapshotFromCache: runner B's snapshot of the commit runner A
// snapshotted restores the binaries, the packages and the image from the
// cache and compiles, packs and builds nothing, with the same digests.
func TestSnapshotFromCache(t *testing.T) {
	if testing.Short() {
		t.Skip("snapshots")
	}
	corrupt := false
	host := corruptingProxy(t, &corrupt)
	a := svcRepo(t)
	snap := func(r *testRepo) (string, *Manifest) {
		rl := &releaser{t: t, r: r, env: map[string]string{"PLATFORMS": "linux/amd64,linux/arm64", "HOIST_CACHE": host + "/team/cache", "HOIST_CACHE_PUSH": "1"}}
		rl.embedded(t.TempDir())
		out, err := rl.run(ModeSnapshot, nil, okGates)
		if err != nil {
			t.Fatalf("snapshot: %v\n%s", err, out)
		}
		return out, rl.manifest()
	}
	outA, ma := snap(a)
	if strings.Contains(outA, "restored from cache") {
		t.Fatalf("runner A restored something from an empty cache:\n%s", outA)
	}
	b := runnerCopy(t, a)
	outB, mb := snap(b)
	for _, want := range []string{"restored from cache (key bin-", "package: restored from cache (key pkg-", "restored from cache (key img-"} {
		if !strings.Contains(outB, want) {
			t.Errorf("runner B's snapshot lacks %q:\n%s", want, outB)
		}
	}
	for _, not := range []string{"built in", "package: packing", "wrote svc_"} {
		if strings.Contains(outB, not) {
			t.Errorf("runner B's snapshot still did work (%q):\n%s", not, outB)
		}
	}
	digests := func(m *Manifest) map[string]string {
		out := map[string]string{}
		for _, a := range m.Artifacts {
			// The provenance names the repository by its origin remote,
			// which this test's clone has and the original has not.
			if a.Type != "provenance" {
				out[a.Path] = a.SHA256
			}
		}
		for _, i := range m.Images {
			out[i.Ref] = i.Digest
		}
		return out
	}
	if da, db := digests(ma), digests(mb); len(da) == 0 || fmt.Sprint(da) != fmt.Sprint(db) {
		t.Errorf("runner B's artifacts differ from A's:\nA %v\nB %v", da, db)
	}
}
