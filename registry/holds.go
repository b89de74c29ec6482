package registry

import (
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
