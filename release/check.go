package release

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hoistdev/hoist/attest"
	"github.com/hoistdev/hoist/checksum"
	"github.com/hoistdev/hoist/publish"
	"github.com/hoistdev/hoist/sign"
	"github.com/hoistdev/hoist/version"
)

// Check verifies the published release of VERSION the way a user of it
// would, trusting nothing but the public key (VerifyKey): in every
// registry, the version tag's index and each platform manifest must carry
// a signature, an SPDX SBOM and a SLSA provenance statement signed by that
// key and about exactly that digest, and the provenance must name the
// commit the git tag points at. When dist/ holds the release's files,
// checksums.txt's signatures, the files it lists and the signed provenance
// are checked too. Every mismatch is reported, each naming what does not
// match.
func (w *Workspace) Check(ctx context.Context) error {
	const target = "release:check"
	pub, from, err := w.VerifyKey(ctx)
	if err != nil {
		return err
	}
	v, err := version.ReadFile(w.Cfg.Path(w.Cfg.VersionFile))
	if err != nil {
		return err
	}
	prefix, _, err := w.tagPrefix(ctx)
	if err != nil {
		return err
	}
	tag := prefix + v.String()
	commit, err := git(ctx, w.Cfg.Dir, "rev-parse", "--verify", "-q", "refs/tags/"+tag+"^{commit}")
	if err != nil || commit == "" {
		return fmt.Errorf("VERSION is %s, but there is no tag %s: release:check checks a published release; release it first, or fetch the tags (git fetch --tags)", v, tag)
	}
	w.Logf(target, "%s at commit %s, with key %s (%s)", tag, short(commit), sign.Fingerprint(pub), from)
	var problems []error
	if w.publishesImage() {
		repos := w.Repositories()
		if len(repos) == 0 {
			emb, err := w.StartEmbedded(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = emb.Stop(context.WithoutCancel(ctx)) }()
			repos = []string{emb.Host + "/" + w.ImageName()}
		}
		for _, repo := range repos {
			problems = append(problems, w.checkImage(ctx, target, pub, repo, w.VersionTag(v), commit)...)
		}
	}
	problems = append(problems, w.checkFiles(ctx, target, pub, v.String(), commit)...)
	if len(problems) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%s does not verify (%s):", tag, count(len(problems), "problem", "problems"))
		for _, p := range problems {
			b.WriteString("\n  - ")
			b.WriteString(p.Error())
		}
		return errors.New(b.String())
	}
	w.Logf(target, "%s verified: signatures, SBOMs and provenance match the key, the digests and commit %s", tag, short(commit))
	return nil
}

// checkImage checks the referrers of repo:tag's index and of each of its
// platform manifests.
func (w *Workspace) checkImage(ctx context.Context, target string, pub crypto.PublicKey, repo, tag, commit string) []error {
	opts := w.publishOptions(target)
	index, err := publish.TagDigest(ctx, repo, tag, opts...)
	if err != nil {
		return []error{err}
	}
	if index == "" {
		return []error{fmt.Errorf("%s:%s does not exist: the release was not pushed there", repo, tag)}
	}
	descs, err := publish.Manifests(ctx, repo, index, opts...)
	if err != nil {
		return []error{err}
	}
	subjects := []string{index}
	names := map[string]string{index: "index"}
	for _, d := range descs {
		subjects = append(subjects, d.Digest.String())
		names[d.Digest.String()] = "manifest " + short(d.Digest.Hex)
		if d.Platform != nil {
			names[d.Digest.String()] = d.Platform.String()
		}
	}
	var problems []error
	for _, subject := range subjects {
		what := fmt.Sprintf("%s@%s (%s)", repo, short(strings.TrimPrefix(subject, "sha256:")), names[subject])
		found, errs := w.checkReferrers(ctx, pub, repo, subject, subjects, commit, opts)
		problems = append(problems, errs...)
		var missing []string
		for _, k := range []string{KindSignature, KindSBOM, KindProvenance} {
			if !found[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			problems = append(problems, fmt.Errorf("%s has no %s signed by key %s", what, strings.Join(missing, ", no "), sign.Fingerprint(pub)))
			continue
		}
		w.Logf(target, "%s: signature, SBOM and provenance verified", what)
	}
	return problems
}

// checkReferrers verifies the sigstore bundles attached to subject and
// says which kinds verified. A bundle another key signed is not counted
// and not an error: others may sign an image too.
func (w *Workspace) checkReferrers(ctx context.Context, pub crypto.PublicKey, repo, subject string, all []string, commit string, opts []publish.Option) (map[string]bool, []error) {
	found := map[string]bool{}
	descs, err := publish.Referrers(ctx, repo, subject, opts...)
	if err != nil {
		return found, []error{err}
	}
	var problems []error
	for _, d := range descs {
		if d.ArtifactType != sign.BundleMediaType {
			continue
		}
		art, err := publish.ReadArtifact(ctx, repo, d.Digest.String(), opts...)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if sign.BundleKeyHint(art.Data) != sign.KeyHint(pub) {
			continue // another key's signature: others may sign an image too
		}
		payload, err := sign.VerifyStatement(pub, art.Data)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s@%s: %w", repo, d.Digest, err))
			continue
		}
		st, err := attest.Parse(payload)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s@%s: %w", repo, d.Digest, err))
			continue
		}
		if !st.Covers(subject) {
			problems = append(problems, fmt.Errorf("%s@%s is signed but about other digests than %s: it was attached to the wrong image", repo, d.Digest, subject))
			continue
		}
		switch st.PredicateType {
		case attest.PredicateCosignSign:
			found[KindSignature] = true
		case attest.PredicateSPDX:
			var doc struct {
				SPDXVersion string            `json:"spdxVersion"`
				Packages    []json.RawMessage `json:"packages"`
			}
			if err := json.Unmarshal(st.Predicate, &doc); err != nil || !strings.HasPrefix(doc.SPDXVersion, "SPDX-") || len(doc.Packages) == 0 {
				problems = append(problems, fmt.Errorf("%s@%s: the SBOM attestation holds no SPDX document with packages", repo, d.Digest))
				continue
			}
			found[KindSBOM] = true
		case attest.PredicateProvenance:
			if err := checkProvenance(st, commit, all); err != nil {
				problems = append(problems, fmt.Errorf("%s@%s: %w", repo, d.Digest, err))
				continue
			}
			found[KindProvenance] = true
		}
	}
	return found, problems
}

// checkProvenance checks that a provenance statement names commit as its
// source and covers every digest in want.
func checkProvenance(st *attest.Statement, commit string, want []string) error {
	var p attest.Provenance
	if err := json.Unmarshal(st.Predicate, &p); err != nil {
		return fmt.Errorf("the provenance does not parse: %w", err)
	}
	if got := p.BuildDefinition.ExternalParameters.Source.Commit; got != commit {
		return fmt.Errorf("the provenance says it was built from commit %s, but the tag points at %s", orNone(got), commit)
	}
	deps := p.BuildDefinition.ResolvedDependencies
	if len(deps) == 0 || deps[0].Digest["gitCommit"] != commit {
		return fmt.Errorf("the provenance's source material is not commit %s", commit)
	}
	for _, d := range want {
		if !st.Covers(d) {
			return fmt.Errorf("the provenance does not cover %s", d)
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// checkFiles verifies the release's files in dist/, when dist/ holds the
// release of version: checksums.txt's signatures, the digest of every file
// it lists, and the signed provenance.
func (w *Workspace) checkFiles(ctx context.Context, target string, pub crypto.PublicKey, ver, commit string) []error {
	sumsName := w.checksumsName(ver)
	var m Manifest
	raw, err := os.ReadFile(w.Dist(ManifestFile))
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	sums, serr := os.ReadFile(w.Dist(sumsName))
	if err != nil || serr != nil || m.Version != ver {
		w.Logf(target, "%s holds no files of %s: only the images were checked (put the release's assets in %s to check them too)", w.Rel(w.Dist()), ver, w.Rel(w.Dist()))
		return nil
	}
	var problems []error
	file := w.Rel(w.Dist(sumsName))
	bundle, err := os.ReadFile(w.Dist(sumsName + ".sigstore.json"))
	if err != nil {
		problems = append(problems, fmt.Errorf("%s has no signature bundle (%s.sigstore.json)", file, sumsName))
	} else if err := sign.VerifyBlob(pub, sums, bundle); err != nil {
		problems = append(problems, fmt.Errorf("%s.sigstore.json: %w", file, err))
	}
	if raw, err := os.ReadFile(w.Dist(sumsName + ".sig")); err == nil {
		sig, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
		if derr != nil {
			problems = append(problems, fmt.Errorf("%s.sig is not base64", file))
		} else if err := sign.VerifySignature(pub, sums, sig); err != nil {
			problems = append(problems, fmt.Errorf("%s.sig: %w", file, err))
		}
	}
	var listed []string
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			continue
		}
		listed = append(listed, "sha256:"+sum)
		got, _, err := checksum.SHA256File(ctx, w.Dist(name))
		switch {
		case errors.Is(err, os.ErrNotExist):
			problems = append(problems, fmt.Errorf("%s lists %s, which is not in %s", file, name, w.Rel(w.Dist())))
		case err != nil:
			problems = append(problems, err)
		case got != sum:
			problems = append(problems, fmt.Errorf("%s: sha256 %s, but %s says %s", w.Rel(w.Dist(name)), got, file, sum))
		}
	}
	prov, err := os.ReadFile(w.Dist(ProvenanceBundle))
	if err != nil {
		problems = append(problems, fmt.Errorf("%s has no signed provenance (%s)", w.Rel(w.Dist()), ProvenanceBundle))
		return problems
	}
	payload, err := sign.VerifyStatement(pub, prov)
	if err != nil {
		return append(problems, fmt.Errorf("%s: %w", w.Rel(w.Dist(ProvenanceBundle)), err))
	}
	st, err := attest.Parse(payload)
	if err == nil && st.PredicateType != attest.PredicateProvenance {
		err = fmt.Errorf("predicate %q is not SLSA provenance", st.PredicateType)
	}
	if err == nil {
		err = checkProvenance(st, commit, listed)
	}
	if err != nil {
		return append(problems, fmt.Errorf("%s: %w", w.Rel(w.Dist(ProvenanceBundle)), err))
	}
	if len(problems) == 0 {
		w.Logf(target, "%s: both signatures, %s and the signed provenance verified", file, count(len(listed), "listed file", "listed files"))
	}
	return problems
}
