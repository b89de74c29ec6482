package image

import (
	"bytes"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// baseImage makes a small single-platform base with two layers, as Docker
// (docker=true) or OCI media types, with an env and a Cmd that hoist must
// merge or drop.
func baseImage(t *testing.T, p v1.Platform, docker bool) v1.Image {
	t.Helper()
	lmt := types.OCILayer
	if docker {
		lmt = types.DockerLayer
	}
	var adds []mutate.Addendum
	for range 2 {
		l, err := random.Layer(256, lmt)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: lmt, History: v1.History{CreatedBy: "base layer"}})
	}
	img := empty.Image
	if !docker {
		img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		t.Fatal(err)
	}
	cf := configOf(t, img).DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	cf.Config.Cmd = []string{"/bin/sh"}
	cf.Config.Labels = map[string]string{"base.vendor": "example"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// countingTransport proves that WithRemoteOptions reaches the remote calls.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func baseIndex(t *testing.T, plats ...v1.Platform) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range plats {
		plat := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: baseImage(t, p, false), Descriptor: v1.Descriptor{Platform: &plat}})
	}
	return idx
}

func TestBuildOnRegistryBase(t *testing.T) {
	host := newRegistry(t)
	push := func(repo string, x any) string {
		ref, err := name.ParseReference(host + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		switch v := x.(type) {
		case v1.Image:
			err = remote.Write(ref, v, remote.WithContext(t.Context()))
		case v1.ImageIndex:
			err = remote.WriteIndex(ref, v, remote.WithContext(t.Context()))
		}
		if err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
		return ref.Name()
	}
	multi := baseIndex(t, amd64, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
	multiRef := push("base/multi:1", multi)
	dockerImg := baseImage(t, amd64, true)
	dockerRef := push("base/docker:1", dockerImg)
	amdOnly := push("base/amd-only:1", baseIndex(t, amd64))

	t.Run("multi-platform index", func(t *testing.T) {
		var log bytes.Buffer
		rt := &countingTransport{next: http.DefaultTransport}
		res, err := Build(t.Context(), fakeBinaries(t, "web"), Config{Base: multiRef, Env: []string{"LANG=en_US.UTF-8"}, Created: commitTime},
			WithLogger(&log), WithKeychain(authn.NewMultiKeychain()), WithRemoteOptions(remote.WithTransport(rt)))
		if err != nil {
			t.Fatalf("Build() error = %v", err)
		}
		if rt.n.Load() == 0 {
			t.Errorf("WithRemoteOptions(WithTransport) transport saw no requests")
		}
		if err := validate.Index(res.Index); err != nil {
			t.Fatalf("validate.Index() = %v", err)
		}
		if want := mustDigest(t, multi); res.BaseDigest != want || res.BaseName != multiRef {
			t.Errorf("Result base = %s@%s, want %s@%s", res.BaseName, res.BaseDigest, multiRef, want)
		}
		im, _ := res.Index.IndexManifest()
		if im.Annotations[AnnotationBaseDigest] != mustDigest(t, multi).String() || im.Annotations[AnnotationBaseName] != multiRef {
			t.Errorf("index base annotations = %v, want %s@%s", im.Annotations, multiRef, mustDigest(t, multi))
		}
		bm, _ := multi.IndexManifest()
		for i, pi := range res.Images {
			if pi.BaseDigest != bm.Manifests[i].Digest {
				t.Errorf("%s BaseDigest = %s, want %s", platformString(pi.Platform), pi.BaseDigest, bm.Manifests[i].Digest)
			}
			baseImg, _ := multi.Image(bm.Manifests[i].Digest)
			baseLayers := layersOf(t, baseImg)
			layers := layersOf(t, pi.Image)
			if len(layers) != len(baseLayers)+1 {
				t.Fatalf("%s has %d layers, want %d", platformString(pi.Platform), len(layers), len(baseLayers)+1)
			}
			for j := range baseLayers {
				if mustDigest(t, layers[j]) != mustDigest(t, baseLayers[j]) {
					t.Errorf("layer %d = %s, want the base's %s", j, mustDigest(t, layers[j]), mustDigest(t, baseLayers[j]))
				}
			}
			c := configOf(t, pi.Image).Config
			if strings.Join(c.Env, " ") != "PATH=/usr/bin:/bin LANG=en_US.UTF-8" || c.Cmd != nil || c.Labels["base.vendor"] != "example" {
				t.Errorf("config Env, Cmd, Labels = %q, %q, %v, want merged env, no Cmd, base label kept", c.Env, c.Cmd, c.Labels)
			}
		}
		if !strings.Contains(log.String(), "image: base "+multiRef) || !strings.Contains(log.String(), "linux/arm64 sha256:") {
			t.Errorf("log = %q, want the base and one line per platform", log.String())
		}
	})

	t.Run("docker media types become OCI", func(t *testing.T) {
		res, err := Build(t.Context(), fakeBinaries(t, "web")[:1], Config{Base: dockerRef})
		if err != nil {
			t.Fatalf("Build() error = %v", err)
		}
		if err := validate.Index(res.Index); err != nil {
			t.Fatalf("validate.Index() = %v", err)
		}
		img := res.Images[0].Image
		m := manifestOf(t, img)
		if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
			t.Errorf("manifest media types = %s, %s, want OCI", m.MediaType, m.Config.MediaType)
		}
		for _, l := range m.Layers {
			if l.MediaType != types.OCILayer {
				t.Errorf("layer %s media type = %s, want %s", l.Digest, l.MediaType, types.OCILayer)
			}
		}
		if want := mustDigest(t, dockerImg); res.Images[0].BaseDigest != want || res.BaseDigest != want {
			t.Errorf("BaseDigest = %s / %s, want the Docker image's %s", res.Images[0].BaseDigest, res.BaseDigest, want)
		}
		if h := configOf(t, img).History; len(h) != 3 || h[0].CreatedBy != "base layer" {
			t.Errorf("history = %+v, want the base's two entries and hoist's", h)
		}
	})

	t.Run("single-platform base lacks arm64", func(t *testing.T) {
		_, err := Build(t.Context(), fakeBinaries(t, "web"), Config{Base: dockerRef})
		if err == nil || !containsAll(err.Error(), "linux/arm64", "single-platform", "linux/amd64") {
			t.Errorf("Build() error = %v, want one naming linux/arm64 and the base's platform", err)
		}
	})

	t.Run("index lacks arm64", func(t *testing.T) {
		_, err := Build(t.Context(), fakeBinaries(t, "web"), Config{Base: amdOnly})
		if err == nil || !containsAll(err.Error(), amdOnly, "no linux/arm64 image", "it has: linux/amd64") {
			t.Errorf("Build() error = %v, want one naming the missing platform and what the base has", err)
		}
	})

	t.Run("unknown tag", func(t *testing.T) {
		_, err := Build(t.Context(), fakeBinaries(t, "web"), Config{Base: host + "/base/multi:nope"})
		if err == nil || !containsAll(err.Error(), "fetch base image", "base/multi:nope") {
			t.Errorf("Build() error = %v, want a fetch error naming the reference", err)
		}
	})
}

func TestBuildOnLayoutBase(t *testing.T) {
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	amdIdx := baseIndex(t, amd64)
	if err := p.AppendIndex(amdIdx, layout.WithAnnotations(map[string]string{AnnotationRefName: "amd"})); err != nil {
		t.Fatal(err)
	}
	armImg := baseImage(t, arm64, false)
	if err := p.AppendImage(armImg, layout.WithAnnotations(map[string]string{AnnotationRefName: "arm"})); err != nil {
		t.Fatal(err)
	}
	amdBin := fakeBinaries(t, "web")[:1]
	armBin := fakeBinaries(t, "web")[1:]

	tests := []struct {
		name    string
		base    string
		bins    []Binary
		want    v1.Hash
		wantErr []string
	}{
		{name: "by ref name, index", base: "oci:" + dir + ":amd", bins: amdBin, want: mustDigest(t, amdIdx)},
		{name: "by ref name, image", base: "oci:" + dir + ":arm", bins: armBin, want: mustDigest(t, armImg)},
		{name: "by digest", base: "oci:" + dir + "@" + mustDigest(t, armImg).String(), bins: armBin, want: mustDigest(t, armImg)},
		{name: "platform missing", base: "oci:" + dir + ":amd", bins: armBin, wantErr: []string{"no linux/arm64 image", "it has: linux/amd64"}},
		{name: "unknown ref name", base: "oci:" + dir + ":nope", bins: amdBin, wantErr: []string{"no manifest matches", "amd, arm"}},
		{name: "ambiguous", base: "oci:" + dir, bins: amdBin, wantErr: []string{"2 manifests", "oci:" + dir + ":<ref-name>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Build(t.Context(), tc.bins, Config{Base: tc.base})
			if tc.wantErr != nil {
				if err == nil || !containsAll(err.Error(), tc.wantErr...) {
					t.Fatalf("Build(Base %s) error = %v, want %q", tc.base, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build(Base %s) error = %v", tc.base, err)
			}
			if err := validate.Index(res.Index); err != nil {
				t.Fatalf("validate.Index() = %v", err)
			}
			if res.BaseDigest != tc.want || res.BaseName != tc.base {
				t.Errorf("Result base = %s@%s, want %s@%s", res.BaseName, res.BaseDigest, tc.base, tc.want)
			}
		})
	}
}

func TestMatchPlatform(t *testing.T) {
	arm := func(v string) v1.Platform { return v1.Platform{OS: "linux", Architecture: "arm", Variant: v} }
	tests := []struct {
		name       string
		want, have v1.Platform
		match      platformMatch
	}{
		{"same", amd64, amd64, matchExact},
		{"arm64 is arm64/v8", arm64, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, matchExact},
		{"any arm variant", arm(""), arm("v7"), matchLoose},
		{"wrong arm variant", arm("v6"), arm("v7"), matchNone},
		{"other arch", amd64, arm64, matchNone},
		{"other os", amd64, v1.Platform{OS: "windows", Architecture: "amd64"}, matchNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchPlatform(tc.want, tc.have); got != tc.match {
				t.Errorf("matchPlatform(%v, %v) = %d, want %d", tc.want, tc.have, got, tc.match)
			}
		})
	}
}

func TestBaseAmbiguousVariant(t *testing.T) {
	arm := func(v string) v1.Platform { return v1.Platform{OS: "linux", Architecture: "arm", Variant: v} }
	b := &base{name: "example/base", index: baseIndex(t, arm("v6"), arm("v7"))}
	if _, _, err := b.forPlatform(arm("")); err == nil || !containsAll(err.Error(), "several images", "linux/arm/v6, linux/arm/v7", "Variant") {
		t.Errorf("forPlatform(linux/arm) error = %v, want one listing both variants", err)
	}
	img, _, err := b.forPlatform(arm("v7"))
	if err != nil {
		t.Fatalf("forPlatform(linux/arm/v7) error = %v", err)
	}
	if cf := configOf(t, img); cf.Variant != "v7" {
		t.Errorf("forPlatform(linux/arm/v7) picked variant %q", cf.Variant)
	}
}
