package image

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/pem"
	"fmt"
	"io"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// BuiltinBaseName is the base name recorded in the
// org.opencontainers.image.base.name annotation when Config.Base is empty.
// It is not a pullable reference: the base is generated in code.
const BuiltinBaseName = "hoist.dev/static"

// Paths and identities of the built-in base. NonrootUID owns the home
// directory, and the default Config.User runs as it.
const (
	// NonrootUID is the uid and gid of the "nonroot" user that the built-in
	// base defines and that images run as by default.
	NonrootUID = 65532
	// CACertsPath is where the built-in base puts the PEM bundle of trusted
	// roots; SSL_CERT_FILE points at it.
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
	// DefaultUser is Config.User when it is left empty.
	DefaultUser = "65532:65532"
	// DefaultWorkDir is Config.WorkDir when it is left empty.
	DefaultWorkDir = "/home/nonroot"
	// BinDir is the directory the binaries are copied into.
	BinDir = "/usr/local/bin"
)

// builtinEnv is the environment of the built-in base. SSL_CERT_FILE lets
// programs other than Go's crypto/x509 (which already searches the Debian
// path) find the bundle too.
var builtinEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"SSL_CERT_FILE=" + CACertsPath,
}

// builtinDirs lists the directories of the built-in base with their owners
// and modes. Layers above the base reuse these values for implicit parents,
// so adding /tmp/x does not clear the sticky bit on /tmp.
func builtinDirs() map[string]entry {
	dirs := []entry{
		{name: "etc", mode: 0o755},
		{name: "etc/ssl", mode: 0o755},
		{name: "etc/ssl/certs", mode: 0o755},
		{name: "home", mode: 0o755},
		{name: "home/nonroot", mode: 0o755, uid: NonrootUID, gid: NonrootUID},
		{name: "root", mode: 0o700},
		{name: "tmp", mode: 0o1777},
	}
	m := make(map[string]entry, len(dirs))
	for _, d := range dirs {
		d.typeflag = tar.TypeDir
		m[d.name] = d
	}
	return m
}

// caBundle returns the NSS roots pinned by go.mod's version of
// golang.org/x/crypto/x509roots/fallback as PEM, sorted by SHA-256 of the
// certificate so that the bytes do not depend on the generator's order.
//
// Roots that carry a Constraint (today: a distrust-after date) are left
// out. A PEM file cannot express the constraint, so OpenSSL, Go and every
// other reader would trust such a root without limit; dropping it matches
// what NSS does for new certificates and errs on the side of refusing a
// connection rather than accepting a certificate the root's owner is no
// longer trusted to issue. The count is returned for reporting and tests.
func caBundle() (pemBytes []byte, included, excluded int) {
	type root struct {
		sum [32]byte
		der []byte
	}
	var roots []root
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			excluded++
			continue
		}
		roots = append(roots, root{sum: sha256.Sum256(r.Certificate), der: r.Certificate})
	}
	sort.Slice(roots, func(i, j int) bool { return bytes.Compare(roots[i].sum[:], roots[j].sum[:]) < 0 })
	var buf bytes.Buffer
	buf.WriteString("# NSS roots from golang.org/x/crypto/x509roots/fallback, written by hoist;\n# roots with a distrust-after constraint are excluded.\n")
	for _, r := range roots {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: r.der})
	}
	return buf.Bytes(), len(roots), excluded
}

const (
	passwdFile = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	groupFile    = "root:x:0:\nnonroot:x:65532:\n"
	nsswitchFile = "hosts: files dns\n"
)

// staticLayer builds the single layer of the built-in base. Its bytes are
// the same for every platform; only the image config differs.
func staticLayer(ctx context.Context, created time.Time, zoneinfo []byte) (*memLayer, error) {
	l := newLayerFS()
	for _, d := range builtinDirs() {
		if err := l.add(d, "the built-in base"); err != nil {
			return nil, err
		}
	}
	certs, _, _ := caBundle()
	files := []entry{
		{name: "etc/passwd", data: []byte(passwdFile)},
		{name: "etc/group", data: []byte(groupFile)},
		{name: "etc/nsswitch.conf", data: []byte(nsswitchFile)},
		{name: strings.TrimPrefix(CACertsPath, "/"), data: certs},
	}
	for _, f := range files {
		f.typeflag, f.mode = tar.TypeReg, 0o644
		if err := l.add(f, "the built-in base"); err != nil {
			return nil, err
		}
	}
	if zoneinfo != nil {
		if err := addZoneinfo(l, zoneinfo); err != nil {
			return nil, err
		}
	}
	layer, err := l.build(ctx, created, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("build the built-in base layer: %w", err)
	}
	return layer, nil
}

// addZoneinfo unpacks Go's zoneinfo.zip (the same database that the
// time/tzdata package embeds) into /usr/share/zoneinfo, where Go's time
// package and C libraries look first.
func addZoneinfo(l *layerFS, zipData []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		return fmt.Errorf("read zoneinfo.zip: %w", err)
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		name := path.Clean(f.Name)
		if name == "." || strings.HasPrefix(name, "../") || path.IsAbs(name) {
			return fmt.Errorf("read zoneinfo.zip: unexpected entry %q; reinstall Go or drop Config.TZData", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("read zoneinfo.zip entry %s: %w", f.Name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("read zoneinfo.zip entry %s: %w", f.Name, err)
		}
		e := entry{name: "usr/share/zoneinfo/" + name, typeflag: tar.TypeReg, mode: 0o644, data: data}
		if err := l.add(e, "zoneinfo.zip"); err != nil {
			return err
		}
	}
	return nil
}

// goroot asks the go command where its installation is, so TZData works
// with the same toolchain that compiled the binaries.
func goroot(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", "GOROOT")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w: %s (install Go on PATH or pass image.WithGoRoot)", err, strings.TrimSpace(stderr.String()))
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("go env GOROOT printed nothing: pass image.WithGoRoot")
	}
	return dir, nil
}

func zoneinfoPath(root string) string {
	return filepath.Join(root, "lib", "time", "zoneinfo.zip")
}

// staticImage puts the shared base layer into an OCI image for one
// platform. The config carries the platform, so each platform's base has
// its own digest; that digest is what base.digest records.
func staticImage(layer v1.Layer, p v1.Platform, created time.Time) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "hoist: built-in static base (CA certificates, passwd, group, /tmp, /home/nonroot)",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("assemble the built-in base for %s: %w", platformString(p), err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("assemble the built-in base for %s: %w", platformString(p), err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: created}
	cf.OS, cf.Architecture, cf.Variant, cf.OSVersion = p.OS, p.Architecture, p.Variant, p.OSVersion
	cf.Config.Env = append([]string(nil), builtinEnv...)
	cf.Config.User = DefaultUser
	cf.Config.WorkingDir = DefaultWorkDir
	return mutate.ConfigFile(img, cf)
}
