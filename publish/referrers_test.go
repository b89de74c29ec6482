package publish

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// fixedCreated stands for the SOURCE_DATE_EPOCH time a release passes.
	fixedCreated = "2024-05-06T07:08:09Z"
)

// referrerRegistry starts go-containerregistry's in-process registry, with
// the referrers API or without it (then clients use the referrers tag).
func referrerRegistry(t *testing.T, api bool) (string, *requestLog) {
	t.Helper()
	l := &requestLog{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(api))
	srv := httptest.NewServer(counting(reg, l))
	t.Cleanup(srv.Close)
	return hostOf(t, srv.URL), l
}

// testArtifacts returns n artifacts shaped like what signing attaches: two
// sigstore bundles and, from the third on, an SBOM whose layer type differs
// from its artifact type. label makes their content distinct.
func testArtifacts(label string, n int) []Artifact {
	var arts []Artifact
	for i := range n {
		a := Artifact{
			ArtifactType: bundleType,
			Data:         fmt.Appendf(nil, `{"mediaType":%q,"dsseEnvelope":{"payload":"%s-%d"}}`, bundleType, label, i),
			Annotations: map[string]string{
				"org.opencontainers.image.created": fixedCreated,
				"dev.sigstore.bundle.content":      "dsse-envelope",
				"test.index":                       fmt.Sprint(i),
			},
		}
		if i >= 2 {
			a.ArtifactType = "application/vnd.example.sbom"
			a.MediaType = "application/spdx+json"
			a.Data = fmt.Appendf(nil, `{"spdxVersion":"SPDX-2.3","name":"%s-%d"}`, label, i)
		}
		arts = append(arts, a)
	}
	return arts
}

// pushSubjects pushes a two-platform index by digest to repo and returns
// the index digest and the digest of its first platform manifest.
func pushSubjects(t *testing.T, repo string, seed uint64, opts ...Option) (index, platform string) {
	t.Helper()
	idx := testIndex(t, seed, 1<<10)
	if _, err := Push(t.Context(), idx, []Destination{{Repository: repo}}, opts...); err != nil {
		t.Fatalf("Push(%s) = %v", repo, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return digestOf(t, idx).String(), im.Manifests[0].Digest.String()
}

func parseDigest(t *testing.T, ref string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func descDigests(descs []v1.Descriptor) []string {
	var out []string
	for _, d := range descs {
		out = append(out, d.Digest.String())
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// checkAttached proves from the registry's side that every artifact is
// attached to subject as asked: the listing (ours and go-containerregistry's
// own) names each once with its type and annotations, and each manifest is
// an OCI 1.1 artifact whose subject is the subject as the registry serves
// it and whose layer holds the data.
func checkAttached(t *testing.T, repo, subject string, att Attached, arts []Artifact, ropts []remote.Option, opts ...Option) {
	t.Helper()
	if len(att.Digests) != len(arts) {
		t.Fatalf("Attach(%s) = %d digests, want %d", subject, len(att.Digests), len(arts))
	}
	got, err := Referrers(t.Context(), repo, subject, opts...)
	if err != nil {
		t.Fatalf("Referrers(%s) = %v", subject, err)
	}
	if diff := cmp.Diff(sorted(att.Digests), descDigests(got)); diff != "" {
		t.Errorf("Referrers(%s) digests differ from Attach's (-attached +listed):\n%s", subject, diff)
	}
	byDigest := map[string]v1.Descriptor{}
	for _, d := range got {
		byDigest[d.Digest.String()] = d
	}
	idx, err := remote.Referrers(parseDigest(t, repo+"@"+subject), ropts...)
	if err != nil {
		t.Fatalf("remote.Referrers(%s) = %v", subject, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sorted(att.Digests), descDigests(im.Manifests)); diff != "" {
		t.Errorf("remote.Referrers(%s) digests differ from Attach's (-attached +listed):\n%s", subject, diff)
	}

	subDesc, err := remote.Head(parseDigest(t, repo+"@"+subject), ropts...)
	if err != nil {
		t.Fatal(err)
	}
	emptySum := sha256.Sum256([]byte("{}"))
	for i, a := range arts {
		dg := att.Digests[i]
		if d := byDigest[dg]; d.ArtifactType != a.ArtifactType || d.MediaType != types.OCIManifestSchema1 ||
			!cmp.Equal(d.Annotations, a.Annotations) {
			t.Errorf("Referrers(%s) entry %s = type %q media %q annotations %v, want %q %q %v",
				subject, dg, d.ArtifactType, d.MediaType, d.Annotations, a.ArtifactType, types.OCIManifestSchema1, a.Annotations)
		}
		desc, err := remote.Get(parseDigest(t, repo+"@"+dg), ropts...)
		if err != nil {
			t.Fatalf("remote.Get(referrer %s) = %v", dg, err)
		}
		m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			t.Fatal(err)
		}
		wantLayer := a.MediaType
		if wantLayer == "" {
			wantLayer = a.ArtifactType
		}
		switch {
		case desc.MediaType != types.OCIManifestSchema1 || m.MediaType != types.OCIManifestSchema1:
			t.Errorf("referrer %s media type = %s (%s), want %s", dg, desc.MediaType, m.MediaType, types.OCIManifestSchema1)
		case m.ArtifactType != a.ArtifactType:
			t.Errorf("referrer %s artifactType = %q, want %q", dg, m.ArtifactType, a.ArtifactType)
		case m.Config.MediaType != "application/vnd.oci.empty.v1+json" || m.Config.Size != 2 || m.Config.Digest.Hex != hex.EncodeToString(emptySum[:]):
			t.Errorf("referrer %s config = %+v, want the OCI empty descriptor", dg, m.Config)
		case m.Subject == nil || m.Subject.Digest != subDesc.Digest || m.Subject.MediaType != subDesc.MediaType || m.Subject.Size != subDesc.Size:
			t.Errorf("referrer %s subject = %+v, want %s %s %d", dg, m.Subject, subDesc.MediaType, subDesc.Digest, subDesc.Size)
		case len(m.Layers) != 1 || string(m.Layers[0].MediaType) != wantLayer || m.Layers[0].Size != int64(len(a.Data)):
			t.Errorf("referrer %s layers = %+v, want one %s of %d bytes", dg, m.Layers, wantLayer, len(a.Data))
		default:
			l, err := remote.Layer(parseDigest(t, repo+"@"+m.Layers[0].Digest.String()), ropts...)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := l.Compressed()
			if err != nil {
				t.Fatalf("fetch layer of referrer %s: %v", dg, err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(data, a.Data) {
				t.Errorf("layer of referrer %s = %q (%v), want %q", dg, data, err, a.Data)
			}
		}
	}
}

// referrersTagOf returns the digest the referrers tag of subject names in
// repo, or "" when there is none.
func referrersTagOf(t *testing.T, repo, subject string, opts ...Option) string {
	t.Helper()
	got, err := TagDigest(t.Context(), repo, strings.Replace(subject, ":", "-", 1), opts...)
	if err != nil {
		t.Fatalf("TagDigest(referrers tag of %s) = %v", subject, err)
	}
	return got
}

// listedByTag returns the referrer digests the referrers tag's index lists.
func listedByTag(t *testing.T, repo, subject string) []string {
	t.Helper()
	ref, err := name.NewTag(repo + ":" + strings.Replace(subject, ":", "-", 1))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("remote.Index(%s) = %v", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return descDigests(im.Manifests)
}

// TestAttachListDetach attaches three artifacts to an index and three to
// one of its platform manifests, on a registry with the referrers API and
// on one that needs the referrers tag, then reruns and undoes it all.
func TestAttachListDetach(t *testing.T) {
	for _, api := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "referrers tag"}[api], func(t *testing.T) {
			host, l := referrerRegistry(t, api)
			repo := host + "/web"
			ropts := []remote.Option{remote.WithContext(t.Context())}
			index, platform := pushSubjects(t, repo, 700)

			subjects := []struct {
				name, digest string
				arts         []Artifact
			}{
				{"index", index, testArtifacts("index", 3)},
				{"platform manifest", platform, testArtifacts("amd64", 3)},
			}
			var done []Attached
			for _, s := range subjects {
				att, err := Attach(t.Context(), repo, s.digest, s.arts)
				if err != nil {
					t.Fatalf("Attach(%s) = %v", s.name, err)
				}
				done = append(done, att)
				if att.Repository != repo || att.Subject != s.digest || !slices.Equal(att.New, att.Digests) {
					t.Errorf("Attach(%s) = %+v, want repository %s, subject %s and every digest new", s.name, att, repo, s.digest)
				}
				tag := strings.Replace(s.digest, ":", "-", 1)
				if api {
					if att.Fallback != nil {
						t.Errorf("Attach(%s).Fallback = %+v with the referrers API, want nil", s.name, att.Fallback)
					}
					if got := referrersTagOf(t, repo, s.digest); got != "" {
						t.Errorf("referrers tag of %s = %s with the referrers API, want none", s.name, got)
					}
				} else {
					want := &TagState{Repository: repo, Tag: tag, Previous: ""}
					if !cmp.Equal(att.Fallback, want) {
						t.Errorf("Attach(%s).Fallback = %+v, want %+v", s.name, att.Fallback, want)
					}
					// Three rewrites of one tag in a row: none may be lost.
					if got := listedByTag(t, repo, s.digest); !slices.Equal(got, sorted(att.Digests)) {
						t.Errorf("referrers tag of %s lists %v, want %v", s.name, got, sorted(att.Digests))
					}
				}
				checkAttached(t, repo, s.digest, att, s.arts, ropts)
			}

			t.Run("rerun", func(t *testing.T) {
				l.reset()
				for i, s := range subjects {
					again, err := Attach(t.Context(), repo, s.digest, s.arts)
					if err != nil {
						t.Fatalf("Attach(%s) again = %v", s.name, err)
					}
					if len(again.New) != 0 || again.Fallback != nil || !slices.Equal(again.Digests, done[i].Digests) {
						t.Errorf("Attach(%s) again = %+v, want the same digests, none new, no tag moved", s.name, again)
					}
				}
				for _, kind := range []string{"manifest-put-digest", "manifest-put-tag", "blob-upload"} {
					if n := l.get(kind); n != 0 {
						t.Errorf("rerun sent %d %s requests, want 0:\n%s", n, kind, strings.Join(l.sequence(), "\n"))
					}
				}
			})

			if err := Detach(t.Context(), done); err != nil {
				t.Fatalf("Detach() = %v", err)
			}
			for i, s := range subjects {
				got, err := Referrers(t.Context(), repo, s.digest)
				if err != nil || len(got) != 0 {
					t.Errorf("Referrers(%s) after Detach = %v, %v; want none", s.name, got, err)
				}
				if got := referrersTagOf(t, repo, s.digest); got != "" {
					t.Errorf("referrers tag of %s after Detach = %s, want none", s.name, got)
				}
				for _, dg := range done[i].New {
					if _, err := headRef(t, repo+"@"+dg); !isStatus(err, http.StatusNotFound) {
						t.Errorf("referrer %s after Detach: HEAD = %v, want 404", dg, err)
					}
				}
				if _, err := headRef(t, repo+"@"+s.digest); err != nil {
					t.Errorf("subject %s after Detach: HEAD = %v, want it kept", s.name, err)
				}
			}
			// Undoing again finds nothing left to do.
			if err := Detach(t.Context(), done); err != nil {
				t.Errorf("Detach() a second time = %v, want nil", err)
			}
		})
	}
}

// TestDetachRestoresReferrersTag covers a referrers tag that existed before
// Attach: Detach must point it back at the old index, not delete it.
func TestDetachRestoresReferrersTag(t *testing.T) {
	host, _ := referrerRegistry(t, false)
	repo := host + "/web"
	index, _ := pushSubjects(t, repo, 710)
	arts := testArtifacts("restore", 3)

	first, err := Attach(t.Context(), repo, index, arts[:1])
	if err != nil {
		t.Fatalf("Attach(first) = %v", err)
	}
	before := referrersTagOf(t, repo, index)
	if before == "" {
		t.Fatal("no referrers tag after the first Attach")
	}
	second, err := Attach(t.Context(), repo, index, arts[1:])
	if err != nil {
		t.Fatalf("Attach(second) = %v", err)
	}
	if second.Fallback == nil || second.Fallback.Previous != before {
		t.Fatalf("Attach(second).Fallback = %+v, want Previous %s", second.Fallback, before)
	}
	if got := listedByTag(t, repo, index); len(got) != 3 {
		t.Fatalf("referrers tag lists %v after two Attach calls, want 3 entries", got)
	}

	if err := Detach(t.Context(), []Attached{second}); err != nil {
		t.Fatalf("Detach(second) = %v", err)
	}
	if got := referrersTagOf(t, repo, index); got != before {
		t.Errorf("referrers tag after Detach(second) = %s, want the old %s", got, before)
	}
	got, err := Referrers(t.Context(), repo, index)
	if err != nil || !slices.Equal(descDigests(got), first.Digests) {
		t.Errorf("Referrers() after Detach(second) = %v, %v; want only %v", descDigests(got), err, first.Digests)
	}
	if _, err := headRef(t, repo+"@"+first.Digests[0]); err != nil {
		t.Errorf("the first referrer after Detach(second): HEAD = %v, want it kept", err)
	}
	for _, dg := range second.New {
		if _, err := headRef(t, repo+"@"+dg); !isStatus(err, http.StatusNotFound) {
			t.Errorf("referrer %s after Detach(second): HEAD = %v, want 404", dg, err)
		}
	}

	if err := Detach(t.Context(), []Attached{first}); err != nil {
		t.Fatalf("Detach(first) = %v", err)
	}
	if got := referrersTagOf(t, repo, index); got != "" {
		t.Errorf("referrers tag after Detach(first) = %s, want none", got)
	}
}

// TestReferrerManifestBytes pins the exact manifest: any change to its
// bytes changes every digest and makes published releases unreproducible.
func TestReferrerManifestBytes(t *testing.T) {
	subject := v1.Descriptor{
		MediaType: types.OCIImageIndex,
		Size:      321,
		Digest:    v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)},
		// Registries may describe more; none of it may reach the manifest.
		Annotations: map[string]string{"x": "y"},
		Platform:    &amd64,
	}
	art := Artifact{
		ArtifactType: bundleType,
		Data:         []byte("hello"),
		Annotations:  map[string]string{"org.opencontainers.image.created": fixedCreated, "a": "1"},
	}
	m, err := referrerManifest(subject, art)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},` +
		`"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","size":5,"digest":"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}],` +
		`"annotations":{"a":"1","org.opencontainers.image.created":"2024-05-06T07:08:09Z"},` +
		`"subject":{"mediaType":"application/vnd.oci.image.index.v1+json","size":321,"digest":"sha256:` + strings.Repeat("ab", 32) + `"},` +
		`"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`
	if diff := cmp.Diff(want, string(m.raw)); diff != "" {
		t.Errorf("referrerManifest() bytes differ (-want +got):\n%s", diff)
	}
	sum := sha256.Sum256(m.raw)
	if m.digest.Hex != hex.EncodeToString(sum[:]) || m.mediaType != types.OCIManifestSchema1 {
		t.Errorf("referrerManifest() = digest %s media %s, want sha256 of its bytes and %s", m.digest, m.mediaType, types.OCIManifestSchema1)
	}
}

// TestAttachDeterministic attaches the same artifacts to the same image in
// two registries, one of each kind: the digests agree, and depend on every
// input (an annotation, the subject).
func TestAttachDeterministic(t *testing.T) {
	arts := testArtifacts("same", 2)
	var runs [][]string
	for _, api := range []bool{true, false} {
		host, _ := referrerRegistry(t, api)
		index, _ := pushSubjects(t, host+"/web", 720)
		att, err := Attach(t.Context(), host+"/web", index, arts)
		if err != nil {
			t.Fatalf("Attach(api=%v) = %v", api, err)
		}
		runs = append(runs, att.Digests)
	}
	if !slices.Equal(runs[0], runs[1]) {
		t.Errorf("Attach() digests = %v and %v for the same inputs, want equal", runs[0], runs[1])
	}
	if runs[0][0] == runs[0][1] {
		t.Errorf("Attach() gave two different artifacts the same digest %s", runs[0][0])
	}

	host, _ := referrerRegistry(t, false)
	index, platform := pushSubjects(t, host+"/web", 720)
	changed := testArtifacts("same", 2)
	changed[1].Annotations["org.opencontainers.image.created"] = "2024-05-06T07:08:10Z"
	att, err := Attach(t.Context(), host+"/web", index, changed)
	if err != nil {
		t.Fatal(err)
	}
	if att.Digests[0] != runs[0][0] || att.Digests[1] == runs[0][1] {
		t.Errorf("Attach() with artifact 1's time changed = %v, want [%s, something other than %s]", att.Digests, runs[0][0], runs[0][1])
	}
	other, err := Attach(t.Context(), host+"/web", platform, arts[:1])
	if err != nil {
		t.Fatal(err)
	}
	if other.Digests[0] == runs[0][0] {
		t.Errorf("Attach() to another subject gave the same digest %s", other.Digests[0])
	}
}

func TestAttachErrors(t *testing.T) {
	host, l := referrerRegistry(t, false)
	repo := host + "/web"
	index, _ := pushSubjects(t, repo, 730)
	missing := "sha256:" + strings.Repeat("a", 64)
	good := testArtifacts("err", 1)
	with := func(f func(*Artifact)) []Artifact {
		a := good[0]
		f(&a)
		return []Artifact{a}
	}
	tests := []struct {
		name, repo, subject string
		arts                []Artifact
		is                  error
		want                string
		// sends says whether any request may reach the registry.
		sends bool
	}{
		{name: "subject not pushed", repo: repo, subject: missing, arts: good, is: ErrNotFound, want: "push the image first", sends: true},
		{name: "bad digest", repo: repo, subject: "sha256:zz", arts: good, want: "not a digest"},
		{name: "bad repository", repo: "web", subject: index, arts: good, want: "registry"},
		{name: "no artifacts", repo: repo, subject: index, want: "no artifacts"},
		{name: "no artifact type", repo: repo, subject: index, arts: with(func(a *Artifact) { a.ArtifactType = "" }), want: "ArtifactType is empty"},
		{name: "artifact type not a media type", repo: repo, subject: index, arts: with(func(a *Artifact) { a.ArtifactType = "sigstore bundle" }), want: "not a media type"},
		{name: "layer type not a media type", repo: repo, subject: index, arts: with(func(a *Artifact) { a.MediaType = "json" }), want: "MediaType"},
		{name: "no data", repo: repo, subject: index, arts: with(func(a *Artifact) { a.Data = nil }), want: "no Data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l.reset()
			att, err := Attach(t.Context(), tt.repo, tt.subject, tt.arts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Attach(%s, %s) = %v, want an error containing %q", tt.repo, tt.subject, err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Attach(%s, %s) = %v, want it to match %v", tt.repo, tt.subject, err, tt.is)
			}
			if len(att.New) != 0 || att.Fallback != nil {
				t.Errorf("Attach(%s, %s) = %+v, want nothing recorded as done", tt.repo, tt.subject, att)
			}
			for _, r := range l.sequence() {
				if !tt.sends || strings.HasPrefix(r, "manifest-put") || strings.HasPrefix(r, "blob-upload") {
					t.Errorf("Attach(%s, %s) sent %s, want no request that writes (or none at all for bad input)", tt.repo, tt.subject, r)
				}
			}
		})
	}
}

func TestReferrersNone(t *testing.T) {
	for _, api := range []bool{true, false} {
		host, _ := referrerRegistry(t, api)
		repo := host + "/web"
		index, _ := pushSubjects(t, repo, 740)
		for _, subject := range []string{index, "sha256:" + strings.Repeat("b", 64)} {
			got, err := Referrers(t.Context(), repo, subject)
			if err != nil || len(got) != 0 {
				t.Errorf("Referrers(api=%v, %s) = %v, %v; want an empty list and no error", api, subject, got, err)
			}
		}
	}
	if _, err := Referrers(t.Context(), "127.0.0.1:1/web", "sha256:"+strings.Repeat("c", 64), WithRetry(1, 0, 0)); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Referrers() of a stopped registry = %v, want ErrUnreachable", err)
	}
}

// refusingProxy stands in front of a registry that lacks the referrers API
// and answers manifest PUTs whose body refuse matches as a registry from
// before OCI 1.1 does. It counts the manifest PUTs the registry accepted.
type refusingProxy struct {
	next     http.Handler
	status   int
	refuse   atomic.Pointer[func(body []byte) bool]
	accepted atomic.Int64
	refused  atomic.Int64
}

func (p *refusingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isManifestPut(r) {
		p.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if refuse := p.refuse.Load(); refuse != nil && (*refuse)(body) {
		p.refused.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(p.status)
		io.WriteString(w, `{"errors":[{"code":"MANIFEST_INVALID","message":"subject not supported"}]}`)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w}
	p.next.ServeHTTP(sw, r)
	if sw.status < 300 {
		p.accepted.Add(1)
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// repoState is what a user of the repository can see: its tags with their
// digests, and the referrers of a subject.
func repoState(t *testing.T, repo, subject string) string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("remote.List(%s) = %v", repo, err)
	}
	slices.Sort(tags)
	var b strings.Builder
	for _, tag := range tags {
		fmt.Fprintf(&b, "%s -> %s\n", tag, tagDigest(t, repo+":"+tag))
	}
	refs, err := Referrers(t.Context(), repo, subject)
	if err != nil {
		t.Fatalf("Referrers(%s) = %v", subject, err)
	}
	fmt.Fprintf(&b, "referrers %v\n", descDigests(refs))
	return b.String()
}

// TestAttachRefused puts a registry that refuses artifact manifests behind
// Attach: the error says so (ErrReferrersRefused), nothing refused is
// stored, and Detach of what Attach returned leaves the repository as it
// was, also when the refusal comes after one artifact went in.
func TestAttachRefused(t *testing.T) {
	always := func(b []byte) bool { return bytes.Contains(b, []byte(`"subject"`)) }
	second := func(b []byte) bool { return always(b) && bytes.Contains(b, []byte(`"test.index":"1"`)) }
	tests := []struct {
		name   string
		status int
		refuse func([]byte) bool
		// earlier attaches one artifact before the faults, so that the
		// referrers tag exists and must be put back rather than deleted.
		earlier  bool
		accepted int64 // manifest PUTs that reach the registry
	}{
		{name: "400 MANIFEST_INVALID", status: http.StatusBadRequest, refuse: always},
		{name: "415 with a referrers tag already there", status: http.StatusUnsupportedMediaType, refuse: always, earlier: true},
		// The first artifact's manifest and its referrers tag go in.
		{name: "second artifact refused", status: http.StatusBadRequest, refuse: second, accepted: 2},
		{name: "second artifact refused with a referrers tag already there", status: http.StatusBadRequest, refuse: second, earlier: true, accepted: 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend, _ := referrerRegistry(t, false)
			u, err := url.Parse("http://" + backend)
			if err != nil {
				t.Fatal(err)
			}
			rp := httputil.NewSingleHostReverseProxy(u)
			rp.ErrorLog = log.New(io.Discard, "", 0)
			p := &refusingProxy{next: rp, status: tt.status}
			front := httptest.NewServer(p)
			t.Cleanup(front.Close)
			repo := hostOf(t, front.URL) + "/web"
			opts := []Option{WithAuth(authn.Anonymous)}
			index, _ := pushSubjects(t, repo, uint64(750+i), opts...)
			if tt.earlier {
				if _, err := Attach(t.Context(), repo, index, testArtifacts("earlier", 1)[:1], opts...); err != nil {
					t.Fatalf("Attach(earlier) = %v", err)
				}
			}
			before := repoState(t, backend+"/web", index)

			p.accepted.Store(0)
			p.refuse.Store(&tt.refuse)
			att, err := Attach(t.Context(), repo, index, testArtifacts("refused", 3), opts...)
			if !errors.Is(err, ErrReferrersRefused) {
				t.Fatalf("Attach() through a refusing registry = %v, want ErrReferrersRefused", err)
			}
			for _, want := range []string{"does not accept OCI 1.1 artifact manifests", "upgrade the registry", "publish without attaching", "subject not supported"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Attach() error = %q, want it to contain %q", err, want)
				}
			}
			if p.refused.Load() != 1 {
				t.Errorf("registry refused %d manifest PUTs, want 1 (a refusal is not retried)", p.refused.Load())
			}
			if got := p.accepted.Load(); got != tt.accepted {
				t.Errorf("registry accepted %d manifest PUTs, want %d", got, tt.accepted)
			}
			if tt.accepted == 0 && (len(att.New) != 0 || att.Fallback != nil) {
				t.Errorf("Attach() = %+v, want nothing new and no tag moved when the first PUT is refused", att)
			}
			if tt.accepted > 0 && (!slices.Equal(att.New, att.Digests[:1]) || att.Fallback == nil) {
				t.Errorf("Attach() = %+v, want New = the first digest and the tag state recorded", att)
			}

			if err := Detach(t.Context(), []Attached{att}, opts...); err != nil {
				t.Fatalf("Detach(partial) = %v", err)
			}
			if after := repoState(t, backend+"/web", index); after != before {
				t.Errorf("repository after Detach:\n%s\nwant as before Attach:\n%s", after, before)
			}
			for _, dg := range att.New {
				if _, err := headRef(t, backend+"/web@"+dg); !isStatus(err, http.StatusNotFound) {
					t.Errorf("referrer %s after Detach: HEAD = %v, want 404", dg, err)
				}
			}
		})
	}
}

// TestDistributionReferrers attaches through the referrers tag of the real
// distribution 2.8 registry, which has no referrers API, and undoes it.
func TestDistributionReferrers(t *testing.T) {
	d := startDistribution(t)
	repo := d.host + "/signed"
	opts := []Option{WithAuth(rightCreds), WithTransport(d.transport())}
	ropts := []remote.Option{remote.WithContext(t.Context()), remote.WithAuth(rightCreds), remote.WithTransport(d.transport())}
	index, _ := pushSubjects(t, repo, 760, opts...)
	arts := testArtifacts("dist", 3)

	first, err := Attach(t.Context(), repo, index, arts[:1], opts...)
	if err != nil {
		t.Fatalf("Attach(first) = %v", err)
	}
	if first.Fallback == nil || first.Fallback.Previous != "" {
		t.Errorf("Attach(first).Fallback = %+v, want a new referrers tag (distribution 2.8 has no referrers API)", first.Fallback)
	}
	second, err := Attach(t.Context(), repo, index, arts[1:], opts...)
	if err != nil {
		t.Fatalf("Attach(second) = %v", err)
	}
	if second.Fallback == nil || second.Fallback.Previous == "" {
		t.Errorf("Attach(second).Fallback = %+v, want the first index recorded", second.Fallback)
	}
	all := Attached{Digests: append(slices.Clone(first.Digests), second.Digests...)}
	checkAttached(t, repo, index, all, arts, ropts, opts...)

	again, err := Attach(t.Context(), repo, index, arts, opts...)
	if err != nil || len(again.New) != 0 || again.Fallback != nil {
		t.Errorf("Attach() again = %+v, %v; want nothing new and no tag moved", again, err)
	}

	if err := Detach(t.Context(), []Attached{first, second}, opts...); err != nil {
		t.Fatalf("Detach() = %v", err)
	}
	got, err := Referrers(t.Context(), repo, index, opts...)
	if err != nil || len(got) != 0 {
		t.Errorf("Referrers() after Detach = %v, %v; want none", got, err)
	}
	if tag := referrersTagOf(t, repo, index, opts...); tag != "" {
		t.Errorf("referrers tag after Detach = %s, want none", tag)
	}
	for _, dg := range all.Digests {
		if _, err := remote.Head(parseDigest(t, repo+"@"+dg), ropts...); !isStatus(err, http.StatusNotFound) {
			t.Errorf("referrer %s after Detach: HEAD = %v, want 404", dg, err)
		}
	}
}

// TestAttachLostReply loses every reply to a referrer manifest PUT after
// the registry stored it: Attach fails, but still reports the manifest as
// new, so that Detach removes it instead of leaving it behind.
func TestAttachLostReply(t *testing.T) {
	front, back, f, _ := startFaultProxy(t)
	opts := []Option{WithAuth(authn.Anonymous), WithRetry(2, time.Millisecond, time.Millisecond)}
	index, _ := pushSubjects(t, front+"/web", 770, opts...)
	before := repoState(t, back+"/web", index)
	f.setRule(func(_ int, r *http.Request) fault {
		if isManifestPut(r) && strings.Contains(r.URL.Path, "/manifests/sha256:") {
			return lost
		}
		return pass
	})
	att, err := Attach(t.Context(), front+"/web", index, testArtifacts("lost", 1), opts...)
	if err == nil || errors.Is(err, ErrReferrersRefused) {
		t.Fatalf("Attach() with every reply lost = %v, want a failure that is not a refusal", err)
	}
	if _, herr := headRef(t, back+"/web@"+att.Digests[0]); herr != nil {
		t.Fatalf("the registry does not hold the referrer whose reply was lost (%v); the test proves nothing", herr)
	}
	if !slices.Equal(att.New, att.Digests) || att.Fallback != nil {
		t.Errorf("Attach() = %+v, want the stored manifest in New and no tag moved", att)
	}
	f.setRule(nil)
	if err := Detach(t.Context(), []Attached{att}, opts...); err != nil {
		t.Fatalf("Detach() = %v", err)
	}
	if _, err := headRef(t, back+"/web@"+att.Digests[0]); !isStatus(err, http.StatusNotFound) {
		t.Errorf("referrer after Detach: HEAD = %v, want 404", err)
	}
	if after := repoState(t, back+"/web", index); after != before {
		t.Errorf("repository after Detach:\n%s\nwant as before Attach:\n%s", after, before)
	}
}

// TestAttachProgress checks the lines a CI log gets: the fallback in use,
// each blob and referrer once (the empty config is shared, so it is sent
// once), what a rerun skipped, and what Detach put back.
func TestAttachProgress(t *testing.T) {
	host, _ := referrerRegistry(t, false)
	repo := host + "/web"
	index, _ := pushSubjects(t, repo, 780)
	arts := testArtifacts("progress", 2)
	var out strings.Builder
	att, err := Attach(t.Context(), repo, index, arts, WithProgress(&out, false))
	if err != nil {
		t.Fatal(err)
	}
	if first := out.String(); strings.Contains(first, "exists sha256:44136fa355b3") {
		t.Errorf("the first Attach checked the shared empty config again:\n%s", first)
	}
	if _, err := Attach(t.Context(), repo, index, arts, WithProgress(&out, false)); err != nil {
		t.Fatal(err)
	}
	if err := Detach(t.Context(), []Attached{att}, WithProgress(&out, false)); err != nil {
		t.Fatal(err)
	}
	tag := strings.Replace(index, ":", "-", 1)
	wants := map[string]int{
		host + " has no referrers API: listing referrers under tag " + tag: 2,
		"pushed sha256:44136fa355b3 2 B to " + repo:                        1,
		"attached ":        2,
		"exists referrer ": 2,
		"restored referrers tag " + repo + ":" + tag: 1,
		"removed referrer ":                          2,
	}
	for want, n := range wants {
		if got := strings.Count(out.String(), want); got != n {
			t.Errorf("progress has %d lines with %q, want %d:\n%s", got, want, n, out.String())
		}
	}
}
