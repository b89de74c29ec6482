package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrReferrersRefused means the registry would not store an artifact
// manifest that names a subject: it predates OCI 1.1 (or is configured
// against it), so signatures and attestations cannot be attached there.
var ErrReferrersRefused = errors.New("referrers refused")

// emptyMediaType and emptyJSON make up the OCI empty descriptor. An artifact
// has no image config, but a manifest must name one, so OCI 1.1 settles on
// this two-byte blob and lets artifactType say what the manifest holds.
const emptyMediaType types.MediaType = "application/vnd.oci.empty.v1+json"

var emptyJSON = []byte("{}")

// Artifact is one OCI 1.1 artifact, such as a sigstore bundle, to attach to
// a manifest already in a registry. It becomes a manifest of its own whose
// subject is that manifest, which is how OCI 1.1 registries (and the
// referrers tag schema for those without the API) let a verifier find it
// from the image digest alone.
type Artifact struct {
	// ArtifactType says what the artifact is, so that a consumer can pick
	// its own kind out of a subject's referrers, e.g.
	// "application/vnd.dev.sigstore.bundle.v0.3+json". Required.
	ArtifactType string
	// MediaType is the media type of the one layer that holds Data. The
	// default is ArtifactType, which is what cosign writes for bundles.
	MediaType string
	// Data is the artifact's content, stored as the manifest's only layer.
	// Required.
	Data []byte
	// Annotations go on the artifact manifest, where referrers listings
	// repeat them. Every value is part of the manifest digest: pass a fixed
	// org.opencontainers.image.created (from SOURCE_DATE_EPOCH) rather than
	// the current time, or reruns stop converging.
	Annotations map[string]string
}

// Attached records what Attach did in one repository for one subject, so
// that Detach can take it back when a later step of a release fails. It is
// plain data, fit to be saved between processes.
type Attached struct {
	// Repository is the repository as given to Attach.
	Repository string
	// Subject is the digest the artifacts were attached to.
	Subject string
	// Digests holds the digest of each artifact's manifest, in the order
	// the artifacts were given. They depend only on the inputs and the
	// subject, so they are all known before anything is written, and listed
	// even when Attach fails part-way (but not when the subject could not
	// be read).
	Digests []string
	// New holds the artifact manifests that the registry did not have
	// before this call and may hold now; Detach deletes them. Artifacts
	// that were already attached are not in it.
	New []string
	// Fallback is where the subject's referrers tag (sha256-<hex>) pointed
	// before this call, recorded when the registry has no referrers API and
	// Attach moved that tag (or could not tell afterwards whether it had);
	// Detach moves it back. nil when the tag was not touched.
	Fallback *TagState
}

// Attach stores each artifact in repository as an OCI 1.1 artifact manifest
// whose subject is the manifest subject (a digest, which must already be in
// the repository), and returns what it did. Artifacts are attached one after
// the other, in order: on a registry without the referrers API each one
// rewrites the index under the subject's referrers tag, and two rewrites at
// once would drop an entry. The manifests are built the same way every
// time, so a rerun finds them already there and writes nothing.
//
// The result is also returned on failure, for Detach. A registry that
// refuses artifact manifests yields an error matching ErrReferrersRefused.
// Attach does not guard against another process attaching to the same
// subject at the same moment on a registry without the referrers API:
// the referrers tag has no compare-and-swap, so one of the two entries
// could be lost.
func Attach(ctx context.Context, repository, subject string, arts []Artifact, opts ...Option) (Attached, error) {
	att := Attached{Repository: repository, Subject: subject}
	err := attach(ctx, &att, arts, opts)
	if err != nil {
		err = redact(fmt.Errorf("attach to %s@%s: %w", repository, subject, err))
	}
	return att, err
}

func attach(ctx context.Context, att *Attached, arts []Artifact, opts []Option) (err error) {
	if len(arts) == 0 {
		return errors.New("no artifacts given: pass at least one Artifact")
	}
	for i, a := range arts {
		if err := a.check(); err != nil {
			return fmt.Errorf("artifact %d: %w", i, err)
		}
	}
	o, err := makeOptions(opts...)
	if err != nil {
		return err
	}
	defer o.release()
	defer o.progress.close()
	repo, err := parseRepository(att.Repository, o)
	if err != nil {
		return err
	}
	dref, err := digestRef(repo, att.Subject)
	if err != nil {
		return fmt.Errorf("%q is not a digest like sha256:<64 hex>: %w", att.Subject, err)
	}
	defer func() {
		if err != nil {
			err = explain(err, repo)
		}
	}()
	o.warnInsecure(ctx, repo.RegistryStr())
	ropts := o.remoteOptions(ctx)

	sub, err := subjectDescriptor(dref, ropts)
	if err != nil {
		return err
	}
	// Everything is built before anything is written, so a bad input
	// cannot leave half of the artifacts attached.
	built := make([]manifestItem, len(arts))
	for i, a := range arts {
		if built[i], err = referrerManifest(sub, a); err != nil {
			return fmt.Errorf("artifact %d: %w", i, err)
		}
		att.Digests = append(att.Digests, built[i].digest.String())
	}

	api, err := hasReferrersAPI(ctx, o, repo, sub.Digest)
	if err != nil {
		return fmt.Errorf("ask whether the registry serves the referrers API: %w", err)
	}
	tref := repo.Tag(referrersTag(sub.Digest))
	var prevIndex string
	listed := map[v1.Hash]bool{}
	if !api {
		// go-containerregistry keeps the referrers tag up to date on every
		// PUT of a manifest with a subject; remembering where the tag
		// pointed first is what lets Detach undo those moves.
		if prevIndex, err = readReferrersTag(tref, ropts, listed); err != nil {
			return err
		}
		o.progress.note(fmt.Sprintf("%s has no referrers API: listing referrers under tag %s", repo.RegistryStr(), tref.TagStr()))
		defer func() { att.Fallback = tagMoved(tref, ropts, att.Fallback) }()
	}

	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		return err
	}
	repoName := repo.Name()
	sent := map[v1.Hash]bool{} // blobs already made present, such as the shared empty config
	for i, m := range built {
		short := shortDigest(m.digest)
		ref := repo.Digest(m.digest.String())
		existed, err := manifestStored(ref, ropts)
		if err != nil {
			return fmt.Errorf("artifact %d: look for %s: %w", i, ref, err)
		}
		if existed && (api || listed[m.digest]) {
			o.progress.note(fmt.Sprintf("exists referrer %s (%s) of %s in %s", short, arts[i].ArtifactType, shortDigest(sub.Digest), repoName))
			continue
		}
		if !existed {
			if err := uploadArtifactBlobs(ctx, o, pusher, repo, arts[i], sent); err != nil {
				return fmt.Errorf("artifact %d: %w", i, err)
			}
		}
		if !api && att.Fallback == nil {
			att.Fallback = &TagState{Repository: att.Repository, Tag: tref.TagStr(), Previous: prevIndex}
		}
		err = o.retry.do(ctx, "referrer "+short+" to "+repoName, func() error {
			return pusher.Put(ctx, ref, rawManifest{m})
		})
		if err != nil && !existed {
			// The PUT may have been stored even though its reply, or the
			// referrers tag update after it, failed: ask the registry.
			if stored, serr := manifestStored(ref, ropts); stored || serr != nil {
				att.New = append(att.New, m.digest.String())
			}
		}
		if err != nil {
			return fmt.Errorf("artifact %d: put manifest %s: %w", i, m.digest, refusal(err, repo))
		}
		if !existed {
			att.New = append(att.New, m.digest.String())
		}
		listed[m.digest] = true
		o.progress.note(fmt.Sprintf("attached %s (%s) to %s in %s", short, arts[i].ArtifactType, shortDigest(sub.Digest), repoName))
	}
	return nil
}

// check rejects an artifact that a registry would refuse or that would
// be useless to a verifier, before anything is sent.
func (a Artifact) check() error {
	if a.ArtifactType == "" {
		return errors.New("ArtifactType is empty: set it to the media type of what Data holds, such as application/vnd.dev.sigstore.bundle.v0.3+json")
	}
	if err := checkMediaType(a.ArtifactType); err != nil {
		return fmt.Errorf("ArtifactType: %w", err)
	}
	if a.MediaType != "" {
		if err := checkMediaType(a.MediaType); err != nil {
			return fmt.Errorf("MediaType: %w", err)
		}
	}
	if len(a.Data) == 0 {
		return fmt.Errorf("artifact of type %s has no Data: pass the bytes to attach", a.ArtifactType)
	}
	return nil
}

// checkMediaType accepts type/subtype with optional parameters, the shape
// OCI requires of artifactType and of layer media types.
func checkMediaType(mt string) error {
	base, _, err := mime.ParseMediaType(mt)
	if err == nil && !strings.Contains(base, "/") {
		err = errors.New("no subtype")
	}
	if err != nil {
		return fmt.Errorf("%q is not a media type like application/vnd.example+json: %w", mt, err)
	}
	return nil
}

// layerMediaType is the media type of the artifact's single layer.
func (a Artifact) layerMediaType() types.MediaType {
	if a.MediaType != "" {
		return types.MediaType(a.MediaType)
	}
	return types.MediaType(a.ArtifactType)
}

// referrerManifest builds the artifact manifest for a under subject. The
// JSON encoder writes struct fields in declaration order and map keys
// sorted, so the bytes, and with them the digest, depend on the inputs
// alone.
func referrerManifest(subject v1.Descriptor, a Artifact) (manifestItem, error) {
	emptyDigest, emptySize, err := v1.SHA256(bytes.NewReader(emptyJSON))
	if err != nil {
		return manifestItem{}, err
	}
	dataDigest, dataSize, err := v1.SHA256(bytes.NewReader(a.Data))
	if err != nil {
		return manifestItem{}, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  a.ArtifactType,
		Config:        v1.Descriptor{MediaType: emptyMediaType, Digest: emptyDigest, Size: emptySize},
		Layers:        []v1.Descriptor{{MediaType: a.layerMediaType(), Digest: dataDigest, Size: dataSize}},
		// Only the three fields the spec asks for: anything else a
		// registry returned would make the digest depend on the registry.
		Subject:     &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations: a.Annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return manifestItem{}, fmt.Errorf("encode artifact manifest: %w", err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return manifestItem{}, err
	}
	return manifestItem{digest: h, mediaType: types.OCIManifestSchema1, raw: raw}, nil
}

// subjectDescriptor is the subject as the registry serves it, whose media
// type and size the artifact manifest must repeat. A registry whose HEAD
// lacks a header go-containerregistry needs is asked with a GET instead.
func subjectDescriptor(ref name.Digest, ropts []remote.Option) (v1.Descriptor, error) {
	d, err := remote.Head(ref, ropts...)
	var te *transport.Error
	if err != nil && !errors.As(err, &te) {
		var got *remote.Descriptor
		if got, err = remote.Get(ref, ropts...); err == nil {
			d = &got.Descriptor
		}
	}
	if isStatus(err, http.StatusNotFound) {
		return v1.Descriptor{}, fmt.Errorf("the registry does not hold %s: push the image first, then attach to its digest: %w", ref, err)
	}
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("read subject %s: %w", ref, err)
	}
	return *d, nil
}

// hasReferrersAPI asks the registry for subject's referrers the way
// go-containerregistry's writer does before it decides whether to maintain
// the referrers tag itself: 200 means the registry indexes subjects on its
// own, 404 or 400 means it does not know the endpoint. Deciding the same
// way is what makes the recorded tag state match what the PUTs then do.
func hasReferrersAPI(ctx context.Context, o *options, repo name.Repository, subject v1.Hash) (bool, error) {
	auth, err := o.authFor(ctx, repo)
	if err != nil {
		return false, err
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, o.base, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return false, err
	}
	u := url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + "/referrers/" + subject.String()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", string(types.OCIImageIndex))
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK, http.StatusNotFound, http.StatusBadRequest); err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode == http.StatusOK, nil
}

// referrersTag is the tag the OCI referrers tag schema assigns to subject:
// its digest with the colon replaced, as go-containerregistry spells it.
func referrersTag(subject v1.Hash) string {
	return subject.Algorithm + "-" + subject.Hex
}

// readReferrersTag returns the digest the referrers tag names ("" when it
// does not exist) and marks the referrers its index lists.
func readReferrersTag(tref name.Tag, ropts []remote.Option, listed map[v1.Hash]bool) (string, error) {
	desc, err := remote.Get(tref, ropts...)
	if isStatus(err, http.StatusNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read referrers tag %s: %w", tref, err)
	}
	if desc.MediaType.IsIndex() {
		im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return "", fmt.Errorf("read referrers tag %s: %w", tref, err)
		}
		for _, d := range im.Manifests {
			listed[d.Digest] = true
		}
	}
	return desc.Digest.String(), nil
}

// tagMoved drops the recorded tag state when the referrers tag is still
// where it was, so that only real moves are reported for undoing. When
// the tag cannot be read the state is kept: Detach checks again anyway.
func tagMoved(tref name.Tag, ropts []remote.Option, st *TagState) *TagState {
	if st == nil {
		return nil
	}
	cur := ""
	switch d, err := remote.Head(tref, ropts...); {
	case err == nil:
		cur = d.Digest.String()
	case !isStatus(err, http.StatusNotFound):
		return st
	}
	if cur == st.Previous {
		return nil
	}
	return st
}

// manifestStored reports whether the registry holds ref.
func manifestStored(ref name.Digest, ropts []remote.Option) (bool, error) {
	_, err := remote.Head(ref, ropts...)
	switch {
	case err == nil:
		return true, nil
	case isStatus(err, http.StatusNotFound):
		return false, nil
	}
	return false, err
}

// uploadArtifactBlobs makes the empty config and the artifact's layer
// present in repo, uploading only what the registry lacks, and adds them to
// sent, whose blobs it skips.
func uploadArtifactBlobs(ctx context.Context, o *options, pusher *remote.Pusher, repo name.Repository, a Artifact, sent map[v1.Hash]bool) error {
	repoName := repo.Name()
	for _, blob := range []struct {
		data []byte
		mt   types.MediaType
	}{{emptyJSON, emptyMediaType}, {a.Data, a.layerMediaType()}} {
		l := static.NewLayer(blob.data, blob.mt)
		h, err := l.Digest()
		if err != nil {
			return err
		}
		if sent[h] {
			continue
		}
		size := int64(len(blob.data))
		cl := &countedLayer{Layer: l, o: o, repo: repoName, digest: h, size: size}
		err = o.retry.do(ctx, "blob "+shortDigest(h)+" to "+repoName, func() error {
			return pusher.Upload(ctx, repo, cl)
		})
		cl.bar.finish(err)
		if err != nil {
			return fmt.Errorf("upload blob %s: %w", h, err)
		}
		if !cl.opened.Load() {
			o.progress.exists(repoName, h, size)
		}
		sent[h] = true
	}
	return nil
}

// refusal recognises a registry saying no to the artifact manifest itself,
// rather than failing: it rejects the content (400 with MANIFEST_INVALID
// or UNSUPPORTED, or no error code at all) or its media type (415).
// Registries from before OCI 1.1 answer that way to a subject or an
// artifactType they do not know.
func refusal(err error, repo name.Repository) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	refused := te.StatusCode == http.StatusUnsupportedMediaType
	if te.StatusCode == http.StatusBadRequest {
		refused = len(te.Errors) == 0 || hasCode(te, transport.ManifestInvalidErrorCode) || hasCode(te, transport.UnsupportedErrorCode)
	}
	if !refused {
		return err
	}
	return &hintError{ErrReferrersRefused, fmt.Sprintf("registry %s does not accept OCI 1.1 artifact manifests (a manifest with a subject and an artifactType), so nothing can be attached to images there: upgrade the registry to a release that supports OCI 1.1 artifacts, or publish without attaching artifacts", repo.RegistryStr()), err}
}

// Detach undoes Attach calls, newest first: in each repository the
// referrers tag goes back to where Attach found it (it is deleted if it
// did not exist), then the artifact manifests that were new are deleted.
// The tag goes first so that no listing ever names a deleted manifest.
// Detach is safe to run on a partial result, and again after it failed
// half-way: what is already undone is skipped. It assumes that nothing
// else was attached to the same subjects in between, as holds for a
// release undoing its own steps. A registry that refuses deletion leaves
// the manifest, and the error names it so it can be removed by hand.
// Uploaded blobs, and the intermediate referrers indexes the tag named on
// the way, are left untagged for the registry's garbage collection, as
// after a failed push: content is shared by digest and may already serve
// something else.
func Detach(ctx context.Context, done []Attached, opts ...Option) error {
	o, err := makeOptions(opts...)
	if err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	defer o.release()
	ropts := o.remoteOptions(ctx)
	var errs []error
	for i := len(done) - 1; i >= 0; i-- {
		a := done[i]
		if a.Fallback == nil && len(a.New) == 0 {
			continue
		}
		repo, err := parseRepository(a.Repository, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("detach from %s: %w", a.Repository, err))
			continue
		}
		if a.Fallback != nil {
			switch moved, err := restoreReferrersTag(repo, *a.Fallback, ropts); {
			case err != nil:
				errs = append(errs, err)
			case moved:
				o.progress.note(fmt.Sprintf("restored referrers tag %s", repo.Tag(a.Fallback.Tag)))
			}
		}
		for j := len(a.New) - 1; j >= 0; j-- {
			ref, err := digestRef(repo, a.New[j])
			if err != nil {
				errs = append(errs, fmt.Errorf("detach from %s: %q is not a digest: %w", a.Repository, a.New[j], err))
				continue
			}
			switch err := remote.Delete(ref, ropts...); {
			case err == nil:
				o.progress.note(fmt.Sprintf("removed referrer %s of %s from %s", shortDigest(digestHash(a.New[j])), shortDigest(digestHash(a.Subject)), repo.Name()))
			case !isStatus(err, http.StatusNotFound): // a 404 was removed before
				errs = append(errs, fmt.Errorf("remove referrer %s (delete it by hand): %w", ref, explain(err, repo)))
			}
		}
	}
	return errors.Join(errs...)
}

// restoreReferrersTag points a referrers tag back at its previous index,
// or removes it when it had none, and reports whether it had to. Some registries (distribution 2.x)
// cannot delete a tag, only a manifest together with its tags; the index
// behind a tag that Attach created was written by Attach, so deleting that
// index is the way to remove the tag there.
func restoreReferrersTag(repo name.Repository, st TagState, ropts []remote.Option) (bool, error) {
	tref := repo.Tag(st.Tag)
	cur := ""
	switch d, err := remote.Head(tref, ropts...); {
	case err == nil:
		cur = d.Digest.String()
	case !isStatus(err, http.StatusNotFound):
		return false, fmt.Errorf("read referrers tag %s: %w", tref, explain(err, repo))
	}
	if cur == st.Previous {
		return false, nil
	}
	if st.Previous == "" {
		err := remote.Delete(tref, ropts...)
		if err == nil || isStatus(err, http.StatusNotFound) {
			return err == nil, nil
		}
		if derr := remote.Delete(repo.Digest(cur), ropts...); derr == nil {
			if _, herr := remote.Head(tref, ropts...); isStatus(herr, http.StatusNotFound) {
				return true, nil
			}
		}
		return false, fmt.Errorf("remove new referrers tag %s (delete it by hand): %w", tref, explain(err, repo))
	}
	desc, err := remote.Get(repo.Digest(st.Previous), ropts...)
	if err == nil {
		err = remote.Tag(tref, desc, ropts...)
	}
	if err != nil {
		return false, fmt.Errorf("put referrers tag %s back to %s: %w", tref, st.Previous, explain(err, repo))
	}
	return true, nil
}

// digestHash parses a digest that has already been validated, for display.
func digestHash(s string) v1.Hash {
	h, _ := v1.NewHash(s)
	return h
}

// Referrers lists the manifests attached to subject in repository: from
// the registry's referrers API when it has one, from the referrers tag
// otherwise, which is where go-containerregistry, cosign and oras all
// look. A subject with nothing attached, or not pushed at all, gives an
// empty list. The descriptors are sorted by digest so that listings
// compare equal whatever order the registry keeps.
func Referrers(ctx context.Context, repository, subject string, opts ...Option) ([]v1.Descriptor, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", subject, err)
	}
	defer o.release()
	repo, err := parseRepository(repository, o)
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", subject, err)
	}
	dref, err := digestRef(repo, subject)
	if err != nil {
		return nil, fmt.Errorf("list referrers in %s: %q is not a digest like sha256:<64 hex>: %w", repository, subject, err)
	}
	ropts := o.remoteOptions(ctx)
	idx, err := remote.Referrers(dref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", dref, explain(err, repo))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", dref, explain(err, repo))
	}
	out := slices.Clone(im.Manifests)
	for i := range out {
		if err := fillArtifactType(repo, &out[i], ropts); err != nil {
			return nil, fmt.Errorf("list referrers of %s: %w", dref, explain(err, repo))
		}
	}
	slices.SortFunc(out, func(a, b v1.Descriptor) int { return strings.Compare(a.Digest.String(), b.Digest.String()) })
	return out, nil
}

// fillArtifactType reads the artifact type from the manifest itself when
// the listing left it out or gave the empty config's media type, which no
// artifact can have (go-containerregistry's test registry reports the
// config media type in place of artifactType). Consumers select their
// artifacts by this field, so it has to be right.
func fillArtifactType(repo name.Repository, d *v1.Descriptor, ropts []remote.Option) error {
	if d.ArtifactType != "" && d.ArtifactType != string(emptyMediaType) {
		return nil
	}
	got, err := remote.Get(repo.Digest(d.Digest.String()), ropts...)
	if err != nil {
		return fmt.Errorf("read referrer %s: %w", d.Digest, err)
	}
	var m struct {
		ArtifactType string `json:"artifactType"`
		Config       struct {
			MediaType string `json:"mediaType"`
		} `json:"config"`
	}
	if err := json.Unmarshal(got.Manifest, &m); err != nil {
		return fmt.Errorf("read referrer %s: %w", d.Digest, err)
	}
	d.ArtifactType = m.ArtifactType
	if d.ArtifactType == "" {
		d.ArtifactType = m.Config.MediaType
	}
	return nil
}
