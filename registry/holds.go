package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Holds reports, by reading the data directory without starting a server,
// whether the embedded registry's repository already has tag pointing at
// digest, with that manifest stored. It lets a no-op push skip starting the
// registry at all. It knows distribution's filesystem layout, which has been
// stable since registry v2; any doubt answers false, which only costs a push.
func Holds(dataDir, repo, tag, digest string) bool {
	algo, hex, ok := strings.Cut(digest, ":")
	if !ok || algo != "sha256" || len(hex) != 64 || strings.ContainsAny(repo+tag, `\`) || strings.Contains(repo, "..") || strings.Contains(tag, "/") {
		return false
	}
	root := filepath.Join(dataDir, "docker", "registry", "v2")
	link, err := os.ReadFile(filepath.Join(root, "repositories", filepath.FromSlash(repo), "_manifests", "tags", tag, "current", "link"))
	if err != nil || strings.TrimSpace(string(link)) != digest {
		return false
	}
	if _, err := os.Stat(filepath.Join(root, "repositories", filepath.FromSlash(repo), "_manifests", "revisions", algo, hex, "link")); err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(root, "blobs", algo, hex[:2], hex, "data"))
	return err == nil
}

// HoldsAll is Holds for a whole image: the tag, and every manifest and
// blob the image is made of, each linked into repo and stored, so that an
// image whose layer went missing from storage is pushed again rather than
// taken for complete. manifests are the index's and its children's
// digests, blobs the configs' and layers'.
func HoldsAll(dataDir, repo, tag, digest string, manifests, blobs []string) bool {
	if !Holds(dataDir, repo, tag, digest) {
		return false
	}
	root := filepath.Join(dataDir, "docker", "registry", "v2")
	stored := func(kind, d string) bool {
		algo, hex, ok := strings.Cut(d, ":")
		if !ok || algo != "sha256" || len(hex) != 64 {
			return false
		}
		if _, err := os.Stat(filepath.Join(root, "repositories", filepath.FromSlash(repo), kind, algo, hex, "link")); err != nil {
			return false
		}
		_, err := os.Stat(filepath.Join(root, "blobs", algo, hex[:2], hex, "data"))
		return err == nil
	}
	for _, m := range manifests {
		if !stored(filepath.Join("_manifests", "revisions"), m) {
			return false
		}
	}
	for _, b := range blobs {
		if !stored("_layers", b) {
			return false
		}
	}
	return true
}

// CheckTag looks at the storage of tag in repo and reports damage the
// registry would only answer with a 500: a tag link that is not a digest,
// or that names a manifest the repository does not hold. The error says
// which file is wrong and how to repair it. A tag that does not exist is
// fine.
func CheckTag(dataDir, repo, tag string) error {
	dir := filepath.Join(dataDir, "docker", "registry", "v2", "repositories", filepath.FromSlash(repo), "_manifests", "tags", tag)
	link := filepath.Join(dir, "current", "link")
	data, err := os.ReadFile(link)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	fix := fmt.Sprintf("remove %s (the tag only: the next push writes it again)", dir)
	if err != nil {
		return fmt.Errorf("the embedded registry's tag %s:%s cannot be read (%v): %s", repo, tag, err, fix)
	}
	d := strings.TrimSpace(string(data))
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || algo != "sha256" || len(hex) != 64 {
		return fmt.Errorf("the embedded registry's tag %s:%s is damaged: %s holds %q, not a digest: %s", repo, tag, link, truncate(d, 80), fix)
	}
	rev := filepath.Join(dataDir, "docker", "registry", "v2", "repositories", filepath.FromSlash(repo), "_manifests", "revisions", algo, hex, "link")
	if _, err := os.Stat(rev); err != nil {
		return fmt.Errorf("the embedded registry's tag %s:%s names %s, which the repository does not hold: %s", repo, tag, d, fix)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
