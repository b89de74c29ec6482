package dockerengine

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/client"
)

// Load imports a docker-archive tarball (the format go-containerregistry's
// tarball.Write produces) into the daemon, then gives the loaded image each
// of tags, e.g. "web:0.1.0" and "web:latest". This is how an image built
// without a daemon becomes runnable with `docker run` and compose.
//
// A failure the daemon reports inside its response stream fails the load;
// the stream is not trusted to be empty of errors just because the HTTP
// status was 200.
func (e *Engine) Load(ctx context.Context, tarballPath string, tags ...string) error {
	for _, t := range tags {
		if err := checkTag(t); err != nil {
			return fmt.Errorf("load %s: %w", tarballPath, err)
		}
	}
	f, err := os.Open(tarballPath)
	if err != nil {
		return fmt.Errorf("load %s: %w", tarballPath, err)
	}
	defer f.Close()

	resp, err := e.cli.ImageLoad(ctx, f, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load %s into the Docker Engine at %s: %w", tarballPath, e.host, err)
	}
	defer resp.Close()

	var loaded []string
	sr := streamReader{out: e.out, onLine: func(line string) {
		for _, prefix := range []string{"Loaded image: ", "Loaded image ID: "} {
			if ref, ok := strings.CutPrefix(line, prefix); ok {
				loaded = append(loaded, strings.TrimSpace(ref))
			}
		}
	}}
	if err := sr.read(resp); err != nil {
		return fmt.Errorf("load %s: %w", tarballPath, err)
	}
	if len(tags) == 0 {
		return nil
	}

	source, err := e.singleImage(ctx, loaded)
	if err != nil {
		return fmt.Errorf("load %s: %w", tarballPath, err)
	}
	for _, t := range tags {
		if _, err := e.cli.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: t}); err != nil {
			return fmt.Errorf("load %s: tag %s as %s: %w", tarballPath, source, t, err)
		}
	}
	return nil
}

// singleImage resolves the names a load reported to one image ID. A
// tarball may name one image several times (one entry per tag), which is
// fine; tagging is refused only when it really holds different images,
// because then it is unclear which one the tags are meant for.
func (e *Engine) singleImage(ctx context.Context, loaded []string) (string, error) {
	if len(loaded) == 0 {
		return "", fmt.Errorf("the daemon did not say which image it loaded, so it cannot be tagged: check that the file is a docker-archive tarball")
	}
	var id string
	for _, ref := range loaded {
		res, err := e.cli.ImageInspect(ctx, ref)
		if err != nil {
			return "", fmt.Errorf("inspect loaded image %s: %w", ref, err)
		}
		if id != "" && res.ID != id {
			return "", fmt.Errorf("the tarball holds more than one image (%s): write one image per tarball to tag it on load", strings.Join(loaded, ", "))
		}
		id = res.ID
	}
	return id, nil
}

// checkTag rejects a malformed image reference before any data is sent,
// so the mistake is reported in hoist's words rather than the daemon's.
func checkTag(tag string) error {
	ref, err := reference.ParseNormalizedNamed(tag)
	if err != nil {
		return fmt.Errorf("invalid image tag %q: %v — use name[:tag], e.g. web:0.1.0", tag, err)
	}
	if _, ok := ref.(reference.Digested); ok {
		return fmt.Errorf("invalid image tag %q: a tag cannot carry a digest — drop the @sha256:… part", tag)
	}
	return nil
}
