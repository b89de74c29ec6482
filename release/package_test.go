package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	spdxjson "github.com/spdx/tools-golang/json"

	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/checksum"
	"github.com/hoistdev/hoist/platform"
)

var commitTime = time.Date(2024, 5, 17, 13, 45, 10, 0, time.UTC)

func packOpts(root string, bins []artifact.Artifact) PackageOptions {
	return PackageOptions{Root: root, Project: "svc", Version: "v1.2.3", ModTime: commitTime, Binaries: bins}
}

// entries lists the names (with modes and times) inside an archive.
func entries(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			out[f.Name] = f.Mode().String() + " " + f.Modified.UTC().Format(time.RFC3339)
		}
		return out
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h.FileInfo().Mode().String() + " " + h.ModTime.UTC().Format(time.RFC3339)
	}
	return out
}

func TestPackage(t *testing.T) {
	root, bins := packRoot(t)
	if err := os.MkdirAll(filepath.Join(root, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "conf", "app.toml"), []byte("x = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := packOpts(root, append(bins, artifact.Artifact{Type: artifact.Changelog, Name: "ignored"}))
	o.ExtraFiles = []string{"conf/app.toml"}
	var log bytes.Buffer
	o.Log = &log
	res, err := Package(t.Context(), o)
	if err != nil {
		t.Fatalf("Package() = %v", err)
	}
	if res.Skipped || res.Reason != "no previous packaging record" {
		t.Errorf("Package() first run = skipped %v, reason %q; want packed with no previous record", res.Skipped, res.Reason)
	}

	wantFiles := []string{
		".hoist/package.json",
		"checksums.txt",
		"svc_1.2.3_linux_amd64.spdx.json",
		"svc_1.2.3_linux_amd64.tar.gz",
		"svc_1.2.3_linux_armv7.spdx.json",
		"svc_1.2.3_linux_armv7.tar.gz",
		"svc_1.2.3_windows_amd64.spdx.json",
		"svc_1.2.3_windows_amd64.zip",
		"svc_linux_amd64/svc",
		"svc_linux_arm_v7/svc",
		"svc_windows_amd64/svc.exe",
	}
	if diff := cmp.Diff(wantFiles, listDir(t, filepath.Join(root, "dist"))); diff != "" {
		t.Errorf("dist after Package (-want +got):\n%s", diff)
	}

	// Artifacts: paths relative to root, real digests and sizes.
	var types []artifact.Type
	for _, a := range res.Artifacts {
		types = append(types, a.Type)
		sum, size, err := checksum.SHA256File(context.Background(), filepath.Join(root, filepath.FromSlash(a.Path)))
		if err != nil {
			t.Fatalf("artifact %s: %v", a.Path, err)
		}
		if a.Digest != "sha256:"+sum || a.Size != size {
			t.Errorf("artifact %s = %s/%d, want sha256:%s/%d", a.Path, a.Digest, a.Size, sum, size)
		}
	}
	wantTypes := []artifact.Type{artifact.Archive, artifact.Archive, artifact.Archive, artifact.SBOM, artifact.SBOM, artifact.SBOM, artifact.Checksums}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Errorf("artifact types (-want +got):\n%s", diff)
	}
	if a := res.Artifacts[1]; a.Platform != "linux/arm/v7" || a.Name != "svc_1.2.3_linux_armv7.tar.gz" || a.Extra["binaries"] != "svc" || a.Path != "dist/svc_1.2.3_linux_armv7.tar.gz" {
		t.Errorf("arm archive artifact = %+v", a)
	}

	// Archive contents: binary, docs and extras with the commit time.
	stamp := commitTime.Format(time.RFC3339)
	wantTar := map[string]string{
		"svc":           "-rwxr-xr-x " + stamp,
		"README.md":     "-rw-r--r-- " + stamp,
		"LICENSE":       "-rw-r--r-- " + stamp,
		"conf/":         "drwxr-xr-x " + stamp,
		"conf/app.toml": "-rw-r--r-- " + stamp,
	}
	if diff := cmp.Diff(wantTar, entries(t, filepath.Join(root, "dist", "svc_1.2.3_linux_amd64.tar.gz"))); diff != "" {
		t.Errorf("tar.gz entries (-want +got):\n%s", diff)
	}
	zipEntries := entries(t, filepath.Join(root, "dist", "svc_1.2.3_windows_amd64.zip"))
	for _, name := range []string{"svc.exe", "README.md", "LICENSE", "conf/app.toml"} {
		if _, ok := zipEntries[name]; !ok {
			t.Errorf("zip entries = %v, want %s among them", zipEntries, name)
		}
	}

	// checksums.txt verifies with the real sha256sum.
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.CommandContext(t.Context(), "sha256sum", "-c", "--strict", "checksums.txt")
		cmd.Dir = filepath.Join(root, "dist")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("sha256sum -c checksums.txt = %v:\n%s", err, out)
		}
		if n := strings.Count(string(out), ": OK"); n != 6 {
			t.Errorf("sha256sum -c checked %d files, want 6:\n%s", n, out)
		}
	}

	// SBOMs parse as SPDX and name the binary and version.
	f, err := os.Open(filepath.Join(root, "dist", "svc_1.2.3_linux_armv7.spdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := spdxjson.Read(f)
	f.Close()
	if err != nil {
		t.Fatalf("read SBOM: %v", err)
	}
	if !strings.Contains(doc.DocumentName, "svc") || !strings.Contains(doc.DocumentName, "1.2.3") {
		t.Errorf("SBOM DocumentName = %q, want it to name svc 1.2.3", doc.DocumentName)
	}
	if got, want := doc.CreationInfo.Created, commitTime.Format(time.RFC3339); got != want {
		t.Errorf("SBOM Created = %q, want the commit time %q", got, want)
	}
	// The project's LICENSE is declared on the binary; dependencies keep
	// NOASSERTION, since nothing here knows theirs.
	if got := doc.Packages[0].PackageLicenseDeclared; got != "MIT" {
		t.Errorf("SBOM binary license = %q, want MIT from the LICENSE file", got)
	}
	if !strings.Contains(log.String(), "wrote svc_1.2.3_linux_amd64.tar.gz") {
		t.Errorf("log = %q, want a line per written file", log.String())
	}

	// A rerun with the same inputs skips and returns the same artifacts.
	o.Log = nil
	again, err := Package(t.Context(), o)
	if err != nil {
		t.Fatalf("Package() rerun = %v", err)
	}
	if !again.Skipped {
		t.Errorf("Package() rerun Skipped = false (%s), want true", again.Reason)
	}
	if diff := cmp.Diff(res.Artifacts, again.Artifacts); diff != "" {
		t.Errorf("Package() rerun artifacts (-first +rerun):\n%s", diff)
	}
}

func TestPackageReproducible(t *testing.T) {
	root, bins := packRoot(t)
	o := packOpts(root, bins)
	first, err := Package(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	o.Force = true
	o.Dist = "dist2"
	second, err := Package(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if second.Skipped || second.Reason != "forced" {
		t.Errorf("Package(Force) = skipped %v reason %q, want forced", second.Skipped, second.Reason)
	}
	for i := range first.Artifacts {
		if first.Artifacts[i].Digest != second.Artifacts[i].Digest {
			t.Errorf("artifact %s digest = %s then %s, want identical bytes", first.Artifacts[i].Name, first.Artifacts[i].Digest, second.Artifacts[i].Digest)
		}
	}
}

func TestPackageRerunReasons(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, root string, o *PackageOptions)
		reason string
		gone   []string // dist files expected to be removed as stale
	}{
		{
			name:   "unchanged",
			change: func(*testing.T, string, *PackageOptions) {},
		},
		{
			name: "binary changed",
			change: func(t *testing.T, root string, o *PackageOptions) {
				appendFile(t, filepath.Join(root, "dist", "svc_linux_amd64", "svc"), "x")
			},
			reason: "dist/svc_linux_amd64/svc changed",
		},
		{
			name: "README changed",
			change: func(t *testing.T, root string, o *PackageOptions) {
				appendFile(t, filepath.Join(root, "README.md"), "more\n")
			},
			reason: "README.md changed",
		},
		{
			name: "LICENSE removed",
			change: func(t *testing.T, root string, o *PackageOptions) {
				os.Remove(filepath.Join(root, "LICENSE"))
			},
			reason: "LICENSE removed",
		},
		{
			name: "readme added in lower case",
			change: func(t *testing.T, root string, o *PackageOptions) {
				appendFile(t, filepath.Join(root, "readme.txt"), "hi\n")
			},
			reason: "readme.txt added",
		},
		{
			name: "version changed removes the old files",
			change: func(t *testing.T, root string, o *PackageOptions) {
				o.Version = "1.3.0"
			},
			reason: "version changed from 1.2.3 to 1.3.0",
			gone:   []string{"svc_1.2.3_linux_amd64.tar.gz", "svc_1.2.3_windows_amd64.spdx.json"},
		},
		{
			name: "platform dropped",
			change: func(t *testing.T, root string, o *PackageOptions) {
				o.Binaries = o.Binaries[:1]
			},
			reason: "dist/svc_windows_amd64/svc.exe removed",
			gone:   []string{"svc_1.2.3_windows_amd64.zip", "svc_1.2.3_windows_amd64.spdx.json"},
		},
		{
			name:   "commit time changed",
			change: func(t *testing.T, root string, o *PackageOptions) { o.ModTime = commitTime.Add(time.Hour) },
			reason: "commit time changed",
		},
		{
			name:   "project renamed",
			change: func(t *testing.T, root string, o *PackageOptions) { o.Project = "svc2" },
			reason: "project renamed from svc to svc2",
			gone:   []string{"svc_1.2.3_linux_amd64.tar.gz"},
		},
		{
			name: "archive tampered",
			change: func(t *testing.T, root string, o *PackageOptions) {
				p := filepath.Join(root, "dist", "svc_1.2.3_linux_amd64.tar.gz")
				b, _ := os.ReadFile(p)
				b[len(b)/2] ^= 0xff
				os.WriteFile(p, b, 0o644)
			},
			reason: "svc_1.2.3_linux_amd64.tar.gz was modified",
		},
		{
			name: "checksums edited",
			change: func(t *testing.T, root string, o *PackageOptions) {
				appendFile(t, filepath.Join(root, "dist", "checksums.txt"), "junk\n")
			},
			reason: "checksums.txt was modified",
		},
		{
			name: "SBOM deleted",
			change: func(t *testing.T, root string, o *PackageOptions) {
				os.Remove(filepath.Join(root, "dist", "svc_1.2.3_linux_amd64.spdx.json"))
			},
			reason: "svc_1.2.3_linux_amd64.spdx.json is missing",
		},
		{
			name: "record corrupt",
			change: func(t *testing.T, root string, o *PackageOptions) {
				os.WriteFile(filepath.Join(root, "dist", ".hoist", "package.json"), []byte("{"), 0o644)
			},
			reason: "no previous packaging record",
		},
		{
			name: "record from another format",
			change: func(t *testing.T, root string, o *PackageOptions) {
				editRecord(t, root, func(r *packRecord) { r.Format = 0 })
			},
			reason: "packaging format changed",
		},
		{
			name: "record naming a file outside dist",
			change: func(t *testing.T, root string, o *PackageOptions) {
				editRecord(t, root, func(r *packRecord) { r.Outputs[0].File = "../README.md" })
			},
			reason: "../README.md is not inside dist",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, bins := packedRoot(t)
			o := packOpts(root, bins)
			tt.change(t, root, &o)
			res, err := Package(t.Context(), o)
			if err != nil {
				t.Fatalf("Package() after change = %v", err)
			}
			if tt.reason == "" {
				if !res.Skipped {
					t.Errorf("Package() = repacked (%s), want skipped", res.Reason)
				}
				return
			}
			if res.Skipped || res.Reason != tt.reason {
				t.Errorf("Package() = skipped %v reason %q, want repacked because %q", res.Skipped, res.Reason, tt.reason)
			}
			for _, g := range tt.gone {
				if _, err := os.Stat(filepath.Join(root, "dist", g)); !os.IsNotExist(err) {
					t.Errorf("stale %s after repack: stat = %v, want it removed", g, err)
				}
			}
			for _, a := range res.Artifacts {
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(a.Path))); err != nil {
					t.Errorf("artifact %s: %v", a.Path, err)
				}
			}
			if _, err := os.Stat(filepath.Join(root, "README.md")); err != nil {
				t.Errorf("README.md outside dist: %v, want it untouched", err)
			}
			// A third run converges to a skip.
			if res, err := Package(t.Context(), o); err != nil || !res.Skipped {
				t.Errorf("Package() third run = %+v, %v; want skipped", res, err)
			}
		})
	}
}

var (
	packedOnce sync.Once
	packedDir  string
	packedBins []artifact.Artifact
	packedErr  error
)

// packedRoot returns a fresh copy of a project root whose linux/amd64 and
// windows/amd64 binaries were packaged once for the whole test run, so each
// rerun case pays for one packaging at most (the race detector makes
// compression slow).
func packedRoot(t *testing.T) (string, []artifact.Artifact) {
	t.Helper()
	packedOnce.Do(func() {
		root, bins := packRoot(t)
		packedBins = []artifact.Artifact{bins[0], bins[2]}
		packedDir = filepath.Join(shared, "packed")
		if packedErr = os.CopyFS(packedDir, os.DirFS(root)); packedErr != nil {
			return
		}
		_, packedErr = Package(t.Context(), packOpts(packedDir, packedBins))
	})
	if packedErr != nil {
		t.Fatal(packedErr)
	}
	root := filepath.Join(t.TempDir(), "root")
	if err := os.CopyFS(root, os.DirFS(packedDir)); err != nil {
		t.Fatal(err)
	}
	return root, slices.Clone(packedBins)
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func editRecord(t *testing.T, root string, edit func(*packRecord)) {
	t.Helper()
	p := filepath.Join(root, "dist", ".hoist", "package.json")
	rec := loadRecord(p)
	if rec == nil {
		t.Fatal("no record to edit")
	}
	edit(rec)
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPackageSeveralBinaries(t *testing.T) {
	root, bins := packRoot(t)
	// A second binary on linux/amd64 shares its platform's archive and
	// gets an SBOM of its own.
	src := filepath.Join(root, "dist", "svc_linux_amd64", "svc")
	dst := filepath.Join(root, "dist", "worker_linux_amd64", "worker")
	copyFile(t, src, dst)
	bins = append(bins, artifact.Artifact{Type: artifact.Binary, Name: "worker", Path: "dist/worker_linux_amd64/worker", Platform: "linux/amd64"})
	res, err := Package(t.Context(), packOpts(root, bins))
	if err != nil {
		t.Fatal(err)
	}
	var archives, sboms []string
	for _, a := range res.Artifacts {
		switch a.Type {
		case artifact.Archive:
			archives = append(archives, a.Name+":"+a.Extra["binaries"])
		case artifact.SBOM:
			sboms = append(sboms, a.Name)
		}
	}
	wantArchives := []string{"svc_1.2.3_linux_amd64.tar.gz:svc,worker", "svc_1.2.3_linux_armv7.tar.gz:svc", "svc_1.2.3_windows_amd64.zip:svc"}
	if diff := cmp.Diff(wantArchives, archives); diff != "" {
		t.Errorf("archives (-want +got):\n%s", diff)
	}
	if !slices.Contains(sboms, "worker_1.2.3_linux_amd64.spdx.json") || len(sboms) != 4 {
		t.Errorf("SBOMs = %v, want 4 including worker_1.2.3_linux_amd64.spdx.json", sboms)
	}
	got := entries(t, filepath.Join(root, "dist", "svc_1.2.3_linux_amd64.tar.gz"))
	if _, ok := got["worker"]; !ok {
		t.Errorf("linux/amd64 archive = %v, want worker in it", got)
	}
}

func TestPackageErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(root string, o *PackageOptions)
		want string
	}{
		{name: "no root", edit: func(_ string, o *PackageOptions) { o.Root = "" }, want: "no project root"},
		{name: "no project", edit: func(_ string, o *PackageOptions) { o.Project = "" }, want: "no project name"},
		{name: "no version", edit: func(_ string, o *PackageOptions) { o.Version = "v" }, want: "no version"},
		{name: "negative jobs", edit: func(_ string, o *PackageOptions) { o.Jobs = -1 }, want: "jobs = -1"},
		{name: "no binaries", edit: func(_ string, o *PackageOptions) { o.Binaries = nil }, want: "go:build"},
		{
			name: "bad platform",
			edit: func(_ string, o *PackageOptions) { o.Binaries[0].Platform = "plan9" },
			want: "package binary svc",
		},
		{
			name: "binary without path",
			edit: func(_ string, o *PackageOptions) { o.Binaries[0].Path = "" },
			want: "no name or path",
		},
		{
			name: "binary missing",
			edit: func(root string, o *PackageOptions) {
				os.Remove(filepath.Join(root, "dist", "svc_linux_amd64", "svc"))
			},
			want: "rebuild it",
		},
		{
			name: "extra missing",
			edit: func(_ string, o *PackageOptions) { o.ExtraFiles = []string{"nope.txt"} },
			want: "create it or remove it",
		},
		{
			name: "extra outside root",
			edit: func(_ string, o *PackageOptions) { o.ExtraFiles = []string{"../x"} },
			want: "must be a path inside",
		},
		{
			name: "extra clashes with a doc",
			edit: func(root string, o *PackageOptions) {
				os.MkdirAll(filepath.Join(root, "docs"), 0o755)
				os.WriteFile(filepath.Join(root, "docs", "x"), nil, 0o644)
				o.ExtraFiles = []string{"README.md"}
			},
			want: "would both be stored as README.md",
		},
		{
			name: "extra is a directory",
			edit: func(root string, o *PackageOptions) {
				os.MkdirAll(filepath.Join(root, "docs"), 0o755)
				o.ExtraFiles = []string{"docs"}
			},
			want: "not a regular file",
		},
		{
			name: "two binaries, one output",
			edit: func(_ string, o *PackageOptions) {
				b := o.Binaries[0]
				o.Binaries = append(o.Binaries, b)
			},
			want: "would both be stored as svc",
		},
		{
			name: "root missing",
			edit: func(root string, o *PackageOptions) {
				o.Root = filepath.Join(root, "nope")
				o.Binaries[0].Path = filepath.Join(root, "dist", "svc_linux_amd64", "svc")
			},
			want: "look for README",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, bins := packRoot(t)
			o := packOpts(root, bins)
			tt.edit(root, &o)
			_, err := Package(t.Context(), o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Package() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

// TestPackageFailureCleansUp checks that a failed run removes the new files
// it created and keeps those of the previous, recorded run.
func TestPackageFailureCleansUp(t *testing.T) {
	root, bins := packRoot(t)
	o := packOpts(root, bins)
	if _, err := Package(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	before := listDir(t, filepath.Join(root, "dist"))
	// A binary that is not a Go binary makes the SBOM step fail after the
	// archives of the new version were written.
	o.Version = "2.0.0"
	os.WriteFile(filepath.Join(root, "dist", "svc_linux_arm_v7", "svc"), []byte("not a go binary"), 0o755)
	o.Jobs = 1
	if _, err := Package(t.Context(), o); err == nil {
		t.Fatal("Package(non-Go binary) = nil, want an error")
	}
	if diff := cmp.Diff(before, listDir(t, filepath.Join(root, "dist"))); diff != "" {
		t.Errorf("dist after a failed run (-before +after):\n%s", diff)
	}
}

func TestPackageCancelled(t *testing.T) {
	root, bins := packRoot(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Package(ctx, packOpts(root, bins)); err == nil {
		t.Errorf("Package(cancelled) = nil, want an error")
	}
}

func TestArtifactPaths(t *testing.T) {
	tests := []struct {
		name     string
		p        platform.Platform
		bin      string
		archive  string
		sbomFile string
	}{
		{name: "linux", p: platform.Platform{OS: "linux", Arch: "amd64"}, bin: "web", archive: "dist/web_1.0.0_linux_amd64.tar.gz", sbomFile: "dist/web_1.0.0_linux_amd64.spdx.json"},
		{name: "arm variant", p: platform.Platform{OS: "linux", Arch: "arm", Variant: "v7"}, bin: "web", archive: "dist/web_1.0.0_linux_armv7.tar.gz", sbomFile: "dist/web_1.0.0_linux_armv7.spdx.json"},
		{name: "windows", p: platform.Platform{OS: "windows", Arch: "amd64"}, bin: "cli", archive: "dist/web_1.0.0_windows_amd64.zip", sbomFile: "dist/cli_1.0.0_windows_amd64.spdx.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := filepath.ToSlash(ArchivePath("dist", "web", "v1.0.0", tt.p)); got != tt.archive {
				t.Errorf("ArchivePath(%s) = %s, want %s", tt.p, got, tt.archive)
			}
			if got := filepath.ToSlash(SBOMPath("dist", tt.bin, "1.0.0", tt.p)); got != tt.sbomFile {
				t.Errorf("SBOMPath(%s, %s) = %s, want %s", tt.bin, tt.p, got, tt.sbomFile)
			}
		})
	}
}
