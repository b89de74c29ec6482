package sbom

import (
	"bytes"
	"cmp"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/hoistdev/hoist/checksum"
	"github.com/hoistdev/hoist/internal/atomicfile"
)

// noAssertion is SPDX's way of saying "this tool does not know", used
// where build information is silent (licenses, download locations).
const noAssertion = "NOASSERTION"

// Option configures Generate, Write, GenerateImage and GenerateIndex.
// Options that only make sense for images (WithRepository, WithComponents,
// WithOwnBinaries, WithScanner) are ignored by Generate and Write.
type Option func(*options)

type options struct {
	created       time.Time
	name          string
	version       string
	namespaceBase string
	license       string
	repository    string
	components    []Component
	ownBinaries   []string
	scanner       *Scanner
}

// WithLicense declares the SPDX license expression (such as "Apache-2.0")
// of the project the binary is built from, on the binary and on its main
// module. The default is NOASSERTION: dependencies always keep it, since a
// binary's build information says nothing about their licenses. In an
// image SBOM it applies to the binaries named by WithOwnBinaries only.
func WithLicense(expr string) Option {
	return func(o *options) { o.license = expr }
}

// WithCreated sets the document's creation time. Releases pass the commit
// time so the SBOM is reproducible; the default, also used for the zero
// time.Time, is the Unix epoch. It is also the date stamped on the build
// setting annotations.
func WithCreated(t time.Time) Option {
	return func(o *options) { o.created = t }
}

// WithName sets the name the document, its namespace and the binary's
// package are known by. The default is the binary's file name without a
// ".exe" suffix, so the Windows and Linux SBOMs of one service share a
// name. For an image or index, it names the image package instead, and
// may be a repository path such as "owner/app" (the package URL takes its
// last segment); the default there is the last segment of WithRepository,
// else the org.opencontainers.image.title annotation, else "image".
func WithName(name string) Option {
	return func(o *options) { o.name = name }
}

// WithVersion sets the release version recorded for the binary and used
// in the document name and namespace. The default is the main module
// version Go stamped into the binary, or "devel" when Go only recorded
// "(devel)". Releases pass the version they inject with -ldflags, since
// that is what users see. For an image or index, it is the image package's
// version (default: the org.opencontainers.image.version annotation) and
// the version of the binaries named by WithOwnBinaries.
func WithVersion(version string) Option {
	return func(o *options) { o.version = version }
}

// WithNamespaceBase sets the URL prefix of the document namespace, for
// projects that want namespaces under their own domain. The default is
// "https://hoist.dev/spdx". The namespace is the base followed by
// "/<name>-<version>-<first 12 hex digits of the binary's SHA-256>"; for an
// image or index, of its manifest digest.
func WithNamespaceBase(base string) Option {
	return func(o *options) { o.namespaceBase = base }
}

func makeOptions(opts ...Option) (options, error) {
	o := options{namespaceBase: "https://hoist.dev/spdx"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.created.IsZero() {
		o.created = time.Unix(0, 0)
	}
	u, err := url.Parse(o.namespaceBase)
	if err != nil || u.Scheme == "" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return o, fmt.Errorf("sbom: WithNamespaceBase(%q): want an absolute URL without query or fragment, such as https://example.com/spdx", o.namespaceBase)
	}
	o.namespaceBase = strings.TrimSuffix(o.namespaceBase, "/")
	if err := o.checkImageOptions(); err != nil {
		return o, err
	}
	return o, nil
}

// Generate reads the build information embedded in the Go binary at
// binaryPath and returns the SPDX 2.3 document describing it. The document
// holds one package for the binary (with its SHA-256), one for the main
// module, one per dependency module and one for the Go standard library,
// joined by DESCRIBES, GENERATED_FROM and DEPENDS_ON relationships.
func Generate(ctx context.Context, binaryPath string, opts ...Option) (*v2_3.Document, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(o.name, "/\\") {
		return nil, fmt.Errorf("sbom: WithName(%q): a binary's name cannot contain path separators; pass the bare binary name", o.name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sbom %s: %w", binaryPath, err)
	}
	if _, err := os.Stat(binaryPath); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sbom %s: the binary does not exist; build it before generating its SBOM", binaryPath)
	}
	bi, err := buildinfo.ReadFile(binaryPath)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w; pass a binary produced by go build with modules enabled", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sbom %s: %w", binaryPath, err)
	}
	sum, _, err := checksum.SHA256File(ctx, binaryPath)
	if err != nil {
		return nil, fmt.Errorf("sbom %s: %w", binaryPath, err)
	}
	return fromBuildInfo(bi, filepath.Base(binaryPath), sum, o), nil
}

// Write generates the SBOM of the binary at binaryPath and writes it to
// dst as indented SPDX JSON, creating dst's directory if needed and
// replacing dst only once the whole document is written.
func Write(ctx context.Context, binaryPath, dst string, opts ...Option) error {
	doc, err := Generate(ctx, binaryPath, opts...)
	if err != nil {
		return err
	}
	return writeDoc(ctx, doc, binaryPath, dst)
}

// writeDoc writes doc, the SBOM of subject, to dst as indented SPDX JSON,
// replacing dst only once the whole document is written.
func writeDoc(ctx context.Context, doc *v2_3.Document, subject, dst string) error {
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf, spdxjson.Indent("  ")); err != nil {
		return fmt.Errorf("sbom %s: encode SPDX JSON: %w", subject, err)
	}
	if err := atomicfile.ReplaceBytes(ctx, dst, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("sbom %s: write %s: %w", subject, dst, err)
	}
	return nil
}

// allowedSetting reports whether a build setting is copied into the SBOM.
// It is an allow-list so that a setting added by a future Go release, which
// might carry environment values, stays out until someone has looked at it.
func allowedSetting(key string) bool {
	switch key {
	case "-asmflags", "-buildmode", "-compiler", "-gcflags", "-ldflags", "-pgo",
		"-race", "-msan", "-asan", "-tags", "-trimpath",
		"CGO_ENABLED", "GOOS", "GOARCH", "GOEXPERIMENT", "GOFIPS140",
		"GO386", "GOAMD64", "GOARM", "GOARM64", "GOMIPS", "GOMIPS64",
		"GOPPC64", "GORISCV64", "GOWASM",
		"DefaultGODEBUG", "vcs", "vcs.revision", "vcs.time", "vcs.modified":
		return true
	}
	return false
}

// fromBuildInfo is the pure half of Generate: it turns build information
// into a document, so its mapping can be tested on any BuildInfo.
func fromBuildInfo(bi *debug.BuildInfo, fileName, sha256 string, o options) *v2_3.Document {
	created := o.created.UTC().Format("2006-01-02T15:04:05Z")
	ids := idAllocator{}

	version := o.version
	if version == "" {
		version = realVersion(bi.Main.Version)
	}
	docVersion := cmp.Or(version, "devel")
	name := o.name
	if name == "" {
		name = strings.TrimSuffix(fileName, ".exe")
	}

	doc := &v2_3.Document{
		SPDXVersion:       v2_3.Version,
		DataLicense:       v2_3.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      name + "-" + docVersion,
		DocumentNamespace: o.namespaceBase + "/" + urlSafe(name) + "-" + urlSafe(docVersion) + "-" + sha256[:12],
		DocumentComment:   "Generated by hoist from the Go build information embedded in " + fileName + ".",
		CreationInfo: &v2_3.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: "hoist"}},
			Created:  created,
		},
	}
	g := describeGoBinary(ids, bi, goBinarySpec{
		fileName: fileName,
		name:     name,
		version:  version,
		sha256:   sha256,
		license:  o.license,
		created:  created,
	})
	doc.Packages = g.packages
	doc.Relationships = append([]*v2_3.Relationship{relate("DOCUMENT", common.TypeRelationshipDescribe, g.bin.PackageSPDXIdentifier)}, g.rels...)
	return doc
}

// goBinarySpec says how to present one Go binary; its build information
// says the rest.
type goBinarySpec struct {
	fileName string // base name of the file, the binary package's name
	name     string // what the binary's element id is derived from
	version  string // release version; "" when only build information knows
	sha256   string // hex SHA-256 of the file
	license  string // declared license of the binary and main module; "" for NOASSERTION
	created  string // date of the build setting annotations
	// scope keeps ids apart when one document holds several binaries:
	// with a scope "web", ids read Binary-web, Module-web-<path> and
	// Stdlib-web instead of Binary-<name>, Module-<path> and Stdlib.
	scope string
}

// goBinary is a Go binary as SBOMs present it: the binary's package, then
// its main module, dependency modules and standard library, with the
// relationships among them. The per-binary SBOM and the image SBOM both use
// it, so a binary reads the same in either.
type goBinary struct {
	bin      *v2_3.Package
	packages []*v2_3.Package // bin first
	rels     []*v2_3.Relationship
}

func describeGoBinary(ids idAllocator, bi *debug.BuildInfo, s goBinarySpec) goBinary {
	goVersion, _, _ := strings.Cut(bi.GoVersion, " ")
	settings := make(map[string]string, len(bi.Settings))
	for _, st := range bi.Settings {
		settings[st.Key] = st.Value
	}
	var g goBinary
	bin := &v2_3.Package{
		PackageName:           s.fileName,
		PackageSPDXIdentifier: ids.next("Binary-" + cmp.Or(s.scope, s.name)),
		PackageVersion:        s.version,
		PackageFileName:       s.fileName,
		PackageChecksums:      []common.Checksum{{Algorithm: common.SHA256, Value: s.sha256}},
		PrimaryPackagePurpose: "APPLICATION",
		PackageComment:        fmt.Sprintf("Go executable for %s/%s built with %s.", cmp.Or(settings["GOOS"], "unknown"), cmp.Or(settings["GOARCH"], "unknown"), goVersion),
	}
	for _, st := range bi.Settings {
		if !allowedSetting(st.Key) {
			continue
		}
		bin.Annotations = append(bin.Annotations, v2_3.Annotation{
			Annotator:                common.Annotator{AnnotatorType: "Tool", Annotator: "hoist"},
			AnnotationDate:           s.created,
			AnnotationType:           "OTHER",
			AnnotationSPDXIdentifier: common.MakeDocElementID("", string(bin.PackageSPDXIdentifier)),
			AnnotationComment:        "go build setting: " + st.Key + "=" + st.Value,
		})
	}
	g.bin = declare(describe(bin), s.license)
	g.packages = append(g.packages, g.bin)

	// Go records the modules linked into the binary but not who requires
	// whom, so every dependency hangs directly off the main module.
	root := bin.PackageSPDXIdentifier
	if bi.Main.Path != "" {
		mainVersion := realVersion(bi.Main.Version)
		if mainVersion == "" && s.version != "" {
			mainVersion = moduleVersion(s.version)
		}
		main := modulePackage(ids.next(scopedID("Module", s.scope, bi.Main.Path)), bi.Main.Path, bi.Main.Path, mainVersion, bi.Main.Sum, "")
		main.PrimaryPackagePurpose = "SOURCE"
		g.packages = append(g.packages, declare(main, s.license))
		g.rels = append(g.rels, relate(bin.PackageSPDXIdentifier, common.TypeRelationshipGeneratedFrom, main.PackageSPDXIdentifier))
		root = main.PackageSPDXIdentifier
	}
	for _, dep := range bi.Deps {
		p := depPackage(ids.next(scopedID("Module", s.scope, dep.Path)), dep)
		g.packages = append(g.packages, p)
		g.rels = append(g.rels, relate(root, common.TypeRelationshipDependsOn, p.PackageSPDXIdentifier))
	}
	std := &v2_3.Package{
		PackageName:           "stdlib",
		PackageSPDXIdentifier: ids.next(scopedID("Stdlib", s.scope, "")),
		PackageVersion:        goVersion,
		PrimaryPackagePurpose: "LIBRARY",
		PackageComment:        "The Go standard library and runtime linked into the binary.",
		// The version keeps Go's own spelling (go1.26.8), which the vuln
		// database and go version use; the package URL drops the "go", as
		// Syft and Trivy write it, so that scanners matching by PURL
		// (Grype, Trivy, Dependency-Track) find the standard library's
		// vulnerabilities.
		PackageExternalReferences: []*v2_3.PackageExternalReference{
			purlRef("stdlib", strings.TrimPrefix(goVersion, "go")),
		},
	}
	g.packages = append(g.packages, describe(std))
	g.rels = append(g.rels, relate(root, common.TypeRelationshipDependsOn, std.PackageSPDXIdentifier))
	return g
}

// scopedID joins an id's kind, scope and subject with dashes, leaving out
// the empty parts, so that an empty scope gives the per-binary ids.
func scopedID(kind, scope, subject string) string {
	id := kind
	for _, part := range []string{scope, subject} {
		if part != "" {
			id += "-" + part
		}
	}
	return id
}

// depPackage describes one dependency as it was built: a replaced module
// is named by the path the code imports but versioned, summed and
// located by its replacement, because that is the code that got linked.
func depPackage(id common.ElementID, dep *debug.Module) *v2_3.Package {
	r := dep.Replace
	switch {
	case r == nil:
		return modulePackage(id, dep.Path, dep.Path, dep.Version, dep.Sum, "")
	case realVersion(r.Version) == "":
		// A directory replacement has no version and no module identity
		// to put in a PURL.
		p := modulePackage(id, dep.Path, "", "", "", "Replaced by the local directory "+r.Path+".")
		p.PackageExternalReferences = nil
		return p
	default:
		return modulePackage(id, dep.Path, r.Path, r.Version, r.Sum, "Replaced by "+r.Path+"@"+r.Version+".")
	}
}

// modulePackage describes one module under the name the code imports it
// by; purlPath is the module the code really came from.
func modulePackage(id common.ElementID, name, purlPath, version, sum, note string) *v2_3.Package {
	p := &v2_3.Package{
		PackageName:           name,
		PackageSPDXIdentifier: id,
		PackageVersion:        version,
		PrimaryPackagePurpose: "LIBRARY",
	}
	if purlPath != "" {
		p.PackageExternalReferences = []*v2_3.PackageExternalReference{purlRef(purlPath, version)}
	}
	var comment []string
	if note != "" {
		comment = append(comment, note)
	}
	if sum != "" {
		// An h1: hash is SHA-256 over a listing of the module's files, not
		// over one file, so it is no SPDX package checksum; keep it as
		// information for go.sum cross-checks.
		comment = append(comment, "go.sum hash "+sum+" (Go module dirhash, not a file checksum).")
	}
	p.PackageComment = strings.Join(comment, " ")
	return describe(p)
}

// declare sets the declared license, when one is known.
func declare(p *v2_3.Package, license string) *v2_3.Package {
	if license != "" {
		p.PackageLicenseDeclared = license
	}
	return p
}

// describe fills the fields every package states the same way, since
// build information knows nothing about licenses or download locations.
func describe(p *v2_3.Package) *v2_3.Package {
	p.PackageSupplier = &common.Supplier{Supplier: noAssertion}
	p.PackageDownloadLocation = noAssertion
	p.FilesAnalyzed = false
	p.IsFilesAnalyzedTagPresent = true
	p.PackageLicenseConcluded = noAssertion
	p.PackageLicenseDeclared = noAssertion
	p.PackageCopyrightText = noAssertion
	return p
}

// purlRef renders pkg:golang/<module path>@<version>. The module path
// keeps its case even though the golang PURL type asks for lowercase:
// Go module paths are case-sensitive and lowercasing would name another
// module. The version is omitted when unknown.
func purlRef(path, version string) *v2_3.PackageExternalReference {
	locator := "pkg:golang/" + path
	if version != "" {
		locator += "@" + url.PathEscape(version)
	}
	return &v2_3.PackageExternalReference{
		Category: common.CategoryPackageManager,
		RefType:  common.TypePackageManagerPURL,
		Locator:  locator,
	}
}

func relate(a common.ElementID, kind string, b common.ElementID) *v2_3.Relationship {
	return &v2_3.Relationship{
		RefA:         common.MakeDocElementID("", string(a)),
		RefB:         common.MakeDocElementID("", string(b)),
		Relationship: kind,
	}
}

// realVersion drops the placeholder Go records for a main module built
// from a working tree.
func realVersion(v string) string {
	if v == "(devel)" {
		return ""
	}
	return v
}

// moduleVersion turns a release version into Go's module version form,
// which always starts with "v".
func moduleVersion(v string) string {
	if v != "" && v[0] >= '0' && v[0] <= '9' {
		return "v" + v
	}
	return v
}

// urlSafe keeps namespace segments readable while making sure they stay
// a single valid path segment.
func urlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(".-_+", r):
			return r
		}
		return -1
	}, s)
}

// idAllocator hands out SPDX element ids. SPDX ids allow only letters,
// digits, "." and "-", so module paths are folded to that alphabet, and a
// counter suffix keeps two paths that fold alike apart.
type idAllocator map[common.ElementID]bool

func (a idAllocator) next(base string) common.ElementID {
	id := common.ElementID(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '-'
	}, base))
	unique := id
	for n := 2; a[unique]; n++ {
		unique = common.ElementID(fmt.Sprintf("%s-%d", id, n))
	}
	a[unique] = true
	return unique
}
