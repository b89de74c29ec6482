package server

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hoistdev/hoist/publish"
)

// hasReferrersAPI asks the server directly whether it serves the OCI 1.1
// referrers endpoint for subject.
func hasReferrersAPI(t *testing.T, s *Server, repo string, subject v1.Hash) bool {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+"/v2/"+repo+"/referrers/"+subject.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", string(types.OCIImageIndex))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET referrers of %s = %v", subject, err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") == string(types.OCIImageIndex)
}

func sortedDigests(descs []v1.Descriptor) []string {
	var out []string
	for _, d := range descs {
		out = append(out, d.Digest.String())
	}
	slices.Sort(out)
	return out
}

// TestReferrersThroughPublish attaches signing-style artifacts to an index
// in the embedded registry with publish.Attach, lists them with
// publish.Referrers and with go-containerregistry, checks that they
// survive a restart, and takes them off again with publish.Detach.
// distribution v3 has no referrers API, so this runs through the referrers
// tag; should a later release add the API, the test still holds, and the
// log says which path was taken.
func TestReferrersThroughPublish(t *testing.T) {
	dir := t.TempDir()
	first := serve(t, dir)
	const repoPath = "hoist/signed"
	repo := first.Addr() + "/" + repoPath
	opts := []publish.Option{publish.WithAuth(authn.Anonymous)}

	idx, err := random.Index(1024, 1, 2)
	if err != nil {
		t.Fatalf("random.Index() = %v", err)
	}
	res, err := publish.Push(t.Context(), idx, []publish.Destination{{Repository: repo}}, opts...)
	if err != nil {
		t.Fatalf("publish.Push() = %v", err)
	}
	subject := res[0].Digest
	api := hasReferrersAPI(t, first.Server, repoPath, subject)
	t.Logf("embedded registry serves the referrers API: %t", api)

	var arts []publish.Artifact
	for i := range 3 {
		arts = append(arts, publish.Artifact{
			ArtifactType: "application/vnd.dev.sigstore.bundle.v0.3+json",
			Data:         fmt.Appendf(nil, `{"dsseEnvelope":{"payload":"%d"}}`, i),
			Annotations:  map[string]string{"org.opencontainers.image.created": "2024-05-06T07:08:09Z"},
		})
	}
	att, err := publish.Attach(t.Context(), repo, subject.String(), arts, opts...)
	if err != nil {
		t.Fatalf("publish.Attach() = %v", err)
	}
	if !slices.Equal(att.New, att.Digests) || len(att.Digests) != len(arts) {
		t.Errorf("publish.Attach() = %+v, want %d new referrers", att, len(arts))
	}
	if (att.Fallback == nil) != api {
		t.Errorf("publish.Attach().Fallback = %+v with referrers API %t, want a recorded tag exactly when there is no API", att.Fallback, api)
	}
	want := slices.Sorted(slices.Values(att.Digests))

	list := func(s *Server) {
		t.Helper()
		got, err := publish.Referrers(t.Context(), repo, subject.String(), opts...)
		if err != nil {
			t.Fatalf("publish.Referrers() = %v", err)
		}
		if !slices.Equal(sortedDigests(got), want) {
			t.Errorf("publish.Referrers() = %v, want %v", sortedDigests(got), want)
		}
		for _, d := range got {
			if d.ArtifactType != arts[0].ArtifactType {
				t.Errorf("publish.Referrers() entry %s has artifactType %q, want %q", d.Digest, d.ArtifactType, arts[0].ArtifactType)
			}
		}
		sref, err := name.NewDigest(repo + "@" + subject.String())
		if err != nil {
			t.Fatal(err)
		}
		ridx, err := remote.Referrers(sref, remote.WithContext(t.Context()))
		if err != nil {
			t.Fatalf("remote.Referrers() = %v", err)
		}
		im, err := ridx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sortedDigests(im.Manifests), want) {
			t.Errorf("remote.Referrers() = %v, want %v", sortedDigests(im.Manifests), want)
		}
	}
	list(first.Server)

	// The referrers are stored like any manifest, so they outlive the
	// process; the same address keeps the repository name valid.
	if err := first.stop(t); err != nil {
		t.Fatalf("Serve() after cancel = %v", err)
	}
	second := serve(t, dir, WithAddr(first.Addr()))
	list(second.Server)

	again, err := publish.Attach(t.Context(), repo, subject.String(), arts, opts...)
	if err != nil || len(again.New) != 0 || again.Fallback != nil {
		t.Errorf("publish.Attach() again = %+v, %v; want nothing new and no tag moved", again, err)
	}

	if err := publish.Detach(t.Context(), []publish.Attached{att}, opts...); err != nil {
		t.Fatalf("publish.Detach() = %v", err)
	}
	got, err := publish.Referrers(t.Context(), repo, subject.String(), opts...)
	if err != nil || len(got) != 0 {
		t.Errorf("publish.Referrers() after Detach = %v, %v; want none", sortedDigests(got), err)
	}
	tag, err := publish.TagDigest(t.Context(), repo, subject.Algorithm+"-"+subject.Hex, opts...)
	if err != nil || tag != "" {
		t.Errorf("referrers tag after Detach = %q, %v; want none", tag, err)
	}
}
