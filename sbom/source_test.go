package sbom

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWriteSource describes a source archive and what its go.mod
// requires: direct, indirect, replaced by another version and by a local
// directory (which has no package URL).
func TestWriteSource(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "shop_1.2.0_source.tar.gz")
	if err := os.WriteFile(archive, []byte("not really a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	goMod := []byte(`module example.com/acme/shop

go 1.26

require (
	github.com/a/direct v1.0.0
	github.com/b/indirect v0.3.0 // indirect
	github.com/c/replaced v1.1.0
	github.com/d/local v0.0.0
)

replace github.com/c/replaced => github.com/c/fork v1.1.5

replace github.com/d/local => ../local
`)
	dst := filepath.Join(dir, "shop_1.2.0_source.spdx.json")
	if err := WriteSource(t.Context(), archive, goMod, dst, WithVersion("1.2.0"), WithCreated(time.Unix(1700000000, 0))); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Packages []struct {
			Name    string `json:"name"`
			Version string `json:"versionInfo"`
			Purpose string `json:"primaryPackagePurpose"`
			Refs    []struct {
				Locator string `json:"referenceLocator"`
			} `json:"externalRefs"`
			Checksums []struct {
				Value string `json:"checksumValue"`
			} `json:"checksums"`
		} `json:"packages"`
		Created struct {
			Created string `json:"created"`
		} `json:"creationInfo"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var purls []string
	for _, p := range doc.Packages {
		for _, r := range p.Refs {
			purls = append(purls, r.Locator)
		}
	}
	for _, want := range []string{"pkg:golang/example.com/acme/shop@v1.2.0", "pkg:golang/github.com/a/direct@v1.0.0",
		"pkg:golang/github.com/b/indirect@v0.3.0", "pkg:golang/github.com/c/fork@v1.1.5"} {
		if !slices.Contains(purls, want) {
			t.Errorf("no %s among %v", want, purls)
		}
	}
	for _, p := range purls {
		if strings.Contains(p, "d/local") || strings.Contains(p, "c/replaced") {
			t.Errorf("purl %s names code that was not used", p)
		}
	}
	if a := doc.Packages[0]; a.Name != "shop_1.2.0_source.tar.gz" || a.Purpose != "ARCHIVE" || len(a.Checksums) != 1 || len(a.Checksums[0].Value) != 64 {
		t.Errorf("the archive's package: %+v", a)
	}
	if doc.Created.Created != "2023-11-14T22:13:20Z" {
		t.Errorf("created %s", doc.Created.Created)
	}
}
