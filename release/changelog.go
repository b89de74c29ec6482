package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/atomicfile"
	"github.com/hoistdev/hoist/version"
)

// WriteChangelog writes the release notes of d to path (dist/CHANGELOG.md
// in a release), grouped by commit type since d.PreviousTag, under the
// heading d.Tag (or d.Next when there is no tag, as for a snapshot). date is
// the commit time, so that the file is reproducible; the zero time leaves
// the date out. The file is replaced atomically.
func WriteChangelog(ctx context.Context, path string, d version.Decision, date time.Time) error {
	title := d.Tag
	if title == "" && d.Next != nil {
		title = d.Next.String()
	}
	if title == "" {
		return errors.New("write changelog: the decision names no tag and no version; run the version decision first")
	}
	text := version.Changelog(d.PreviousTag, title, d.Commits, date)
	if err := atomicfile.WriteBytes(ctx, path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("write changelog %s: %w", path, err)
	}
	return nil
}
