package dockerengine

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// ImageInfo is what the size report and later steps need to know about an
// image the daemon holds.
type ImageInfo struct {
	// ID is the image ID, "sha256:…".
	ID string
	// Tags are the repository tags pointing at the image.
	Tags []string
	// Size is the unpacked size of all its layers in bytes, the figure
	// `docker images` shows.
	Size int64
}

// Image looks up an image by tag or ID. A missing image is an error that
// says so, because every caller would otherwise have to check for it.
func (e *Engine) Image(ctx context.Context, ref string) (ImageInfo, error) {
	res, err := e.cli.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return ImageInfo{}, fmt.Errorf("inspect image %s: not in the Docker Engine at %s: load or build it first", ref, e.host)
		}
		return ImageInfo{}, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return ImageInfo{ID: res.ID, Tags: res.RepoTags, Size: res.Size}, nil
}

// ImageSize returns an image's unpacked size in bytes, for the size
// report that keeps the runtime image from growing unnoticed.
func (e *Engine) ImageSize(ctx context.Context, ref string) (int64, error) {
	info, err := e.Image(ctx, ref)
	if err != nil {
		return 0, err
	}
	return info.Size, nil
}

// RemoveImage removes a tag or an image, and the parent layers nothing
// else uses. Removing an image that is already gone is not an error, so
// cleanup code can call it unconditionally. force also removes an image
// that stopped containers still reference.
func (e *Engine) RemoveImage(ctx context.Context, ref string, force bool) error {
	_, err := e.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: force, PruneChildren: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove image %s: %w", ref, err)
	}
	return nil
}
