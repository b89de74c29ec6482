package dockerengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
)

// BuildOptions describes one Dockerfile build through the Engine API.
type BuildOptions struct {
	// ContextDir is the directory sent as the build context, usually the
	// repository root. Required.
	ContextDir string
	// Dockerfile is the Dockerfile's path inside ContextDir. The default
	// is "Dockerfile".
	Dockerfile string
	// Tags name the result, e.g. "web:0.1.0". Without tags the image is
	// only reachable by the returned ID.
	Tags []string
	// BuildArgs fill the Dockerfile's ARG instructions, e.g. VERSION,
	// GO_IMAGE. Values are sent as given; nothing is read from the
	// environment.
	BuildArgs map[string]string
	// Target stops at a named stage of a multi-stage Dockerfile. The
	// default builds the last stage.
	Target string
	// Labels are added to the image config.
	Labels map[string]string
	// Pull asks the daemon to refresh base images from their registry even
	// when it has them. The default, false, uses what the daemon already
	// holds, which is what offline machines and pinned bases want.
	Pull bool
	// NoCache disables the builder's layer cache.
	NoCache bool
	// Output receives the build log line by line. The default is the
	// engine's [WithOutput] writer.
	Output io.Writer
}

// Build runs a Dockerfile build and returns the ID of the image it made.
// It uses the classic builder, which every daemon has and which needs no
// BuildKit session, so RUN --mount and heredocs are not available.
//
// The context is streamed while it is being written, never staged on disk;
// see [WriteBuildContext] for what is sent. A build step that fails makes
// Build fail with the daemon's message and the last lines of the log.
func (e *Engine) Build(ctx context.Context, opts BuildOptions) (string, error) {
	for _, t := range opts.Tags {
		if err := checkTag(t); err != nil {
			return "", fmt.Errorf("docker build: %w", err)
		}
	}
	root, dockerfile, err := checkContext(opts.ContextDir, opts.Dockerfile)
	if err != nil {
		return "", fmt.Errorf("docker build: %w", err)
	}
	out := opts.Output
	if out == nil {
		out = e.out
	}

	args := make(map[string]*string, len(opts.BuildArgs))
	for k, v := range opts.BuildArgs {
		args[k] = &v
	}

	// The context goes through a pipe so that large repositories are not
	// held in memory; the writer's own error is kept because the HTTP
	// client only reports that the request body broke.
	pr, pw := io.Pipe()
	ctxErr := make(chan error, 1)
	go func() {
		_, err := WriteBuildContext(ctx, pw, root, dockerfile)
		pw.CloseWithError(err)
		ctxErr <- err
	}()
	waitWriter := func(err error) error {
		pr.CloseWithError(io.ErrClosedPipe)
		// A writer stopped by the close above only echoes the daemon's
		// failure; any other writer error is the real cause.
		if werr := <-ctxErr; werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
			return werr
		}
		return err
	}

	resp, err := e.cli.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags:        opts.Tags,
		Dockerfile:  dockerfile,
		BuildArgs:   args,
		Target:      opts.Target,
		Labels:      opts.Labels,
		PullParent:  opts.Pull,
		NoCache:     opts.NoCache,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("docker build %s on %s: %w", root, e.host, waitWriter(err))
	}
	defer resp.Body.Close()

	var id string
	sr := streamReader{
		out: out,
		onAux: func(raw json.RawMessage) {
			var aux struct{ ID string }
			if json.Unmarshal(raw, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
		},
		onLine: func(line string) {
			if short, ok := strings.CutPrefix(line, "Successfully built "); ok && id == "" {
				id = strings.TrimSpace(short)
			}
		},
	}
	if err := waitWriter(sr.read(resp.Body)); err != nil {
		return "", fmt.Errorf("docker build %s: %w", root, err)
	}
	if id == "" {
		return "", fmt.Errorf("docker build %s: the daemon finished without naming the image it built", root)
	}
	// The classic builder may only print a short ID; resolve it so callers
	// always get the full sha256 form.
	res, err := e.cli.ImageInspect(ctx, id)
	if err != nil {
		return "", fmt.Errorf("docker build %s: inspect result %s: %w", root, id, err)
	}
	return res.ID, nil
}
