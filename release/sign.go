package release

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/attest"
	"github.com/hoistdev/hoist/checksum"
	"github.com/hoistdev/hoist/gobuild"
	"github.com/hoistdev/hoist/image"
	"github.com/hoistdev/hoist/internal/atomicfile"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/publish"
	"github.com/hoistdev/hoist/sbom"
	"github.com/hoistdev/hoist/sign"
	"github.com/hoistdev/hoist/version"
)

// Files the sign stage writes next to checksums.txt.
const (
	// ProvenanceFile is the SLSA provenance statement of every output.
	ProvenanceFile = "provenance.intoto.json"
	// ProvenanceBundle is that statement signed, as a sigstore bundle.
	ProvenanceBundle = "provenance.sigstore.json"
	// PublicKeyFile is the public half of the signing key.
	PublicKeyFile = "cosign.pub"
)

// The kinds of referrer attached to each image manifest, in the order
// they are attached.
const (
	KindSignature  = "signature"
	KindSBOM       = "sbom"
	KindProvenance = "provenance"
)

// keyRing loads the signing key once per workspace: decrypting it costs
// an scrypt run.
type keyRing struct {
	once sync.Once
	s    sign.Signer
	err  error
}

// keySetting names where the signing key comes from, in the terms the
// user set it: COSIGN_KEY or Sign.Key.
func (w *Workspace) keySetting() (setting, value string, ok bool) {
	if w.Env.SignKey.IsSet() {
		return "COSIGN_KEY", w.Env.SignKey.Reveal(), true
	}
	if w.Cfg.Sign.Key != "" {
		return "Sign.Key", w.Cfg.Sign.Key, true
	}
	return "", "", false
}

// signing says whether a run in mode m signs, and if not, why.
func (w *Workspace) signing(m Mode) (bool, string) {
	if w.Cfg.Sign.Off {
		return false, "signing is off (HOIST_SIGN=off or Sign.Off)"
	}
	if _, _, ok := w.keySetting(); !ok {
		return false, "no signing key (COSIGN_KEY or Sign.Key), so nothing is signed"
	}
	if m == ModeSnapshot && !w.Cfg.Sign.Snapshots {
		return false, "snapshots are not signed; HOIST_SIGN=1 signs them"
	}
	return true, ""
}

// checkSigner loads the signing key when a run in mode m signs, so that a
// missing file or a wrong password stops the run before anything is built.
func (w *Workspace) checkSigner(ctx context.Context, m Mode) error {
	if on, _ := w.signing(m); !on {
		return nil
	}
	_, err := w.Signer(ctx)
	return err
}

// Signer loads the configured signing key, decrypted with COSIGN_PASSWORD,
// and proves it signs. Errors name the setting to fix and never show the
// key or the password.
func (w *Workspace) Signer(ctx context.Context) (sign.Signer, error) {
	// Loaded without the caller's cancellation: the result is kept for the
	// whole run, and a key that failed because one caller gave up would
	// fail for every later one.
	w.keys.once.Do(func() { w.keys.s, w.keys.err = w.loadSigner(context.WithoutCancel(ctx)) })
	return w.keys.s, w.keys.err
}

func (w *Workspace) loadSigner(ctx context.Context) (sign.Signer, error) {
	setting, value, ok := w.keySetting()
	if !ok {
		return nil, errors.New("no signing key: set COSIGN_KEY to the private key file that cosign generate-key-pair or go tool mage release:keygen wrote (or Sign.Key in the magefile)")
	}
	data, where, err := w.keyData(setting, strings.TrimSpace(value))
	if err != nil {
		return nil, err
	}
	s, err := sign.LoadKey(data, []byte(w.Env.SignPassword.Reveal()))
	switch {
	case errors.Is(err, sign.ErrWrongPassword):
		return nil, fmt.Errorf("%s: %v: set COSIGN_PASSWORD to the password the key was generated with", where, err)
	case errors.Is(err, sign.ErrNotKey):
		return nil, fmt.Errorf("%s: %v: point %s at the private key (cosign.key), not the public one", where, err, setting)
	case errors.Is(err, sign.ErrUnsupportedKey):
		return nil, fmt.Errorf("%s: %v: make a supported key with cosign generate-key-pair or go tool mage release:keygen", where, err)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	// One signature proves the key works before anything is built.
	if _, _, err := sign.SignBlob(ctx, s, []byte("hoist preflight")); err != nil {
		return nil, fmt.Errorf("%s: the key does not sign: %w", where, err)
	}
	return s, nil
}

// keyData reads the key a setting gives: the PEM text itself, the PEM
// base64-encoded (as CI secrets often hold it), or a file. where names the
// setting for messages: a COSIGN_KEY value is shown only when it looks
// like a path, since it may hold the key.
func (w *Workspace) keyData(setting, value string) (data []byte, where string, err error) {
	if strings.HasPrefix(value, "-----BEGIN") {
		return []byte(value), setting + " (the key itself)", nil
	}
	if dec, err := base64.StdEncoding.DecodeString(value); err == nil && bytes.HasPrefix(bytes.TrimSpace(dec), []byte("-----BEGIN")) {
		return dec, setting + " (the key, base64-encoded)", nil
	}
	where = setting
	if setting != "COSIGN_KEY" || (len(value) < 200 && (strings.Contains(value, "/") || strings.HasSuffix(value, ".key") || strings.HasSuffix(value, ".pem"))) {
		where = setting + "=" + value
	}
	data, err = os.ReadFile(w.Cfg.Path(value))
	if err != nil {
		return nil, where, fmt.Errorf("%s: no signing key there: it is neither a readable file (%v) nor the key's PEM text, plain or base64-encoded: point %s at the private key file, such as cosign.key, or give the key itself", where, errors.Unwrap(err), setting)
	}
	return data, where, nil
}

// VerifyKey is the public key release:check verifies with:
// COSIGN_PUBLIC_KEY or Sign.PublicKey, else cosign.pub at the module root,
// else the public half of the signing key.
func (w *Workspace) VerifyKey(ctx context.Context) (crypto.PublicKey, string, error) {
	path, setting := w.Cfg.Sign.PublicKey, "COSIGN_PUBLIC_KEY (Sign.PublicKey)"
	if path == "" && fileExists(w.Cfg.Path(PublicKeyFile)) {
		path, setting = PublicKeyFile, PublicKeyFile
	}
	if path != "" {
		data, err := os.ReadFile(w.Cfg.Path(path))
		if err != nil {
			return nil, "", fmt.Errorf("%s=%s: cannot read the public key (%v): point it at cosign.pub", setting, path, errors.Unwrap(err))
		}
		pub, err := sign.ParsePublicKey(data)
		if err != nil {
			return nil, "", fmt.Errorf("%s=%s: %w", setting, path, err)
		}
		return pub, path, nil
	}
	if _, _, ok := w.keySetting(); ok {
		s, err := w.Signer(ctx)
		if err != nil {
			return nil, "", err
		}
		return s.PublicKey(), "the public half of the signing key", nil
	}
	return nil, "", errors.New("no public key to verify with: set COSIGN_PUBLIC_KEY to the release's cosign.pub, or commit cosign.pub at the module root")
}

// Keygen writes a new key pair in cosign's format at the module root:
// cosign.key, encrypted with COSIGN_PASSWORD, and cosign.pub. It refuses to
// overwrite either file.
func (w *Workspace) Keygen(ctx context.Context) error {
	priv, pub := w.Cfg.Path("cosign.key"), w.Cfg.Path(PublicKeyFile)
	for _, f := range []string{priv, pub} {
		if fileExists(f) {
			return fmt.Errorf("%s already exists: move it away to make a new key pair (releases signed with it verify only with its cosign.pub)", w.Rel(f))
		}
	}
	key, pubPEM, err := sign.GenerateKeyPair([]byte(w.Env.SignPassword.Reveal()))
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(ctx, priv, key, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", w.Rel(priv), err)
	}
	if err := atomicfile.WriteBytes(ctx, pub, pubPEM, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", w.Rel(pub), err)
	}
	parsed, _ := sign.ParsePublicKey(pubPEM)
	enc := "encrypted with COSIGN_PASSWORD"
	if !w.Env.SignPassword.IsSet() {
		enc = "encrypted with an empty password: set COSIGN_PASSWORD to protect it"
	}
	w.Logf("release:keygen", "wrote %s (%s) and %s, key %s", w.Rel(priv), enc, w.Rel(pub), sign.Fingerprint(parsed))
	// The private key must never be committed, and an untracked file
	// would make the next release's preflight refuse a dirty tree.
	if _, err := git(ctx, w.Cfg.Dir, "check-ignore", "-q", priv); err != nil {
		gi := w.Cfg.Path(".gitignore")
		old, _ := os.ReadFile(gi)
		if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
			old = append(old, '\n')
		}
		if err := atomicfile.WriteBytes(ctx, gi, append(old, []byte("/cosign.key\n")...), 0o644); err != nil {
			return fmt.Errorf("add cosign.key to .gitignore: %w", err)
		}
		w.Logf("release:keygen", "added /cosign.key to .gitignore")
	}
	w.Logf("release:keygen", "keep cosign.key secret (in CI: COSIGN_KEY and COSIGN_PASSWORD) and commit cosign.pub and .gitignore")
	return nil
}

// hoistVersion is the version of hoist linked into this program: the
// module version a consumer's go.mod requires, or "devel" in hoist's own
// repository.
func hoistVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Path == "github.com/hoistdev/hoist" {
		return realVersion(bi.Main.Version)
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/hoistdev/hoist" {
			if d.Replace != nil {
				return "devel"
			}
			return realVersion(d.Version)
		}
	}
	return "devel"
}

func realVersion(v string) string {
	if v == "" || v == "(devel)" {
		return "devel"
	}
	return v
}

// sourceURI names the repository in provenance: the origin remote
// (without credentials), else the forge the module path names, else the
// module path.
func (w *Workspace) sourceURI(ctx context.Context) string {
	if remote, err := version.RemoteURL(ctx, w.Cfg.Dir, "origin"); err == nil && remote != "" {
		return attest.SourceURI(remote)
	}
	if src := w.imageSource(); src != "" {
		return attest.SourceURI(src)
	}
	return "git+https://" + w.Proj.Module
}

// buildInputs describes how the binaries in arts were built, for
// provenance: the flags and environment recorded with each binary.
func (w *Workspace) buildInputs(arts []artifact.Artifact, linuxOnly bool) []attest.Binary {
	var out []attest.Binary
	for _, a := range artifact.Select(arts, artifact.ByType(artifact.Binary)) {
		if linuxOnly && !strings.HasPrefix(a.Platform, "linux/") {
			continue
		}
		b := attest.Binary{Name: a.Name, Platform: a.Platform, Path: w.Cfg.Path(a.Path), SHA256: strings.TrimPrefix(a.Digest, "sha256:")}
		if f := a.Extra[gobuild.ExtraFlags]; f != "" {
			b.Flags = strings.Split(f, "\n")
		}
		if e := a.Extra[gobuild.ExtraEnv]; e != "" {
			b.Env = strings.Split(e, "\n")
		}
		out = append(out, b)
	}
	return out
}

// provenanceBuild is the part of a provenance every statement of one run
// shares; the caller adds subjects and bases.
func (w *Workspace) provenanceBuild(ctx context.Context, st Stamp, tag string, bins []attest.Binary) attest.Build {
	var mains []string
	for _, m := range w.Proj.Mains {
		mains = append(mains, m.Pkg())
	}
	var plats []string
	if ps, err := w.Cfg.ParsedPlatforms(); err == nil {
		for _, p := range ps {
			plats = append(plats, p.String())
		}
	}
	b := attest.Build{
		Source: w.sourceURI(ctx), Commit: st.Rev.Commit, Version: st.Version.String(),
		Platforms: plats, Mains: mains, HoistVersion: hoistVersion(), Binaries: bins,
	}
	if tag != "" {
		b.Ref = "refs/tags/" + tag
	}
	return b
}

// pushedImage are the pushed index and its platform images, with what
// provenance and SBOMs need of them.
type pushedImage struct {
	index     v1.ImageIndex
	digest    string
	platforms []platformImage
	bases     []attest.Resource
}

type platformImage struct {
	platform string
	digest   string
	img      v1.Image
}

func (w *Workspace) readParts(ctx context.Context, st Stamp) (*pushedImage, error) {
	idx, err := w.readImage(ctx, st)
	if err != nil {
		return nil, err
	}
	d, err := idx.Digest()
	if err != nil {
		return nil, fmt.Errorf("digest the image index: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read the image index: %w", err)
	}
	parts := &pushedImage{index: idx, digest: d.String()}
	seen := map[string]bool{}
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("read image %s: %w", desc.Digest, err)
		}
		plat := ""
		if desc.Platform != nil {
			plat = desc.Platform.OS + "/" + desc.Platform.Architecture
			if desc.Platform.Variant != "" {
				plat += "/" + desc.Platform.Variant
			}
		}
		parts.platforms = append(parts.platforms, platformImage{platform: plat, digest: desc.Digest.String(), img: img})
		name, base := desc.Annotations[image.AnnotationBaseName], desc.Annotations[image.AnnotationBaseDigest]
		if name != "" && base != "" && !seen[name+base] {
			seen[name+base] = true
			r := attest.Resource{URI: name}
			if alg, hex, ok := strings.Cut(base, ":"); ok {
				r.Digest = map[string]string{alg: hex}
			}
			parts.bases = append(parts.bases, r)
		}
	}
	return parts, nil
}

// imageStatements are the three statements attached to one manifest.
type imageStatements struct {
	subject   string // the manifest digest
	platform  string // "" for the index
	bundles   [3][]byte
	predicate [3]string
}

// signImage makes the signed statements for the index and each platform
// manifest of parts: a cosign signature, the SPDX SBOM and the provenance,
// each as a sigstore bundle. The SBOMs read the layers through sc.
func (w *Workspace) signImage(ctx context.Context, s sign.Signer, st Stamp, parts *pushedImage, repo string, bins []attest.Binary, sc *sbom.Scanner) ([]imageStatements, error) {
	b := w.provenanceBuild(ctx, st, "", bins)
	b.Bases = parts.bases
	sub, err := attest.SubjectOf(repo, parts.digest)
	if err != nil {
		return nil, err
	}
	b.Subjects = []attest.Subject{sub}
	for _, p := range parts.platforms {
		if sub, err = attest.SubjectOf(repo, p.digest); err != nil {
			return nil, err
		}
		b.Subjects = append(b.Subjects, sub)
	}
	prov, err := attest.ProvenanceStatement(ctx, b)
	if err != nil {
		return nil, err
	}
	provBundle, err := sign.SignStatement(ctx, s, prov)
	if err != nil {
		return nil, err
	}
	sbomOpts := []sbom.Option{sbom.WithName(w.ImageName()), sbom.WithVersion(st.Version.String()), sbom.WithCreated(st.Rev.Time),
		sbom.WithRepository(repo), sbom.WithScanner(sc)}
	if lic := project.License(w.Cfg.Dir); lic != "" {
		sbomOpts = append(sbomOpts, sbom.WithLicense(lic))
	}
	var own []string
	for _, b := range bins {
		if p := image.BinDir + "/" + b.Name; !slices.Contains(own, p) {
			own = append(own, p)
		}
	}
	sbomOpts = append(sbomOpts, sbom.WithOwnBinaries(own...))
	if w.Cfg.Image.Base == "" {
		// The built-in base's CA roots come from a Go module, which no
		// package database in the image records.
		v := image.CABundleVersion()
		sbomOpts = append(sbomOpts, sbom.WithComponents(sbom.Component{
			Name: "ca-certificates", Version: v, PURL: "pkg:golang/golang.org/x/crypto/x509roots/fallback@" + v,
			License: "MPL-2.0", Files: []string{image.CACertsPath},
			Comment: "Mozilla's trusted roots as pinned by golang.org/x/crypto/x509roots/fallback, in hoist's built-in base.",
		}))
	}
	var out []imageStatements
	one := func(digest, platform string, doc []byte) error {
		sig, err := attest.ImageSignature(digest)
		if err != nil {
			return err
		}
		s1, err := sign.SignStatement(ctx, s, sig)
		if err != nil {
			return err
		}
		subj, err := attest.SubjectOf(repo, digest)
		if err != nil {
			return err
		}
		sbomStmt, err := attest.New(attest.PredicateSPDX, jsonRaw(doc), []attest.Subject{subj})
		if err != nil {
			return err
		}
		s2, err := sign.SignStatement(ctx, s, sbomStmt)
		if err != nil {
			return err
		}
		out = append(out, imageStatements{subject: digest, platform: platform,
			bundles:   [3][]byte{s1, s2, provBundle},
			predicate: [3]string{attest.PredicateCosignSign, attest.PredicateSPDX, attest.PredicateProvenance}})
		return nil
	}
	idxDoc, err := sbom.GenerateIndex(ctx, parts.index, sbomOpts...)
	if err != nil {
		return nil, fmt.Errorf("SBOM of the image index: %w", err)
	}
	idxJSON, err := sbom.EncodeJSON(idxDoc)
	if err != nil {
		return nil, err
	}
	if err := one(parts.digest, "", idxJSON); err != nil {
		return nil, err
	}
	for _, p := range parts.platforms {
		doc, err := sbom.GenerateImage(ctx, p.img, sbomOpts...)
		if err != nil {
			return nil, fmt.Errorf("SBOM of the %s image: %w", p.platform, err)
		}
		raw, err := sbom.EncodeJSON(doc)
		if err != nil {
			return nil, err
		}
		if err := one(p.digest, p.platform, raw); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// attachImage signs the image of st that p pushed and attaches the
// signatures and attestations to the index and to every platform manifest
// in each repository, as OCI 1.1 referrers. It records the referrers in
// the artifact list and returns what it attached, for an undo.
func (w *Workspace) attachImage(ctx context.Context, target string, s sign.Signer, st Stamp, p *pushed) ([]publish.Attached, error) {
	start := time.Now()
	parts, err := w.readParts(ctx, st)
	if err != nil {
		return nil, err
	}
	bins := w.buildInputs(w.Arts.All(), true)
	// One scanner for every SBOM below: each layer is decompressed once in
	// this call, and not at all when an earlier run left its scan in dist.
	sc := sbom.NewScanner(w.Dist(".hoist", "sbom"))
	var done []publish.Attached
	var refs []artifact.Artifact
	kinds := [3]string{KindSignature, KindSBOM, KindProvenance}
	for _, repo := range p.repos {
		named := w.statementRepo(p, repo)
		stmts, err := w.signImage(ctx, s, st, parts, named, bins, sc)
		if err != nil {
			return done, err
		}
		for _, one := range stmts {
			arts := make([]publish.Artifact, len(one.bundles))
			for i := range one.bundles {
				arts[i] = publish.Artifact{
					ArtifactType: sign.BundleMediaType, Data: one.bundles[i],
					Annotations: map[string]string{
						"org.opencontainers.image.created":  st.Rev.Time.UTC().Format(time.RFC3339),
						"dev.sigstore.bundle.content":       "dsse-envelope",
						"dev.sigstore.bundle.predicateType": one.predicate[i],
					},
				}
			}
			a, err := publish.Attach(ctx, repo, one.subject, arts, w.publishOptions(target)...)
			done = append(done, a)
			if err != nil {
				return done, w.explainReferrers(err)
			}
			for i, d := range a.Digests {
				refs = append(refs, artifact.Artifact{Type: artifact.Referrer, Name: named + "@" + d, Digest: d, Platform: one.platform,
					Extra: map[string]string{"kind": kinds[i], "subject": one.subject}})
			}
		}
	}
	var added int
	for _, a := range done {
		added += len(a.New)
	}
	w.Logf(target, "signed with %s: a signature, an SBOM and the provenance on the index and %s in %s (%d new, %d already there) in %s",
		s, count(len(parts.platforms), "platform image", "platform images"), strings.Join(p.repos, ", "), added, len(refs)-added, time.Since(start).Round(time.Millisecond))
	w.Arts.Replace(artifact.Referrer, refs...)
	return done, w.SaveArtifacts()
}

// attachOrUndo is attachImage that takes back what it attached when it
// fails part-way, for callers with no undo of their own.
func (w *Workspace) attachOrUndo(ctx context.Context, target string, s sign.Signer, st Stamp, p *pushed) ([]publish.Attached, error) {
	done, err := w.attachImage(ctx, target, s, st, p)
	if err != nil {
		opts := append(w.publishOptions(target), publish.WithRetry(1, time.Second, time.Second))
		if derr := publish.Detach(context.WithoutCancel(ctx), done, opts...); derr != nil {
			err = fmt.Errorf("%w; and removing what was attached failed: %v", err, derr)
		}
		return nil, err
	}
	return done, nil
}

// explainReferrers adds the setting that turns attaching off to a
// registry's refusal.
func (w *Workspace) explainReferrers(err error) error {
	if errors.Is(err, publish.ErrReferrersRefused) {
		return fmt.Errorf("%w; to release to this registry without signatures and attestations, set HOIST_SIGN=off (Sign.Off)", err)
	}
	return err
}

// statementRepo is how statements name a repository p pushed to: the
// embedded registry by the address it is served at afterwards, not the
// private port of this run, so that reruns sign the same statements.
func (w *Workspace) statementRepo(p *pushed, repo string) string {
	if p.emb != nil {
		return p.emb.served(w) + "/" + w.ImageName()
	}
	return repo
}

// signFiles writes the provenance of every output of the release, and
// with a signer, the signatures of checksums.txt and of the provenance and
// the public key, next to checksums.txt. It records them in the artifact
// list.
func (w *Workspace) signFiles(ctx context.Context, s sign.Signer, st Stamp, tag string, imageRepos []string, imageDigest string) error {
	sumsName := w.checksumsName(st.Version.String())
	b := w.provenanceBuild(ctx, st, tag, w.buildInputs(w.Arts.All(), false))
	for _, a := range artifact.Select(w.Arts.All(), artifact.ByType(artifact.Archive, artifact.Checksums, artifact.SBOM)) {
		sub, err := attest.SubjectOf(a.Name, a.Digest)
		if err != nil {
			return err
		}
		b.Subjects = append(b.Subjects, sub)
	}
	if imageDigest != "" && len(imageRepos) > 0 {
		parts, err := w.readParts(ctx, st)
		if err != nil {
			return err
		}
		b.Bases = parts.bases
		for _, repo := range imageRepos {
			for _, d := range append([]string{parts.digest}, digestsOf(parts.platforms)...) {
				sub, err := attest.SubjectOf(repo, d)
				if err != nil {
					return err
				}
				b.Subjects = append(b.Subjects, sub)
			}
		}
	}
	if len(b.Subjects) == 0 {
		return errors.New("provenance: the release has no outputs to describe")
	}
	prov, err := attest.ProvenanceStatement(ctx, b)
	if err != nil {
		return err
	}
	var arts []artifact.Artifact
	write := func(t artifact.Type, name string, data []byte) error {
		file := w.Dist(name)
		if err := atomicfile.WriteBytes(ctx, file, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", w.Rel(file), err)
		}
		sum, size, err := checksum.SHA256File(ctx, file)
		if err != nil {
			return fmt.Errorf("hash %s: %w", w.Rel(file), err)
		}
		arts = append(arts, artifact.Artifact{Type: t, Name: name, Path: w.Rel(file), Digest: "sha256:" + sum, Size: size})
		return nil
	}
	if err := write(artifact.Provenance, ProvenanceFile, append(prov, '\n')); err != nil {
		return err
	}
	var sigs []artifact.Artifact
	if s != nil {
		sums, err := os.ReadFile(w.Dist(sumsName))
		if err != nil {
			return fmt.Errorf("sign %s: %w (the package stage writes it)", sumsName, err)
		}
		sig, bundle, err := sign.SignBlob(ctx, s, sums)
		if err != nil {
			return err
		}
		provBundle, err := sign.SignStatement(ctx, s, prov)
		if err != nil {
			return err
		}
		pub, err := sign.PublicKeyPEM(s.PublicKey())
		if err != nil {
			return err
		}
		for _, f := range []struct {
			t    artifact.Type
			name string
			data []byte
		}{
			{artifact.Signature, sumsName + ".sig", []byte(base64.StdEncoding.EncodeToString(sig))},
			{artifact.Signature, sumsName + ".sigstore.json", bundle},
			{artifact.Provenance, ProvenanceBundle, provBundle},
			{artifact.PublicKey, PublicKeyFile, pub},
		} {
			if err := write(f.t, f.name, f.data); err != nil {
				return err
			}
		}
		sigs = arts[1:]
	} else {
		// A release without a key leaves no signature of an earlier one.
		for _, name := range []string{sumsName + ".sig", sumsName + ".sigstore.json", ProvenanceBundle, PublicKeyFile} {
			if err := os.Remove(w.Dist(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove the stale %s: %w", name, err)
			}
		}
	}
	w.Arts.Replace(artifact.Provenance, artifact.Select(arts, artifact.ByType(artifact.Provenance))...)
	w.Arts.Replace(artifact.Signature, artifact.Select(sigs, artifact.ByType(artifact.Signature))...)
	w.Arts.Replace(artifact.PublicKey, artifact.Select(sigs, artifact.ByType(artifact.PublicKey))...)
	return w.SaveArtifacts()
}

func digestsOf(ps []platformImage) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.digest
	}
	return out
}

// jsonRaw marks encoded JSON so that attest.New embeds it as it is.
type jsonRaw []byte

// MarshalJSON implements json.Marshaler.
func (j jsonRaw) MarshalJSON() ([]byte, error) { return bytes.TrimSpace(j), nil }
