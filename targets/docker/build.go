package docker

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/hoistdev/hoist/dockerengine"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// buildArgs are the Dockerfile's ARG values for this run. The commit and
// date are the ones go:build stamps, so both images of a version report
// the same build through /version.
func buildArgs(ctx context.Context, s *session.Session) (map[string]string, error) {
	st, err := s.CurrentStamp(ctx)
	if err != nil {
		return nil, err
	}
	args := map[string]string{
		"VERSION": st.Version.String(),
		"COMMIT":  st.Rev.Commit,
		"DATE":    st.Rev.Time.UTC().Format(time.RFC3339),
	}
	maps.Copy(args, s.Env.Docker.BuildArgs)
	return args, nil
}

// dockerfileBuild builds the project's Dockerfile and returns the tag of
// the result.
func dockerfileBuild(ctx context.Context, s *session.Session, c *conn) (string, error) {
	const target = "docker:build"
	ver, err := currentVersion(ctx, s)
	if err != nil {
		return "", err
	}
	args, err := buildArgs(ctx, s)
	if err != nil {
		return "", err
	}
	tag := dockerfileRef(s, ver)
	start := time.Now()
	id, err := c.eng.Build(ctx, dockerengine.BuildOptions{
		ContextDir: s.Cfg.Dir,
		Tags:       []string{tag},
		BuildArgs:  args,
		Output:     s.Writer(target),
	})
	if err != nil {
		if pullFailure(err) && (args["GO_IMAGE"] == "" || args["RUNTIME_IMAGE"] == "") {
			return "", fmt.Errorf("%w\nThe daemon could not fetch a base image: on a machine that cannot pull, set GO_IMAGE and RUNTIME_IMAGE to images the daemon holds", err)
		}
		return "", err
	}
	took := time.Since(start)
	info, err := c.eng.Image(ctx, id)
	if err != nil {
		return "", err
	}
	s.Logf(target, "built %s (image %s, %s) in %s", tag, short(id), mib(info.Size), took.Round(100*time.Millisecond))
	return tag, nil
}

// pullFailure recognises the daemon's ways of saying a base image could
// not be fetched, to point at the knobs that avoid the pull.
func pullFailure(err error) bool {
	msg := err.Error()
	for _, m := range []string{"registry-1.docker.io", "pull access denied", "manifest unknown", "not found: manifest", "dial tcp: lookup"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// smoke runs the image that ref names for this version and checks that
// it turns healthy and reports the version.
func smoke(ctx context.Context, s *session.Session, c *conn, target string, ref func(*session.Session, *semver.Version) string) error {
	ver, err := currentVersion(ctx, s)
	if err != nil {
		return err
	}
	img := ref(s, ver)
	res, err := c.eng.Smoke(ctx, dockerengine.SmokeOptions{
		Image:    img,
		Version:  ver.String(),
		Port:     containerPort(s),
		ReadOnly: true,
	})
	if err != nil {
		// The error already names the image and carries the logs.
		return err
	}
	s.Logf(target, "passed: %s ready in %s (%s), /version reported %s", img, res.Ready.Round(10*time.Millisecond), res.Readiness, res.Version)
	return nil
}

// containerPort is the port the service listens on inside the container:
// the first one the image exposes, else the reference service's 8080.
func containerPort(s *session.Session) string {
	if len(s.Cfg.Image.Ports) > 0 {
		return s.Cfg.Image.Ports[0]
	}
	return "8080/tcp"
}

// currentVersion is the version the docker targets name images with: the
// one in VERSION, as go:build stamps it.
func currentVersion(ctx context.Context, s *session.Session) (*semver.Version, error) {
	st, err := s.CurrentStamp(ctx)
	if err != nil {
		return nil, err
	}
	return st.Version, nil
}
