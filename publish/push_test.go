package publish

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestPushRoundTrip(t *testing.T) {
	hostA, logA := testRegistry(t)
	hostB, logB := testRegistry(t)
	tests := []struct {
		name  string
		dests []Destination
		logs  []*requestLog
	}{
		{
			name:  "one destination",
			dests: []Destination{{Repository: hostA + "/one", Tags: []string{"v1.2.3", "latest"}}},
			logs:  []*requestLog{logA},
		},
		{
			name: "two registries",
			dests: []Destination{
				{Repository: hostA + "/two", Tags: []string{"v1"}},
				{Repository: hostB + "/acme/two", Tags: []string{"v1", "stable"}},
			},
			logs: []*requestLog{logA, logB},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logA.reset()
			logB.reset()
			idx := testIndex(t, uint64(i), 4<<10)
			want := digestOf(t, idx)
			results, err := Push(t.Context(), idx, tc.dests, WithAuth(authn.Anonymous))
			if err != nil {
				t.Fatalf("Push() = %v, want nil error", err)
			}
			if len(results) != len(tc.dests) {
				t.Fatalf("Push() returned %d results, want %d", len(results), len(tc.dests))
			}
			for j, r := range results {
				d := tc.dests[j]
				if r.Err != nil || r.Digest != want || r.Repository != d.Repository {
					t.Errorf("Result[%d] = {%s %s %v}, want {%s %s nil}", j, r.Repository, r.Digest, r.Err, d.Repository, want)
				}
				if r.BlobsUploaded != testIndexBlobs || r.BlobsSkipped != 0 || r.BytesUploaded <= 4<<10 || r.Duration <= 0 {
					t.Errorf("Result[%d] counts = uploaded %d skipped %d bytes %d duration %v, want %d 0 >4KiB >0",
						j, r.BlobsUploaded, r.BlobsSkipped, r.BytesUploaded, r.Duration, testIndexBlobs)
				}
				wantRefs := []string{d.Repository + "@" + want.String()}
				for _, tag := range d.Tags {
					wantRefs = append(wantRefs, d.Repository+":"+tag)
				}
				if diff := cmp.Diff(wantRefs, r.Refs); diff != "" {
					t.Errorf("Result[%d].Refs mismatch (-want +got):\n%s", j, diff)
				}
				// The shared base layer must have been sent once, not per platform.
				if got := tc.logs[j].get("blob-upload"); got != 3*testIndexBlobs {
					t.Errorf("registry %d saw %d blob upload requests, want %d (POST, PATCH and PUT per distinct blob)", j, got, 3*testIndexBlobs)
				}
				for _, ref := range r.Refs {
					checkPulled(t, ref, want)
				}
				if err := Verify(t.Context(), r.Refs[0], WithAuth(authn.Anonymous), WithFullVerify()); err != nil {
					t.Errorf("Verify(%s) = %v, want nil", r.Refs[0], err)
				}
			}
		})
	}
}

// checkPulled pulls ref back independently with go-containerregistry and
// validates every byte of it.
func checkPulled(t *testing.T, ref string, want v1.Hash) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("remote.Index(%s) = %v", ref, err)
	}
	if got := digestOf(t, idx); got != want {
		t.Errorf("remote.Index(%s).Digest() = %s, want %s", ref, got, want)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("validate.Index(%s) = %v, want nil", ref, err)
	}
}

func TestPushIdempotent(t *testing.T) {
	host, log := testRegistry(t)
	idx := testIndex(t, 7, 8<<10)
	dest := []Destination{{Repository: host + "/web", Tags: []string{"v1"}}}
	first, err := Push(t.Context(), idx, dest, WithAuth(authn.Anonymous))
	if err != nil {
		t.Fatalf("first Push() = %v", err)
	}
	log.reset()
	var out bytes.Buffer
	again, err := Push(t.Context(), idx, dest, WithAuth(authn.Anonymous), WithProgress(&out, false))
	if err != nil {
		t.Fatalf("second Push() = %v", err)
	}
	r := again[0]
	if r.BlobsUploaded != 0 || r.BlobsSkipped != testIndexBlobs || r.BytesUploaded != 0 {
		t.Errorf("second Push() counts = uploaded %d skipped %d bytes %d, want 0 %d 0", r.BlobsUploaded, r.BlobsSkipped, r.BytesUploaded, testIndexBlobs)
	}
	if got := log.get("blob-upload"); got != 0 {
		t.Errorf("second Push() sent %d blob upload requests, want 0", got)
	}
	if got := log.get("blob-head"); got != testIndexBlobs {
		t.Errorf("second Push() sent %d blob HEADs, want %d", got, testIndexBlobs)
	}
	if r.Digest != first[0].Digest {
		t.Errorf("second Push() digest = %s, want %s", r.Digest, first[0].Digest)
	}
	if got := strings.Count(out.String(), "exists sha256:"); got != testIndexBlobs {
		t.Errorf("progress of second Push() has %d \"exists\" lines, want %d:\n%s", got, testIndexBlobs, out.String())
	}
}

func TestPushPartialFailure(t *testing.T) {
	host, _ := testRegistry(t)
	// A port that was just closed: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()

	idx := testIndex(t, 3, 1<<10)
	dests := []Destination{
		{Repository: host + "/web", Tags: []string{"v1"}},
		{Repository: dead + "/web", Tags: []string{"v1"}},
	}
	results, err := Push(t.Context(), idx, dests, WithAuth(authn.Anonymous), fastRetry)
	if err == nil {
		t.Fatal("Push() with one dead registry = nil error, want failure")
	}
	if !strings.Contains(err.Error(), "1 of 2") || !strings.Contains(err.Error(), dead+"/web") || strings.Contains(err.Error(), "push to "+host) {
		t.Errorf("Push() error = %q, want it to name only %s/web", err, dead)
	}
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("errors.Is(%v, ErrUnreachable) = false, want true", err)
	}
	if results[0].Err != nil || results[0].BlobsUploaded != testIndexBlobs {
		t.Errorf("Result[0] = err %v uploaded %d, want nil %d", results[0].Err, results[0].BlobsUploaded, testIndexBlobs)
	}
	if results[1].Err == nil || !strings.Contains(results[1].Err.Error(), "start it") {
		t.Errorf("Result[1].Err = %v, want an unreachable error with a hint", results[1].Err)
	}
	checkPulled(t, host+"/web:v1", digestOf(t, idx))
}

func TestPushRejectsBadInput(t *testing.T) {
	host, log := testRegistry(t)
	idx := testIndex(t, 1, 512)
	tests := []struct {
		name  string
		idx   v1.ImageIndex
		dests []Destination
		opts  []Option
		want  string
	}{
		{name: "nil index", dests: []Destination{{Repository: host + "/web"}}, want: "no index"},
		{name: "no destinations", idx: idx, want: "no destinations"},
		{name: "empty repository", idx: idx, dests: []Destination{{}}, want: "empty repository"},
		{name: "repository with tag", idx: idx, dests: []Destination{{Repository: host + "/web:v1"}}, want: `move "v1" into Destination.Tags`},
		{name: "repository with digest", idx: idx, dests: []Destination{{Repository: host + "/web@sha256:abc"}}, want: "contains a digest"},
		{name: "no registry", idx: idx, dests: []Destination{{Repository: "web"}}, want: "not a full name"},
		{name: "bad repository", idx: idx, dests: []Destination{{Repository: host + "/We b"}}, want: "repository"},
		{name: "docker hub shorthand", idx: idx, dests: []Destination{{Repository: "acme/web"}}, want: "registry to be explicitly defined"},
		{name: "bad tag", idx: idx, dests: []Destination{{Repository: host + "/web", Tags: []string{"-bad"}}}, want: "is not valid"},
		{name: "empty tag", idx: idx, dests: []Destination{{Repository: host + "/web", Tags: []string{""}}}, want: "is not valid"},
		{name: "duplicate destination", idx: idx, dests: []Destination{{Repository: host + "/web"}, {Repository: host + "/web"}}, want: "listed twice"},
		{name: "auth and keychain", idx: idx, dests: []Destination{{Repository: host + "/web"}}, opts: []Option{WithAuth(authn.Anonymous), WithKeychain(authn.DefaultKeychain)}, want: "keep one"},
		{name: "zero jobs", idx: idx, dests: []Destination{{Repository: host + "/web"}}, opts: []Option{WithJobs(0)}, want: "WithJobs(0)"},
		{name: "zero attempts", idx: idx, dests: []Destination{{Repository: host + "/web"}}, opts: []Option{WithRetry(0, 0, 0)}, want: "at least 1"},
		{name: "inverted waits", idx: idx, dests: []Destination{{Repository: host + "/web"}}, opts: []Option{WithRetry(2, 2, 1)}, want: "max no less than first"},
		{name: "insecure URL", idx: idx, dests: []Destination{{Repository: host + "/web"}}, opts: []Option{WithInsecure("http://10.0.0.1:5000")}, want: "not a URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Push(t.Context(), tc.idx, tc.dests, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Push(%v) = %v, want error containing %q", tc.dests, err, tc.want)
			}
		})
	}
	if n := log.get("blob-head") + log.get("blob-upload") + log.get("manifest-put-tag") + log.get("manifest-put-digest"); n != 0 {
		t.Errorf("bad input caused %d registry requests, want 0", n)
	}
}

func TestPushImageAndAssembleIndex(t *testing.T) {
	host, _ := testRegistry(t)
	repo := host + "/split"
	idx := testIndex(t, 11, 2<<10)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	// Each "runner" pushes its platform by digest, without tags.
	var digests []string
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		r, err := PushImage(t.Context(), img, Destination{Repository: repo}, WithAuth(authn.Anonymous))
		if err != nil {
			t.Fatalf("PushImage(%s) = %v", desc.Platform, err)
		}
		if r.Digest != desc.Digest || len(r.Refs) != 1 || r.Refs[0] != repo+"@"+desc.Digest.String() {
			t.Errorf("PushImage(%s) = digest %s refs %v, want %s and only the digest ref", desc.Platform, r.Digest, r.Refs, desc.Digest)
		}
		if err := Verify(t.Context(), r.Refs[0], WithAuth(authn.Anonymous)); err != nil {
			t.Errorf("Verify(%s) = %v, want nil", r.Refs[0], err)
		}
		digests = append(digests, desc.Digest.String())
	}

	got, err := AssembleIndex(t.Context(), repo, digests, []string{"v1"}, WithAuth(authn.Anonymous))
	if err != nil {
		t.Fatalf("AssembleIndex() = %v", err)
	}
	// Same inputs in another order: same index.
	again, err := AssembleIndex(t.Context(), repo, []string{digests[1], digests[0]}, []string{"v1-again"}, WithAuth(authn.Anonymous))
	if err != nil {
		t.Fatalf("AssembleIndex(reversed) = %v", err)
	}
	if again != got {
		t.Errorf("AssembleIndex(reversed) = %s, want %s (order-independent)", again, got)
	}
	checkPulled(t, repo+":v1", got)
	tagRef, err := name.ParseReference(repo + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Index(tagRef, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := pulled.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range pm.Manifests {
		platforms = append(platforms, d.Platform.String())
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64/v8"}, platforms); diff != "" {
		t.Errorf("assembled platforms mismatch (-want +got):\n%s", diff)
	}
	if err := Verify(t.Context(), repo+"@"+got.String(), WithAuth(authn.Anonymous)); err != nil {
		t.Errorf("Verify(assembled) = %v, want nil", err)
	}

	// The index itself is not an image; unknown and repeated digests fail.
	if _, err := Push(t.Context(), idx, []Destination{{Repository: repo}}, WithAuth(authn.Anonymous)); err != nil {
		t.Fatal(err)
	}
	missing := "sha256:" + strings.Repeat("0", 64)
	bad := []struct {
		name    string
		digests []string
		want    string
	}{
		{name: "none", want: "no digests"},
		{name: "index", digests: []string{digestOf(t, idx).String()}, want: "not a single-platform image"},
		{name: "unknown", digests: []string{missing}, want: "fetch"},
		{name: "malformed", digests: []string{"sha256:zz"}, want: "is not a digest"},
		{name: "same platform twice", digests: []string{digests[0], digests[0]}, want: "pass one image per platform"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AssembleIndex(t.Context(), repo, tc.digests, nil, WithAuth(authn.Anonymous))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("AssembleIndex(%v) = %v, want error containing %q", tc.digests, err, tc.want)
			}
		})
	}
}

func TestPushImageRejectsNil(t *testing.T) {
	if _, err := PushImage(t.Context(), nil, Destination{Repository: "127.0.0.1:1/web"}); err == nil {
		t.Error("PushImage(nil) = nil error, want one")
	}
	img := testImage(t, amd64)
	if _, err := PushImage(t.Context(), img, Destination{Repository: "web"}); err == nil || !strings.Contains(err.Error(), "not a full name") {
		t.Errorf("PushImage(web) = %v, want a full-name error", err)
	}
	if _, err := PushImage(t.Context(), img, Destination{Repository: "127.0.0.1:1/web"}, WithJobs(-1)); err == nil {
		t.Error("PushImage(WithJobs(-1)) = nil error, want one")
	}
}

func TestVerifyRejects(t *testing.T) {
	host, _ := testRegistry(t)
	missing := host + "/web@sha256:" + strings.Repeat("0", 64)
	tests := []struct {
		name string
		ref  string
		opts []Option
		want string
		is   error
	}{
		{name: "tag instead of digest", ref: host + "/web:v1", want: "not a digest reference"},
		{name: "malformed digest", ref: host + "/web@sha256:12", want: "malformed"},
		{name: "bad repository", ref: "web@sha256:" + strings.Repeat("0", 64), want: "not a full name"},
		{name: "missing manifest", ref: missing, want: "not found", is: ErrNotFound},
		{name: "bad options", ref: missing, opts: []Option{WithJobs(0)}, want: "WithJobs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(t.Context(), tc.ref, append([]Option{WithAuth(authn.Anonymous)}, tc.opts...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify(%s) = %v, want error containing %q", tc.ref, err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(Verify(%s), %v) = false, want true", tc.ref, tc.is)
			}
		})
	}
}

func TestPushOrder(t *testing.T) {
	host, log := testRegistry(t)
	idx := testIndex(t, 31, 1<<10)
	root := digestOf(t, idx)
	if _, err := Push(t.Context(), idx, []Destination{{Repository: host + "/order", Tags: []string{"a", "b"}}}, WithAuth(authn.Anonymous)); err != nil {
		t.Fatal(err)
	}
	// Expected phases: blob HEADs and uploads, then child manifests by
	// digest, then the index by digest, then the tags.
	phase := func(entry string) int {
		switch {
		case strings.HasPrefix(entry, "blob-"):
			return 0
		case strings.HasPrefix(entry, "manifest-put-digest") && strings.HasSuffix(entry, root.String()):
			return 2
		case strings.HasPrefix(entry, "manifest-put-digest"):
			return 1
		case strings.HasPrefix(entry, "manifest-put-tag"):
			return 3
		}
		return -1
	}
	var got []int
	last := -1
	for _, e := range log.sequence() {
		p := phase(e)
		if p < 0 {
			continue
		}
		if p < last {
			t.Errorf("request %q (phase %d) came after phase %d; sequence:\n%s", e, p, last, strings.Join(log.sequence(), "\n"))
		}
		if p != last {
			got = append(got, p)
		}
		last = max(last, p)
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3}, got); diff != "" {
		t.Errorf("push phases mismatch (-want +got):\n%s", diff)
	}
}
