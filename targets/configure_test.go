package targets

import (
	"time"

	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoistdev/hoist/config"
)

func TestSettings(t *testing.T) {
	got := config.Defaults()
	apply(&got, []Setting{
		Name("shop"), Mains("./cmd/api"), Platforms("linux/amd64", "linux/arm64"),
		Registries("ghcr.io/acme", "quay.io/acme"), FloatingTags, TagPrefix(""),
		Ports("8080/tcp"), Base("gcr.io/distroless/static:nonroot"), User("1000:1000"), WorkDir("/app"),
		NoImage, ArchiveFiles("CHANGELOG.md"), CoverageMin(50), NoRace, TagPrefix("svc/v"),
		TestTimeout(20 * time.Minute), TestPackages("./e2e", "./..."),
	})
	want := config.Defaults()
	want.Name, want.Mains, want.Platforms = "shop", []string{"./cmd/api"}, []string{"linux/amd64", "linux/arm64"}
	want.Publish.Registries, want.Publish.Latest, want.Publish.MinorTag = []string{"ghcr.io/acme", "quay.io/acme"}, true, true
	want.Release.TagPrefix = "svc/v" // the later setting wins
	want.Image.Ports, want.Image.Base, want.Image.User, want.Image.WorkDir = []string{"8080/tcp"}, "gcr.io/distroless/static:nonroot", "1000:1000", "/app"
	want.Image.Skip, want.Release.ExtraFiles, want.CoverageMin, want.NoRace = true, []string{"CHANGELOG.md"}, 50, true
	want.TestTimeout, want.TestPackages = 20*time.Minute, []string{"./e2e", "./..."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settings applied (-want +got):\n%s", diff)
	}

	plain := config.Defaults()
	apply(&plain, []Setting{TagPrefix(""), TZData})
	if plain.Release.TagPrefix != config.NoTagPrefix || !plain.Image.TZData {
		t.Errorf("TagPrefix(\"\") = %q, TZData = %v; want plain tags and time zones", plain.Release.TagPrefix, plain.Image.TZData)
	}
}
