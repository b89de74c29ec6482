package vuln

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"

	"github.com/hoistdev/hoist/internal/atomicfile"
)

// ModulePath is the module the Go vulnerability database is developed in;
// its data/osv directory holds every entry the public database serves.
const ModulePath = "golang.org/x/vulndb"

// ModuleDB makes the Go vulnerability database readable where only a Go
// module proxy is: it downloads ModulePath at version ("latest" when
// empty) with the go command, under env (GOPROXY, GONOSUMDB, GOFLAGS as the
// caller has them), and writes the database's v1 index for that version
// under cacheDir, once. It returns the database's file URL and the version
// used.
func ModuleDB(ctx context.Context, cacheDir, version string, env []string) (url, resolved string, err error) {
	if version == "" {
		version = "latest"
	}
	dl, err := download(ctx, version, env)
	if err != nil {
		return "", "", err
	}
	dir := filepath.Join(cacheDir, dl.Version)
	if _, err := os.Stat(filepath.Join(dir, "index", "modules.json")); err == nil {
		return fileURL(dir), dl.Version, nil
	}
	osvDir := filepath.Join(dl.Dir, "data", "osv")
	if err := buildIndex(ctx, osvDir, dir, dl.Version); err != nil {
		return "", "", fmt.Errorf("index the vulnerability database of %s@%s: %w", ModulePath, dl.Version, err)
	}
	return fileURL(dir), dl.Version, nil
}

func fileURL(dir string) string { return "file://" + filepath.ToSlash(dir) }

type downloaded struct {
	Version, Dir, Error string
}

// download fetches the module through the proxy into the module cache.
func download(ctx context.Context, version string, env []string) (downloaded, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", ModulePath+"@"+version)
	// Outside any module, so that no go.mod decides the version.
	cmd.Dir = os.TempDir()
	cmd.Env = append(append(os.Environ(), env...), "GOWORK=off", "GO111MODULE=on")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var d downloaded
	if err := json.Unmarshal(stdout.Bytes(), &d); err != nil || runErr != nil || d.Error != "" {
		why := strings.TrimSpace(d.Error + " " + stderr.String())
		if why == "" && runErr != nil {
			why = runErr.Error()
		}
		return d, fmt.Errorf("%w: go mod download %s@%s: %s", ErrDBUnreachable, ModulePath, version, why)
	}
	return d, nil
}

// osvEntry is what the index needs of an OSV entry.
type osvEntry struct {
	ID       string `json:"id"`
	Affected []struct {
		Package struct {
			Name      string `json:"name"`
			Ecosystem string `json:"ecosystem"`
		} `json:"package"`
	} `json:"affected"`
}

// buildIndex writes the v1 layout into dir: index/db.json,
// index/modules.json and ID/<id>.json, each entry copied from osvDir.
func buildIndex(ctx context.Context, osvDir, dir, version string) error {
	modified := time.Unix(0, 0).UTC()
	if module.IsPseudoVersion(version) {
		if t, err := module.PseudoVersionTime(version); err == nil {
			modified = t.UTC()
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".build-")
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return err
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), ".build-"); err != nil {
			return err
		}
	}
	defer os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Join(tmp, "ID"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "index"), 0o755); err != nil {
		return err
	}
	type vuln struct {
		ID       string    `json:"id"`
		Modified time.Time `json:"modified"`
	}
	mods := map[string][]vuln{}
	entries, err := os.ReadDir(osvDir)
	if err != nil {
		return fmt.Errorf("the module holds no data/osv: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(osvDir, e.Name()))
		if err != nil {
			return err
		}
		var ent osvEntry
		if err := json.Unmarshal(data, &ent); err != nil || ent.ID+".json" != e.Name() {
			return fmt.Errorf("data/osv/%s is not an OSV entry of that ID", e.Name())
		}
		for _, a := range ent.Affected {
			if a.Package.Ecosystem == "Go" && !slices.ContainsFunc(mods[a.Package.Name], func(v vuln) bool { return v.ID == ent.ID }) {
				mods[a.Package.Name] = append(mods[a.Package.Name], vuln{ID: ent.ID, Modified: modified})
			}
		}
		// The fixed version is left out of the index on purpose: without
		// it govulncheck reads every entry of a module it finds and
		// decides from the entry's own ranges.
		if err := os.WriteFile(filepath.Join(tmp, "ID", e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	type moduleMeta struct {
		Path  string `json:"path"`
		Vulns []vuln `json:"vulns"`
	}
	var index []moduleMeta
	for path, vs := range mods {
		slices.SortFunc(vs, func(a, b vuln) int { return strings.Compare(a.ID, b.ID) })
		index = append(index, moduleMeta{Path: path, Vulns: vs})
	}
	slices.SortFunc(index, func(a, b moduleMeta) int { return strings.Compare(a.Path, b.Path) })
	mj, err := json.Marshal(index)
	if err != nil {
		return err
	}
	dj, _ := json.Marshal(map[string]time.Time{"modified": modified})
	if err := os.WriteFile(filepath.Join(tmp, "index", "modules.json"), mj, 0o644); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(ctx, filepath.Join(tmp, "index", "db.json"), dj, 0o644); err != nil {
		return err
	}
	// Another run may have built the same version meanwhile: either copy
	// is whole, so keep the one already there.
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, statErr := os.Stat(filepath.Join(dir, "index", "modules.json")); statErr != nil {
			return err
		}
	}
	return nil
}
