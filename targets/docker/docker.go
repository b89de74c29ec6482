package docker

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/hoistdev/hoist/targets"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// Docker groups the targets that use a local Docker Engine.
type Docker mg.Namespace

// Load loads the image for the daemon's platform into Docker as <name>:<version>.
//
// Runs image:build first, then writes dist/image_<os>_<arch>.tar from
// dist/image and loads it through the Engine API. An image the daemon
// already holds under the same tags is not sent again.
// Env: DOCKER_LATEST=1 also tags <name>:latest; DOCKER_PLATFORM (e.g.
// linux/arm64) loads another platform than the daemon's own; DOCKER_HOST,
// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION pick the daemon.
func (Docker) Load(ctx context.Context) error {
	mg.CtxDeps(ctx, targets.Image.Build)
	return withEngine(ctx, "docker:load", func(s *session.Session, c *conn) error {
		_, err := loadImage(ctx, s, c)
		return err
	})
}

// Build builds the repository's Dockerfile through the Engine API as <name>:<version>-dockerfile.
//
// The -dockerfile suffix keeps the result apart from the daemonless image
// of the same version, so the two can be compared and neither replaces
// the other. VERSION, COMMIT and DATE go in as build args (the version
// from VERSION, commit and date from git, SOURCE_DATE_EPOCH overriding
// the date). The build log streams as it runs.
// Env: GO_IMAGE and RUNTIME_IMAGE replace the Dockerfile's base images,
// e.g. local ones on a machine that cannot pull.
func (Docker) Build(ctx context.Context) error {
	return withEngine(ctx, "docker:build", func(s *session.Session, c *conn) error {
		_, err := dockerfileBuild(ctx, s, c)
		return err
	})
}

// Smoke runs the loaded <name>:<version> image and checks health and /version.
//
// Runs docker:load first. The container gets a free 127.0.0.1 port and a
// read-only root filesystem; the target waits for the image's healthcheck
// (checked every second for the run), expects /version to report the
// version from VERSION, and removes the container. A failure prints the
// container's logs.
func (Docker) Smoke(ctx context.Context) error {
	mg.CtxDeps(ctx, Docker.Load)
	return withEngine(ctx, "docker:smoke", func(s *session.Session, c *conn) error {
		return smoke(ctx, s, c, "docker:smoke", versionRef)
	})
}

// SmokeDockerfile builds the Dockerfile image and smoke-runs it like docker:smoke.
//
// Runs docker:build first, then the same checks as docker:smoke against
// <name>:<version>-dockerfile.
func (Docker) SmokeDockerfile(ctx context.Context) error {
	mg.CtxDeps(ctx, Docker.Build)
	return withEngine(ctx, "docker:smokeDockerfile", func(s *session.Session, c *conn) error {
		return smoke(ctx, s, c, "docker:smokeDockerfile", dockerfileRef)
	})
}

// Up runs the loaded image as the dev container <name>-dev, like compose.yaml's web service.
//
// Runs docker:load first, replaces an earlier <name>-dev, publishes the
// first configured port (default 8080/tcp) on 127.0.0.1:8080 with restart
// unless-stopped and a read-only root, and waits until the container is
// healthy. Env: DOCKER_UP_PORT sets the host port (0 lets Docker pick).
func (Docker) Up(ctx context.Context) error {
	mg.CtxDeps(ctx, Docker.Load)
	return withEngine(ctx, "docker:up", func(s *session.Session, c *conn) error {
		_, err := up(ctx, s, c)
		return err
	})
}

// Down stops and removes the dev container that docker:up started.
//
// Nothing to remove is not an error. A container of that name that
// docker:up did not create is left alone.
func (Docker) Down(ctx context.Context) error {
	return withEngine(ctx, "docker:down", func(s *session.Session, c *conn) error {
		return down(ctx, s, c)
	})
}

// withEngine gives a target body the session and a daemon connection,
// and closes the connection afterwards.
func withEngine(ctx context.Context, target string, fn func(*session.Session, *conn) error) (err error) {
	s, err := session.Load()
	if err != nil {
		return err
	}
	c, err := connect(ctx, s, target)
	if err != nil {
		return err
	}
	defer func() {
		// Closing only drops idle connections; its error cannot change
		// what the target did.
		_ = c.close()
	}()
	return fn(s, c)
}
