package release

import (
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hoistdev/hoist/archive"
	"github.com/hoistdev/hoist/artifact"
	"github.com/hoistdev/hoist/checksum"
	"github.com/hoistdev/hoist/internal/atomicfile"
	"github.com/hoistdev/hoist/internal/statcache"
	"github.com/hoistdev/hoist/platform"
	"github.com/hoistdev/hoist/project"
	"github.com/hoistdev/hoist/sbom"
)

// ChecksumsFile is the name of the checksum list Package writes in dist.
const ChecksumsFile = "checksums.txt"

// packageFormat changes whenever the bytes Package writes for the same
// inputs change, so an upgraded hoist does not trust an older record.
const packageFormat = 2

// recordPath is where Package keeps its skip record, relative to dist.
const recordPath = ".hoist/package.json"

// PackageOptions says what Package packs and where. Root, Project, Version
// and Binaries are required.
type PackageOptions struct {
	// Root is the project root. README* and LICENSE* files are taken from
	// it, relative binary paths and ExtraFiles are resolved against it,
	// and the returned artifact paths are relative to it.
	Root string
	// Dist is the output directory, relative to Root or absolute.
	// Default: "dist".
	Dist string
	// Project names the archives (<project>_<version>_<os>_<arch>...).
	Project string
	// Version is the released version, with or without a leading "v";
	// it goes into every file name and SBOM.
	Version string
	// ModTime is stamped on every archive entry and as the SBOM creation
	// time. Releases pass the commit time, never the clock, so that two runs
	// give the same bytes. Default: the Unix epoch.
	ModTime time.Time
	// Binaries are the built binaries, as gobuild lists them; entries of
	// other types are ignored, so the whole artifact list can be passed.
	Binaries []artifact.Artifact
	// ExtraFiles are more files, relative to Root, put into every archive
	// under the same relative path. Default: none.
	ExtraFiles []string
	// NoArchive names binaries that go in no archive and get no SBOM among
	// the release files (they ship in the image only).
	NoArchive []string
	// OwnArchive names binaries packed in an archive of their own, named
	// after the binary, instead of the project's archive of the platform.
	OwnArchive []string
	// Checksums is the checksum list's file name. Default: ChecksumsFile.
	Checksums string
	// ArchiveName names the archives when not nil (Release.ArchiveName).
	ArchiveName func(name, version, os, arch, variant string) string
	// SourceCommit, when set, adds the source archive of that commit:
	// <project>_<version>_source.tar.gz, what git archive holds under the
	// directory <project>-<version>/, compressed reproducibly.
	SourceCommit string
	// Jobs caps how many archives and SBOMs are written at once. Default:
	// GOMAXPROCS.
	Jobs int
	// cache restores the packages another runner made from the same
	// inputs and stores the ones made here; nil without a build cache.
	cache *buildCache
	// stats hashes inputs and outputs through dist's stat cache; nil
	// reads every file.
	stats *statcache.Cache
	// Force packs even when the record says nothing changed. Default: false.
	Force bool
	// DryRun decides whether packing is needed, and why, without writing
	// anything, for release:plan. Default: false.
	DryRun bool
	// Log receives one line per decision and file. Default: silent.
	Log io.Writer
}

// PackageResult is what Package produced, or found still valid.
type PackageResult struct {
	// Artifacts are the archives, the SBOMs and checksums.txt, in that
	// order, with sha256 digests ("sha256:<hex>") and sizes.
	Artifacts []artifact.Artifact
	// Skipped is true when the inputs matched the record and every output
	// was still intact, so nothing was written.
	Skipped bool
	// Reason says why the step packed or skipped, for the user.
	Reason string
}

// packRecord is the skip record in dist/.hoist/package.json. Inputs are kept
// itemised rather than as one hash so a rerun can say what changed.
type packRecord struct {
	Format  int          `json:"format"`
	Project string       `json:"project"`
	Version string       `json:"version"`
	ModTime int64        `json:"mod_time"`
	Inputs  []packInput  `json:"inputs"`
	Outputs []packOutput `json:"outputs"`
}

// packInput is one file that goes into the packages.
type packInput struct {
	Kind     string `json:"kind"` // binary, doc or extra
	Name     string `json:"name"`
	Platform string `json:"platform,omitempty"`
	Path     string `json:"path"` // relative to Root
	SHA256   string `json:"sha256"`
	// Archive is the archive a binary goes in, when it is not the
	// project's archive of its platform.
	Archive string `json:"archive,omitempty"`
}

// packOutput is one file Package wrote, relative to dist so the record stays
// valid when the checkout moves.
type packOutput struct {
	Artifact artifact.Artifact `json:"artifact"`
	File     string            `json:"file"`
	SHA256   string            `json:"sha256"`
	Size     int64             `json:"size"`
}

// unit is one platform's archive and the binaries it holds.
type unit struct {
	plat     platform.Platform
	archive  string // absolute
	binaries []int  // indexes of the binaries' entries in the inputs
}

func (o *PackageOptions) validate() error {
	var problems []string
	if o.Root == "" {
		problems = append(problems, "no project root given")
	}
	if o.Project == "" {
		problems = append(problems, "no project name given (it names the archives)")
	}
	o.Version = strings.TrimPrefix(o.Version, "v")
	if o.Version == "" {
		problems = append(problems, "no version given (it names the archives and SBOMs)")
	}
	if o.Jobs < 0 {
		problems = append(problems, fmt.Sprintf("jobs = %d; use 0 for the default or a positive cap", o.Jobs))
	}
	if len(problems) > 0 {
		return fmt.Errorf("package: %s", strings.Join(problems, "; "))
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return fmt.Errorf("package: %w", err)
	}
	o.Root = root
	if o.Dist == "" {
		o.Dist = "dist"
	}
	if !filepath.IsAbs(o.Dist) {
		o.Dist = filepath.Join(o.Root, o.Dist)
	}
	if o.Jobs == 0 {
		o.Jobs = runtime.GOMAXPROCS(0)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return nil
}

// ArchivePath returns where Package writes the archive of one platform,
// so a plan can name it without writing it.
func ArchivePath(dist, project, version string, p platform.Platform) string {
	return archivePath(dist, project, version, p, nil)
}

// archivePath is ArchivePath with the archives' names from name when it
// is not nil (Release.ArchiveName).
func archivePath(dist, project, version string, p platform.Platform, name func(name, version, os, arch, variant string) string) string {
	if name == nil {
		return filepath.Join(dist, archive.Name(project, version, p.OS, p.Arch, p.Variant))
	}
	return filepath.Join(dist, name(project, strings.TrimPrefix(version, "v"), p.OS, p.Arch, p.Variant)+archive.FormatFor(p.OS).Ext())
}

// SBOMPath returns where Package writes the SBOM of the binary name built
// for p: the archive name of that binary with ".spdx.json" for extension.
func SBOMPath(dist, name, version string, p platform.Platform) string {
	a := archive.Name(name, version, p.OS, p.Arch, p.Variant)
	a = strings.TrimSuffix(a, archive.FormatFor(p.OS).Ext())
	return filepath.Join(dist, a+".spdx.json")
}

// Package writes one archive per platform holding that platform's binaries,
// README* and LICENSE* from the root and the extra files, one SPDX JSON SBOM
// per binary, and checksums.txt over all of them, into dist.
//
// It keeps a record of its inputs (binary, doc and extra file digests,
// version, mod time) and outputs in dist/.hoist/package.json. When the
// inputs match and every output still has its recorded size and digest,
// it writes nothing and reports Skipped, which keeps a no-op rerun cheap.
// Outputs a previous run recorded but this one no longer produces, such as
// the archives of the previous version, are removed so dist does not
// accumulate; files Package did not write are never touched.
func Package(ctx context.Context, o PackageOptions) (*PackageResult, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	inputs, units, err := collectInputs(ctx, &o)
	if err != nil {
		return nil, err
	}
	if len(units) == 0 {
		fmt.Fprintln(o.Log, "package: nothing to pack: every binary ships in the image only (Binaries[…].NoArchive)")
		return &PackageResult{Skipped: true, Reason: "no binary is archived"}, nil
	}
	rec := packRecord{
		Format:  packageFormat,
		Project: o.Project,
		Version: o.Version,
		ModTime: o.ModTime.Unix(),
		Inputs:  inputs,
	}
	old := loadRecord(filepath.Join(o.Dist, recordPath))
	reason := "forced"
	if !o.Force {
		reason = changed(old, &rec)
		if reason == "" {
			reason = outputsChanged(ctx, &o, old.Outputs)
		}
		if reason == "" {
			fmt.Fprintf(o.Log, "package: skipped, inputs unchanged and %s intact\n", count(len(old.Outputs), "output", "outputs"))
			arts := make([]artifact.Artifact, len(old.Outputs))
			for i, out := range old.Outputs {
				arts[i] = out.Artifact
				arts[i].Path = relSlash(o.Root, filepath.Join(o.Dist, filepath.FromSlash(out.File)))
			}
			return &PackageResult{Artifacts: arts, Skipped: true, Reason: "inputs unchanged and outputs intact"}, nil
		}
	}
	if o.DryRun {
		return &PackageResult{Reason: reason}, nil
	}
	key := ""
	var outs []packOutput
	restored := false
	if o.cache != nil && !o.Force {
		key = packKey(rec)
		rels, ann, ok, err := o.cache.restoreFiles(ctx, key, o.Dist)
		if err != nil {
			return nil, err
		}
		if ok && json.Unmarshal([]byte(ann[packOutputsKey]), &outs) == nil && len(outs) == len(rels) {
			restored = true
			reason = fmt.Sprintf("restored from cache (key %s): %s", shortKey(key), reason)
			fmt.Fprintf(o.Log, "package: %s\n", reason)
		} else {
			outs = nil
		}
	}
	if !restored {
		fmt.Fprintf(o.Log, "package: packing, %s\n", reason)
		var err error
		if outs, err = writePackages(ctx, &o, inputs, units, old); err != nil {
			return nil, err
		}
		if o.cache != nil {
			if key == "" {
				key = packKey(rec)
			}
			rels := make([]string, len(outs))
			for i, out := range outs {
				rels[i] = out.File
			}
			list, _ := json.Marshal(outs)
			if err := o.cache.saveFiles(ctx, key, o.Dist, rels, map[string]string{packOutputsKey: string(list), "dev.hoist.cache.kind": "package"}); err != nil {
				return nil, err
			}
		}
	}
	rec.Outputs = outs
	// Stale files go only once the new set is complete, so a failed run
	// never leaves dist with less than it had.
	keep := make(map[string]bool, len(outs))
	for _, out := range outs {
		keep[out.File] = true
	}
	for _, out := range old.outputs() {
		if keep[out.File] || !localName(out.File) {
			continue
		}
		p := filepath.Join(o.Dist, filepath.FromSlash(out.File))
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("package: remove stale %s: %w", p, err)
		}
		fmt.Fprintf(o.Log, "package: removed stale %s\n", out.File)
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("package: encode record: %w", err)
	}
	if err := atomicfile.ReplaceBytes(ctx, filepath.Join(o.Dist, recordPath), append(data, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("package: save record: %w", err)
	}
	arts := make([]artifact.Artifact, len(outs))
	for i, out := range outs {
		arts[i] = out.Artifact
	}
	return &PackageResult{Artifacts: arts, Reason: reason, Skipped: restored}, nil
}

// packOutputsKey annotates a cached package entry with its outputs.
const packOutputsKey = "dev.hoist.cache.outputs"

// packKey names a packaging's inputs for the build cache: the record
// without its outputs, which holds only digests and paths relative to the
// module, so another machine computes the same key.
func packKey(rec packRecord) string {
	rec.Outputs = nil
	data, _ := json.Marshal(rec)
	sum := sha256.Sum256(data)
	return "pkg-" + hex.EncodeToString(sum[:])
}

// localName guards stale removal against a hand-edited record naming files
// outside dist.
func localName(file string) bool {
	return file != "" && filepath.IsLocal(filepath.FromSlash(file))
}

// collectInputs hashes every file that goes into the packages and groups the
// binaries by platform.
func collectInputs(ctx context.Context, o *PackageOptions) ([]packInput, []*unit, error) {
	var inputs []packInput
	byPlat := map[string]*unit{}
	for _, b := range o.Binaries {
		if b.Type != artifact.Binary {
			continue
		}
		p, err := platform.Parse(b.Platform)
		if err != nil {
			return nil, nil, fmt.Errorf("package binary %s: %w", b.Name, err)
		}
		if b.Name == "" || b.Path == "" {
			return nil, nil, fmt.Errorf("package: binary artifact %+v has no name or path; pass the list gobuild produced", b)
		}
		path := filepath.FromSlash(b.Path)
		if !filepath.IsAbs(path) {
			path = filepath.Join(o.Root, path)
		}
		if slices.Contains(o.NoArchive, b.Name) {
			continue
		}
		in := packInput{Kind: "binary", Name: b.Name, Platform: p.String(), Path: path}
		archiveName, unitKey := o.Project, p.String()
		if slices.Contains(o.OwnArchive, b.Name) {
			archiveName, unitKey = b.Name, p.String()+"\x00"+b.Name
		}
		dst := archivePath(o.Dist, archiveName, o.Version, p, o.ArchiveName)
		if unitKey != p.String() || o.ArchiveName != nil {
			// An archive of its own, or a renamed one: the record keeps
			// its name, so that a change repacks.
			in.Archive = filepath.Base(dst)
		}
		u := byPlat[unitKey]
		if u == nil {
			u = &unit{plat: p, archive: dst}
			byPlat[unitKey] = u
		}
		u.binaries = append(u.binaries, len(inputs))
		inputs = append(inputs, in)
	}
	if len(inputs) == 0 {
		if len(o.NoArchive) > 0 {
			return nil, nil, nil // every binary ships in the image only
		}
		return nil, nil, errors.New("package: no binaries to package; build them first (go:build)")
	}
	docs, err := docFiles(o.Root)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range docs {
		inputs = append(inputs, packInput{Kind: "doc", Name: filepath.Base(d), Path: d})
	}
	for _, e := range o.ExtraFiles {
		p := filepath.FromSlash(e)
		if filepath.IsAbs(p) || !filepath.IsLocal(p) {
			return nil, nil, fmt.Errorf("package: extra file %q must be a path inside %s, relative to it", e, o.Root)
		}
		inputs = append(inputs, packInput{Kind: "extra", Name: filepath.ToSlash(p), Path: filepath.Join(o.Root, p)})
	}
	var source *packInput
	if o.SourceCommit != "" {
		// The commit's tree decides the archive's entries, the commit its
		// times; both are in the record.
		tree, err := git(ctx, o.Root, "rev-parse", "--verify", o.SourceCommit+"^{tree}")
		if err != nil {
			return nil, nil, fmt.Errorf("package the source archive: %w", err)
		}
		source = &packInput{Kind: "source", Name: o.SourceCommit, SHA256: tree}
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Jobs)
	for i := range inputs {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			in := &inputs[i]
			fi, err := os.Stat(in.Path)
			if err == nil && !fi.Mode().IsRegular() {
				err = errors.New("not a regular file")
			}
			if err != nil {
				switch in.Kind {
				case "binary":
					return fmt.Errorf("package binary %s (%s): %w; rebuild it (go:build)", in.Name, in.Platform, err)
				case "extra":
					return fmt.Errorf("package extra file %s: %w; create it or remove it from the release's extra files", in.Name, err)
				}
				return fmt.Errorf("package %s: %w", in.Path, err)
			}
			sum, _, err := o.sum(ctx, in.Path)
			if err != nil {
				return fmt.Errorf("package: hash %s: %w", in.Path, err)
			}
			in.SHA256 = sum
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	for i := range inputs {
		inputs[i].Path = relSlash(o.Root, inputs[i].Path)
	}
	if source != nil {
		inputs = append(inputs, *source)
	}
	return inputs, sortedUnits(byPlat), nil
}

func sortedUnits(m map[string]*unit) []*unit {
	us := make([]*unit, 0, len(m))
	for _, u := range m {
		us = append(us, u)
	}
	slices.SortFunc(us, func(a, b *unit) int {
		return cmp.Or(cmp.Compare(a.plat.String(), b.plat.String()), cmp.Compare(a.archive, b.archive))
	})
	return us
}

// docFiles lists the README* and LICENSE* files in root, in any case, since
// every archive should carry what the repository shows on its front page.
func docFiles(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("package: look for README and LICENSE in %s: %w", root, err)
	}
	var docs []string
	for _, e := range entries {
		up := strings.ToUpper(e.Name())
		if !strings.HasPrefix(up, "README") && !strings.HasPrefix(up, "LICENSE") {
			continue
		}
		if fi, err := os.Stat(filepath.Join(root, e.Name())); err != nil || !fi.Mode().IsRegular() {
			continue // a directory or a dangling link is not a document
		}
		docs = append(docs, filepath.Join(root, e.Name()))
	}
	return docs, nil
}

// changed says why rec differs from old, or "" when it does not.
func changed(old, rec *packRecord) string {
	switch {
	case old == nil:
		return "no previous packaging record"
	case old.Format != rec.Format:
		return "packaging format changed"
	case old.Project != rec.Project:
		return fmt.Sprintf("project renamed from %s to %s", old.Project, rec.Project)
	case old.Version != rec.Version:
		return fmt.Sprintf("version changed from %s to %s", old.Version, rec.Version)
	case old.ModTime != rec.ModTime:
		return "commit time changed"
	}
	key := func(in packInput) string {
		return in.Kind + "\x00" + in.Name + "\x00" + in.Platform + "\x00" + in.Path + "\x00" + in.Archive
	}
	was := make(map[string]string, len(old.Inputs))
	for _, in := range old.Inputs {
		was[key(in)] = in.SHA256
	}
	var diffs []string
	for _, in := range rec.Inputs {
		sum, ok := was[key(in)]
		switch {
		case !ok:
			diffs = append(diffs, in.Path+" added")
		case sum != in.SHA256:
			diffs = append(diffs, in.Path+" changed")
		}
		delete(was, key(in))
	}
	for _, in := range old.Inputs {
		if _, ok := was[key(in)]; ok {
			diffs = append(diffs, in.Path+" removed")
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	slices.Sort(diffs)
	if len(diffs) > 3 {
		diffs = append(diffs[:3], fmt.Sprintf("%d more", len(diffs)-3))
	}
	return strings.Join(diffs, ", ")
}

// outputsChanged checks that every recorded output still has its size and
// digest, and says which one does not.
func outputsChanged(ctx context.Context, o *PackageOptions, outs []packOutput) string {
	dist, jobs := o.Dist, o.Jobs
	if len(outs) == 0 {
		return "no outputs recorded"
	}
	bad := make([]string, len(outs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for i, out := range outs {
		g.Go(func() error {
			if !localName(out.File) {
				bad[i] = out.File + " is not inside dist"
				return nil
			}
			p := filepath.Join(dist, filepath.FromSlash(out.File))
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				bad[i] = out.File + " is missing"
			case fi.Size() != out.Size:
				bad[i] = out.File + " was modified"
			case gctx.Err() != nil:
				return gctx.Err()
			default:
				if sum, _, err := o.sum(ctx, p); err != nil || sum != out.SHA256 {
					bad[i] = out.File + " was modified"
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return "check interrupted: " + err.Error()
	}
	for _, b := range bad {
		if b != "" {
			return b
		}
	}
	return ""
}

// outputs returns the recorded outputs; a missing record has none.
func (r *packRecord) outputs() []packOutput {
	if r == nil {
		return nil
	}
	return r.Outputs
}

// loadRecord reads the skip record; anything unreadable counts as no record,
// which only costs a repack.
func loadRecord(path string) *packRecord {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var r packRecord
	if json.Unmarshal(data, &r) != nil {
		return nil
	}
	return &r
}

// writePackages writes the archives and SBOMs in parallel, then the checksum
// list over them. On failure it removes the files it created that no earlier
// record owned, so dist is left as it was apart from overwritten outputs,
// whose changed digests force the next run to repack.
func writePackages(ctx context.Context, o *PackageOptions, inputs []packInput, units []*unit, old *packRecord) (outs []packOutput, err error) {
	var shared []archive.File
	for _, in := range inputs {
		if in.Kind == "doc" || in.Kind == "extra" {
			shared = append(shared, archive.File{Src: filepath.Join(o.Root, filepath.FromSlash(in.Path)), Name: in.Name})
		}
	}
	type job struct {
		art artifact.Artifact
		abs string
		run func(ctx context.Context) error
	}
	var jobs []job
	for _, u := range units {
		files := slices.Clone(shared)
		var names []string
		for _, bi := range u.binaries {
			b := inputs[bi]
			src := filepath.Join(o.Root, filepath.FromSlash(b.Path))
			files = append(files, archive.File{Src: src, Name: filepath.Base(src)})
			names = append(names, b.Name)
		}
		if err := checkNames(u.plat, files); err != nil {
			return nil, err
		}
		format := archive.FormatFor(u.plat.OS)
		jobs = append(jobs, job{
			art: artifact.Artifact{Type: artifact.Archive, Name: filepath.Base(u.archive), Platform: u.plat.String(),
				Extra: map[string]string{"format": string(format), "binaries": strings.Join(names, ",")}},
			abs: u.archive,
			run: func(ctx context.Context) error {
				return archive.Write(ctx, u.archive, files, archive.WithModTime(o.ModTime), archive.WithFormat(format))
			},
		})
	}
	for _, in := range inputs {
		if in.Kind != "source" {
			continue
		}
		// The archive first, since its SBOM records its digest; the two
		// jobs below only describe them.
		dst := SourceArchivePath(o.Dist, o.Project, o.Version)
		if err := writeSourceArchive(ctx, o.Root, in.Name, o.Project+"-"+o.Version+"/", dst); err != nil {
			return nil, fmt.Errorf("package the source archive: %w", err)
		}
		goMod, err := git(ctx, o.Root, "show", in.Name+":go.mod")
		if err != nil {
			return nil, fmt.Errorf("package the source archive's SBOM: %w", err)
		}
		sbomDst := strings.TrimSuffix(dst, ".tar.gz") + ".spdx.json"
		if err := sbom.WriteSource(ctx, dst, []byte(goMod+"\n"), sbomDst, sbom.WithCreated(o.ModTime), sbom.WithVersion(o.Version),
			sbom.WithName(filepath.Base(strings.TrimSuffix(dst, ".tar.gz"))), sbom.WithLicense(project.License(o.Root))); err != nil {
			return nil, err
		}
		noop := func(context.Context) error { return nil }
		jobs = append(jobs,
			job{art: artifact.Artifact{Type: artifact.Archive, Name: filepath.Base(dst), Extra: map[string]string{"format": "tar.gz", "source": in.Name}}, abs: dst, run: noop},
			job{art: artifact.Artifact{Type: artifact.SBOM, Name: filepath.Base(sbomDst), Extra: map[string]string{"source": in.Name}}, abs: sbomDst, run: noop})
	}
	license := project.License(o.Root)
	for _, u := range units {
		for _, bi := range u.binaries {
			b := inputs[bi]
			dst := SBOMPath(o.Dist, b.Name, o.Version, u.plat)
			src := filepath.Join(o.Root, filepath.FromSlash(b.Path))
			jobs = append(jobs, job{
				art: artifact.Artifact{Type: artifact.SBOM, Name: filepath.Base(dst), Platform: u.plat.String(),
					Extra: map[string]string{"binary": b.Name}},
				abs: dst,
				run: func(ctx context.Context) error {
					return sbom.Write(ctx, src, dst, sbom.WithCreated(o.ModTime), sbom.WithVersion(o.Version), sbom.WithName(b.Name), sbom.WithLicense(license))
				},
			})
		}
	}
	sumPath := filepath.Join(o.Dist, cmp.Or(o.Checksums, ChecksumsFile))
	owned := map[string]bool{}
	for _, out := range old.outputs() {
		owned[out.File] = true
	}
	var mu sync.Mutex
	var created []string
	defer func() {
		if err == nil {
			return
		}
		for _, p := range created {
			if !owned[relSlash(o.Dist, p)] {
				os.Remove(p)
			}
		}
	}()
	track := func(p string) {
		mu.Lock()
		created = append(created, p)
		mu.Unlock()
	}

	seen := map[string]bool{}
	for _, j := range jobs {
		if seen[j.abs] {
			return nil, fmt.Errorf("package: two outputs would both be written to %s; give the binaries distinct names", j.abs)
		}
		seen[j.abs] = true
	}
	outs = make([]packOutput, len(jobs)+1)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Jobs)
	for i, j := range jobs {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			track(j.abs)
			if err := j.run(gctx); err != nil {
				return fmt.Errorf("package %s: %w", j.art.Name, err)
			}
			out, err := describe(gctx, o, j.art, j.abs)
			if err != nil {
				return err
			}
			outs[i] = out
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// Logged here, in a stable order, rather than from the workers, which
	// would race on a log writer that is not safe for concurrent use.
	for _, out := range outs[:len(jobs)] {
		fmt.Fprintf(o.Log, "package: wrote %s\n", out.File)
	}
	paths := make([]string, len(jobs))
	for i, j := range jobs {
		paths[i] = j.abs
	}
	track(sumPath)
	if err := checksum.Write(ctx, sumPath, paths, ""); err != nil {
		return nil, fmt.Errorf("package: %w", err)
	}
	out, err := describe(ctx, o, artifact.Artifact{Type: artifact.Checksums, Name: filepath.Base(sumPath)}, sumPath)
	if err != nil {
		return nil, err
	}
	outs[len(jobs)] = out
	return outs, nil
}

// checkNames refuses two archive entries with one name, which would leave
// users with whichever the extractor wrote last.
func checkNames(p platform.Platform, files []archive.File) error {
	seen := map[string]string{}
	for _, f := range files {
		if prev, ok := seen[f.Name]; ok {
			return fmt.Errorf("package %s: %s and %s would both be stored as %s in the archive; rename one or drop it from the extra files", p, prev, f.Src, f.Name)
		}
		seen[f.Name] = f.Src
	}
	return nil
}

// sum hashes a file through the stat cache when there is one.
func (o *PackageOptions) sum(ctx context.Context, path string) (string, int64, error) {
	if o.stats != nil {
		return o.stats.Sum(path)
	}
	return checksum.SHA256File(ctx, path)
}

// describe hashes a written output and fills in its artifact entry.
func describe(ctx context.Context, o *PackageOptions, a artifact.Artifact, abs string) (packOutput, error) {
	sum, size, err := checksum.SHA256File(ctx, abs)
	if err != nil {
		return packOutput{}, fmt.Errorf("package: hash %s: %w", abs, err)
	}
	if o.stats != nil {
		if err := o.stats.Remember(abs, sum); err != nil {
			return packOutput{}, fmt.Errorf("package: %w", err)
		}
	}
	a.Path = relSlash(o.Root, abs)
	a.Digest = "sha256:" + sum
	a.Size = size
	return packOutput{Artifact: a, File: relSlash(o.Dist, abs), SHA256: sum, Size: size}, nil
}

// relSlash returns target relative to base with forward slashes, or target
// itself when it cannot be made relative.
func relSlash(base, target string) string {
	rel, err := filepath.Rel(base, target)
	if err != nil {
		return filepath.ToSlash(target)
	}
	return filepath.ToSlash(rel)
}

// SourceArchivePath is where Package writes the source archive.
func SourceArchivePath(dist, project, version string) string {
	return filepath.Join(dist, project+"_"+version+"_source.tar.gz")
}

// writeSourceArchive writes what git archive holds for commit, under
// prefix, as a gzip file with no name and no time in its header, so the
// same commit always gives the same bytes.
func writeSourceArchive(ctx context.Context, root, commit, prefix, dst string) error {
	return atomicfile.Replace(ctx, dst, 0o644, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", "--prefix="+prefix, commit)
		cmd.Stdout = zw
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("git archive %s: %w: %s", commit, err, strings.TrimSpace(stderr.String()))
		}
		return zw.Close()
	})
}
