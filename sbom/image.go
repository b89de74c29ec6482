package sbom

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
	"golang.org/x/sync/errgroup"
)

// The OCI annotation keys an image SBOM reads. The image package sets them
// on every manifest and index, and as config labels; they are repeated
// here so that sbom does not depend on the image builder.
const (
	annotationVersion    = "org.opencontainers.image.version"
	annotationTitle      = "org.opencontainers.image.title"
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
	// dockerReferenceType marks the attestation manifests BuildKit puts in
	// an index next to the platform images.
	dockerReferenceType = "vnd.docker.reference.type"
)

// Component is a part of an image that no package database lists, such as
// the CA certificates of hoist's built-in base, which come from
// golang.org/x/crypto/x509roots/fallback.
type Component struct {
	// Name is the package name. Required.
	Name string
	// Version is the component's version, if it has one.
	Version string
	// PURL is the component's package URL, if it has one.
	PURL string
	// License is the SPDX license expression the component is distributed
	// under. Default: NOASSERTION.
	License string
	// Files are the absolute paths of the component's files in the image.
	// Each must be a regular file of every image described; the component
	// CONTAINS them. Default: none.
	Files []string
	// Comment says where the component comes from.
	Comment string
}

// WithRepository names the repository the image is pushed to, such as
// "ghcr.io/hoistdev/web", without a tag or digest. It becomes the
// repository_url qualifier of the image's package URL, and its last
// segment the default name. Only GenerateImage and GenerateIndex use it.
// Default: none; the package URL then names the image by digest alone.
func WithRepository(repo string) Option {
	return func(o *options) { o.repository = repo }
}

// WithComponents records parts of every image described that no package
// database lists (see Component), each as a package the image CONTAINS.
// Repeated calls add up. Only GenerateImage and GenerateIndex use it.
// Default: none.
func WithComponents(cs ...Component) Option {
	return func(o *options) { o.components = append(o.components, cs...) }
}

// WithOwnBinaries names, by absolute path in the image (such as
// "/usr/local/bin/web"), the Go binaries the project itself built. They
// are described as Generate describes them: the image's version
// (WithVersion, else its version annotation) is their version, and their
// main module's when Go recorded none; WithLicense is their declared
// license. Every other Go binary, such as a tool that came with
// the base image, is described from its build information alone. A named
// path must be a Go binary in every image described. Repeated calls add
// up. Default: none.
func WithOwnBinaries(paths ...string) Option {
	return func(o *options) { o.ownBinaries = append(o.ownBinaries, paths...) }
}

// checkImageOptions rejects image options that could only produce a
// wrong document.
func (o *options) checkImageOptions() error {
	if o.repository != "" {
		if _, err := name.NewRepository(o.repository); err != nil || strings.Contains(o.repository, "://") {
			return fmt.Errorf("sbom: WithRepository(%q): want a lowercase repository such as ghcr.io/owner/app, without scheme, tag or digest", o.repository)
		}
	}
	for _, p := range o.ownBinaries {
		if !validImagePath(p) {
			return fmt.Errorf("sbom: WithOwnBinaries(%q): want the clean absolute path of a file in the image, such as /usr/local/bin/web", p)
		}
	}
	for _, c := range o.components {
		if c.Name == "" {
			return fmt.Errorf("sbom: WithComponents: a component with files %q has no Name; name it", c.Files)
		}
		if c.PURL != "" && !strings.HasPrefix(c.PURL, "pkg:") {
			return fmt.Errorf("sbom: WithComponents: component %s has PURL %q; a package URL starts with pkg:", c.Name, c.PURL)
		}
		for _, f := range c.Files {
			if !strings.HasPrefix(f, "/") || !validImagePath(f) {
				return fmt.Errorf("sbom: WithComponents: component %s lists file %q; use the clean absolute path in the image, such as /etc/ssl/certs/ca-certificates.crt", c.Name, f)
			}
		}
	}
	return nil
}

func validImagePath(p string) bool {
	return p != "/" && path.Clean(p) == p && strings.HasPrefix(p, "/")
}

// GenerateImage describes one platform image: every Go binary in it with
// its modules and standard library, the OS packages of its base where a
// package database is present, and every regular file with its checksums.
//
// The layers are read in order as a container runtime stacks them, OCI
// whiteouts included, so a file a layer deletes is not listed. The image
// is the package the document DESCRIBES; its package URL is
// pkg:oci/<name>@<manifest digest>?arch=..&os=.. (with repository_url
// when WithRepository is given). It CONTAINS the binaries, the OS and its
// packages, the components and the files, and is a DESCENDANT_OF its base
// image when the org.opencontainers.image.base.* annotations or labels
// name one. The same image and options always give the same document.
func GenerateImage(ctx context.Context, img v1.Image, opts ...Option) (*v2_3.Document, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("sbom image: compute manifest digest: %w", err)
	}
	scan, err := scanImage(ctx, img, nil, o.scannerFor())
	if err != nil {
		return nil, fmt.Errorf("sbom image %s: %w", digest, err)
	}
	b := newDocBuilder(o)
	name, version := o.nameAndVersion(scan.lookup)
	id, err := b.addImage(scan, name, version, "")
	if err != nil {
		return nil, fmt.Errorf("sbom image %s: %w", digest, err)
	}
	return b.document(id, name, version, digest,
		fmt.Sprintf("Generated by hoist from the layers of the %s OCI image %s.", platformString(scan.platform), digest)), nil
}

// GenerateIndex describes a multi-platform index: one package per platform
// image, each with what GenerateImage finds in it, all CONTAINED by the
// index package the document DESCRIBES. Its package URL is
// pkg:oci/<name>@<index digest>. Attestation manifests that BuildKit adds
// to an index are skipped; a nested index is refused. Platform images are
// read in parallel, and a layer they share is read once.
func GenerateIndex(ctx context.Context, idx v1.ImageIndex, opts ...Option) (*v2_3.Document, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	digest, err := idx.Digest()
	if err != nil {
		return nil, fmt.Errorf("sbom index: compute digest: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("sbom index %s: read index manifest: %w", digest, err)
	}
	var descs []v1.Descriptor
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			return nil, fmt.Errorf("sbom index %s: manifest %s is itself an index; describe each index on its own", digest, d.Digest)
		case !d.MediaType.IsImage(), d.Annotations[dockerReferenceType] != "":
			continue // an attestation or other artifact, not a platform image
		}
		descs = append(descs, d)
	}
	if len(descs) == 0 {
		return nil, fmt.Errorf("sbom index %s: no platform images in it; pass an index of images", digest)
	}

	// One scanner for all platforms, so that a layer they share is read
	// once even without WithScanner.
	sc := o.scannerFor()
	scans := make([]*imageScan, len(descs))
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(runtime.GOMAXPROCS(0))
	for i, d := range descs {
		eg.Go(func() error {
			img, err := idx.Image(d.Digest)
			if err != nil {
				return fmt.Errorf("sbom index %s: open image %s: %w", digest, d.Digest, err)
			}
			s, err := scanImage(gctx, img, d.Platform, sc)
			if err != nil {
				return fmt.Errorf("sbom index %s: image %s: %w", digest, d.Digest, err)
			}
			scans[i] = s
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}

	lookup := func(key string) string {
		if v := im.Annotations[key]; v != "" {
			return v
		}
		return scans[0].lookup(key)
	}
	name, version := o.nameAndVersion(lookup)
	b := newDocBuilder(o)
	index := describe(&v2_3.Package{
		PackageName:           name,
		PackageSPDXIdentifier: b.ids.next("Index"),
		PackageVersion:        version,
		PackageChecksums:      digestChecksum(digest),
		PrimaryPackagePurpose: "CONTAINER",
		PackageComment:        fmt.Sprintf("OCI image index %s with %d platform images.", digest, len(scans)),
		PackageExternalReferences: []*v2_3.PackageExternalReference{
			purlLocator(o.ociPURL(name, digest, nil)),
		},
	})
	b.pkgs = append(b.pkgs, index)
	// The index names its base index; each image names its own base.
	b.addBase(index.PackageSPDXIdentifier, im.Annotations[annotationBaseName], im.Annotations[annotationBaseDigest], nil, "index")
	for _, s := range scans {
		id, err := b.addImage(s, name, version, platformScope(s.platform))
		if err != nil {
			return nil, fmt.Errorf("sbom index %s: image %s: %w", digest, s.digest, err)
		}
		b.relate(index.PackageSPDXIdentifier, common.TypeRelationshipContains, id)
	}
	return b.document(index.PackageSPDXIdentifier, name, version, digest,
		fmt.Sprintf("Generated by hoist from the layers of the %d platform images of the OCI image index %s.", len(scans), digest)), nil
}

// EncodeJSON encodes doc as compact SPDX JSON on one line, without a
// trailing newline: the form an attestation carries. Field order follows
// the document types and every list keeps its order, so the same document
// always gives the same bytes.
func EncodeJSON(doc *v2_3.Document) ([]byte, error) {
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf); err != nil {
		return nil, fmt.Errorf("sbom: encode SPDX JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// imageScan is what reading one image found, before any ids are handed
// out, so that the images of an index can be read in parallel and then
// described in a fixed order.
type imageScan struct {
	digest       v1.Hash
	configDigest v1.Hash
	layers       int
	platform     v1.Platform
	annotations  map[string]string // manifest annotations
	labels       map[string]string // config labels
	files        map[string]*fileInfo
}

// lookup reads an OCI annotation from the manifest, falling back to the
// config label of the same key (which survives `docker save`).
func (s *imageScan) lookup(key string) string {
	if v := s.annotations[key]; v != "" {
		return v
	}
	return s.labels[key]
}

func scanImage(ctx context.Context, img v1.Image, plat *v1.Platform, sc *Scanner) (*imageScan, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &imageScan{}
	var err error
	if s.digest, err = img.Digest(); err != nil {
		return nil, fmt.Errorf("compute manifest digest: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	s.configDigest, s.layers, s.annotations, s.labels = m.Config.Digest, len(m.Layers), m.Annotations, cf.Config.Labels
	s.platform = v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	if plat != nil && plat.OS != "" {
		s.platform = v1.Platform{OS: plat.OS, Architecture: plat.Architecture, Variant: plat.Variant}
	}
	if s.files, err = flatten(ctx, img, sc); err != nil {
		return nil, err
	}
	return s, nil
}

// nameAndVersion picks the image package's name and version: the options
// first, then what the image says about itself.
func (o *options) nameAndVersion(lookup func(string) string) (string, string) {
	n := o.name
	if n == "" && o.repository != "" {
		n = path.Base(o.repository)
	}
	return cmp.Or(n, lookup(annotationTitle), "image"), cmp.Or(o.version, lookup(annotationVersion))
}

// ociPURL is pkg:oci/<name>@<digest>, qualified by the platform when
// there is one and by the repository when it is known.
func (o *options) ociPURL(name string, digest v1.Hash, plat *v1.Platform) string {
	// The oci type wants the last segment of the repository as the name.
	p := purl{typ: "oci", name: strings.ToLower(path.Base(name)), version: digest.String(), qualifiers: map[string]string{"repository_url": o.repository}}
	if plat != nil {
		p.qualifiers["arch"], p.qualifiers["os"] = plat.Architecture, plat.OS
	}
	return p.String()
}

// docBuilder collects the elements of one document; ids stay unique
// across every image, binary and file it holds.
type docBuilder struct {
	o       options
	created string
	ids     idAllocator
	pkgs    []*v2_3.Package
	files   []*v2_3.File
	rels    []*v2_3.Relationship
}

func newDocBuilder(o options) *docBuilder {
	return &docBuilder{o: o, created: o.created.UTC().Format("2006-01-02T15:04:05Z"), ids: idAllocator{}}
}

func (b *docBuilder) relate(a common.ElementID, kind string, c common.ElementID) {
	b.rels = append(b.rels, relate(a, kind, c))
}

// document wraps what was collected in a document that DESCRIBES root.
func (b *docBuilder) document(root common.ElementID, name, version string, digest v1.Hash, comment string) *v2_3.Document {
	docVersion := cmp.Or(version, "devel")
	return &v2_3.Document{
		SPDXVersion:       v2_3.Version,
		DataLicense:       v2_3.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      name + "-" + docVersion,
		DocumentNamespace: b.o.namespaceBase + "/" + urlSafe(name) + "-" + urlSafe(docVersion) + "-" + digest.Hex[:min(12, len(digest.Hex))],
		DocumentComment:   comment,
		CreationInfo: &v2_3.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: "hoist"}},
			Created:  b.created,
		},
		Packages:      b.pkgs,
		Files:         b.files,
		Relationships: append([]*v2_3.Relationship{relate("DOCUMENT", common.TypeRelationshipDescribe, root)}, b.rels...),
	}
}

// addImage adds one image with everything in it and returns the image
// package's id. scope is "" for a lone image and the platform within an
// index, so that the ids of two platforms do not clash.
func (b *docBuilder) addImage(s *imageScan, name, version, scope string) (common.ElementID, error) {
	paths := make([]string, 0, len(s.files))
	for p := range s.files {
		paths = append(paths, p)
	}
	slices.Sort(paths)

	img := describe(&v2_3.Package{
		PackageName:           name,
		PackageSPDXIdentifier: b.ids.next(scopedID("Image", scope, "")),
		PackageVersion:        version,
		PackageChecksums:      digestChecksum(s.digest),
		PrimaryPackagePurpose: "CONTAINER",
		PackageComment:        fmt.Sprintf("OCI image for %s: manifest %s, config %s, %d layers, %d regular files.", platformString(s.platform), s.digest, s.configDigest, s.layers, len(paths)),
		PackageExternalReferences: []*v2_3.PackageExternalReference{
			purlLocator(b.o.ociPURL(name, s.digest, &s.platform)),
		},
	})
	analyzed(img, s.files, paths)
	b.pkgs = append(b.pkgs, img)
	imgID := img.PackageSPDXIdentifier
	b.addBase(imgID, s.lookup(annotationBaseName), s.lookup(annotationBaseDigest), &s.platform, scope)

	// File ids are handed out first, in path order, so that binaries and
	// components can point at them.
	fileIDs := make(map[string]common.ElementID, len(paths))
	var files []*v2_3.File
	for _, p := range paths {
		f := s.files[p]
		file := &v2_3.File{
			FileName:           "/" + p,
			FileSPDXIdentifier: b.ids.next(scopedID("File", scope, p)),
			Checksums: []common.Checksum{
				{Algorithm: common.SHA1, Value: hex.EncodeToString(f.sha1[:])},
				{Algorithm: common.SHA256, Value: hex.EncodeToString(f.sha256[:])},
			},
			LicenseConcluded:  noAssertion,
			FileCopyrightText: noAssertion,
		}
		if f.exec {
			file.FileTypes = []string{"BINARY"}
		}
		fileIDs[p] = file.FileSPDXIdentifier
		files = append(files, file)
	}

	pkgs, rel := osPackages(s.files)
	if rel.id != "" {
		osPkg := describe(&v2_3.Package{
			PackageName:           rel.id,
			PackageSPDXIdentifier: b.ids.next(scopedID("OS", scope, "")),
			PackageVersion:        rel.versionID,
			PrimaryPackagePurpose: "OPERATING-SYSTEM",
			PackageComment:        strings.TrimSpace(rel.prettyName + " (from os-release)."),
		})
		b.pkgs = append(b.pkgs, osPkg)
		b.relate(imgID, common.TypeRelationshipContains, osPkg.PackageSPDXIdentifier)
	}

	own := map[string]bool{}
	for _, p := range b.o.ownBinaries {
		if f := s.files[p[1:]]; f == nil || f.build == nil {
			return "", fmt.Errorf("WithOwnBinaries names %s, which is not a Go binary in the %s image; pass the path the binary has in the image", p, platformString(s.platform))
		}
		own[p[1:]] = true
	}
	for _, p := range paths {
		f := s.files[p]
		if f.build == nil {
			continue
		}
		base := path.Base(p)
		spec := goBinarySpec{
			fileName: base,
			name:     strings.TrimSuffix(base, ".exe"),
			version:  realVersion(f.build.Main.Version),
			sha256:   hex.EncodeToString(f.sha256[:]),
			created:  b.created,
		}
		spec.scope = spec.name
		if scope != "" {
			spec.scope = scope + "-" + spec.name
		}
		if own[p] {
			spec.version = cmp.Or(version, spec.version)
			spec.license = b.o.license
		}
		g := describeGoBinary(b.ids, f.build, spec)
		analyzed(g.bin, s.files, []string{p})
		b.pkgs = append(b.pkgs, g.packages...)
		b.relate(imgID, common.TypeRelationshipContains, g.bin.PackageSPDXIdentifier)
		b.relate(g.bin.PackageSPDXIdentifier, common.TypeRelationshipContains, fileIDs[p])
		b.rels = append(b.rels, g.rels...)
	}

	for _, c := range b.o.components {
		var cpaths []string
		for _, f := range c.Files {
			p := strings.TrimPrefix(f, "/")
			if s.files[p] == nil {
				return "", fmt.Errorf("component %s lists %s, which is not a regular file in the %s image; fix WithComponents or the image", c.Name, f, platformString(s.platform))
			}
			cpaths = append(cpaths, p)
		}
		comp := describe(&v2_3.Package{
			PackageName:           c.Name,
			PackageSPDXIdentifier: b.ids.next(scopedID("Component", scope, c.Name)),
			PackageVersion:        c.Version,
			PackageComment:        c.Comment,
		})
		if c.PURL != "" {
			comp.PackageExternalReferences = []*v2_3.PackageExternalReference{purlLocator(c.PURL)}
		}
		declare(comp, c.License)
		if len(cpaths) > 0 {
			analyzed(comp, s.files, cpaths)
		}
		b.pkgs = append(b.pkgs, comp)
		b.relate(imgID, common.TypeRelationshipContains, comp.PackageSPDXIdentifier)
		for _, p := range cpaths {
			b.relate(comp.PackageSPDXIdentifier, common.TypeRelationshipContains, fileIDs[p])
		}
	}

	for _, op := range pkgs {
		kind := map[string]string{"deb": "Deb", "apk": "Apk"}[op.typ]
		p := describe(&v2_3.Package{
			PackageName:           op.name,
			PackageSPDXIdentifier: b.ids.next(scopedID(kind, scope, op.name)),
			PackageVersion:        op.version,
			PackageComment:        "Listed as installed in " + op.db + ".",
			PackageExternalReferences: []*v2_3.PackageExternalReference{
				purlLocator(op.purl(rel)),
			},
		})
		if op.source != "" && (op.source != op.name || op.sourceVersion != op.version) {
			p.PackageSourceInfo = "built from the " + op.typ + " source package " + op.source + " " + op.sourceVersion
		}
		if op.license != "" {
			p.PackageLicenseComments = "The package database states the license as: " + op.license
		}
		b.pkgs = append(b.pkgs, p)
		b.relate(imgID, common.TypeRelationshipContains, p.PackageSPDXIdentifier)
	}

	for _, file := range files {
		b.relate(imgID, common.TypeRelationshipContains, file.FileSPDXIdentifier)
	}
	b.files = append(b.files, files...)
	return imgID, nil
}

// addBase records the base image that the annotations name, if any, as a
// package that child is a DESCENDANT_OF. plat is nil for a base index.
func (b *docBuilder) addBase(child common.ElementID, baseName, baseDigest string, plat *v1.Platform, scope string) {
	if baseName == "" && baseDigest == "" {
		return
	}
	p := describe(&v2_3.Package{
		PackageName:           cmp.Or(baseName, "base"),
		PackageSPDXIdentifier: b.ids.next(scopedID("Base", scope, "")),
		PackageVersion:        baseDigest,
		PrimaryPackagePurpose: "CONTAINER",
		PackageComment:        "The base image, as the org.opencontainers.image.base.name and .base.digest annotations name it.",
	})
	if u := basePURL(baseName, baseDigest, plat); u != "" {
		p.PackageExternalReferences = []*v2_3.PackageExternalReference{purlLocator(u)}
	}
	b.pkgs = append(b.pkgs, p)
	b.relate(child, common.TypeRelationshipDescendantOf, p.PackageSPDXIdentifier)
}

// basePURL builds the package URL of a base image from its reference
// ("gcr.io/distroless/static-debian12:nonroot") and digest. It returns ""
// when there is no digest to use as the version, which the oci purl type
// requires, or the reference does not parse.
func basePURL(ref, digest string, plat *v1.Platform) string {
	p := purl{typ: "oci", qualifiers: map[string]string{}}
	if ref != "" {
		r, err := name.ParseReference(ref)
		if err != nil {
			return ""
		}
		repo := r.Context()
		p.name = path.Base(repo.RepositoryStr())
		reg := repo.RegistryStr()
		if reg == name.DefaultRegistry {
			reg = "docker.io" // what the purl spec and users write
		}
		p.qualifiers["repository_url"] = reg + "/" + repo.RepositoryStr()
		switch r := r.(type) {
		case name.Tag:
			// ParseReference fills in "latest"; only a tag that was written
			// says anything.
			if strings.HasSuffix(ref, ":"+r.TagStr()) {
				p.qualifiers["tag"] = r.TagStr()
			}
		case name.Digest:
			digest = cmp.Or(digest, r.DigestStr())
		}
	}
	if digest == "" || p.name == "" {
		return ""
	}
	p.version = digest
	if plat != nil {
		p.qualifiers["arch"], p.qualifiers["os"] = plat.Architecture, plat.OS
	}
	return p.String()
}

// analyzed marks p as a package whose files are listed, which SPDX asks
// to come with the package verification code: the SHA-1 of the sorted,
// concatenated SHA-1s of its files.
func analyzed(p *v2_3.Package, files map[string]*fileInfo, paths []string) {
	sums := make([]string, 0, len(paths))
	for _, name := range paths {
		sums = append(sums, hex.EncodeToString(files[name].sha1[:]))
	}
	slices.Sort(sums)
	h := sha1.New()
	for _, s := range sums {
		h.Write([]byte(s))
	}
	p.FilesAnalyzed = true
	p.PackageVerificationCode = &common.PackageVerificationCode{Value: hex.EncodeToString(h.Sum(nil))}
}

func digestChecksum(d v1.Hash) []common.Checksum {
	alg := map[string]common.ChecksumAlgorithm{"sha256": common.SHA256, "sha512": common.SHA512}[d.Algorithm]
	if alg == "" {
		return nil
	}
	return []common.Checksum{{Algorithm: alg, Value: d.Hex}}
}

func purlLocator(u string) *v2_3.PackageExternalReference {
	return &v2_3.PackageExternalReference{
		Category: common.CategoryPackageManager,
		RefType:  common.TypePackageManagerPURL,
		Locator:  u,
	}
}

// platformString is "linux/arm64" or "linux/arm/v7".
func platformString(p v1.Platform) string {
	s := cmp.Or(p.OS, "unknown") + "/" + cmp.Or(p.Architecture, "unknown")
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// platformScope is the id scope of one platform in an index:
// "linux-arm64" or "linux-arm-v7".
func platformScope(p v1.Platform) string {
	return strings.ReplaceAll(platformString(p), "/", "-")
}
