package docker

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/docker/go-connections/tlsconfig"
	"github.com/moby/moby/client"

	"github.com/hoistdev/hoist/config"
	"github.com/hoistdev/hoist/dockerengine"
	"github.com/hoistdev/hoist/targets/internal/session"
)

// conn is the targets' connection to the daemon: every call goes through
// dockerengine.
type conn struct {
	eng *dockerengine.Engine
}

// connect opens the daemon the session's environment names. The wrapper
// pings first, so an unreachable daemon fails here with its DOCKER_HOST
// advice before any work starts.
func connect(ctx context.Context, s *session.Session, target string) (*conn, error) {
	opts, err := clientOpts(s.Env.Docker)
	if err != nil {
		return nil, err
	}
	eng, err := dockerengine.New(ctx,
		dockerengine.WithClientOpts(opts...),
		dockerengine.WithOutput(s.Writer(target)))
	if err != nil {
		return nil, err
	}
	return &conn{eng: eng}, nil
}

func (c *conn) close() error {
	return c.eng.Close()
}

// clientOpts is client.FromEnv, but fed by the environment the mage layer
// read once instead of the process environment, so that tests can point
// the targets at another daemon without touching os.Environ.
// The order follows FromEnv: TLS replaces the HTTP client, so it must come
// before the host configures that client's transport.
func clientOpts(env config.DockerEnv) ([]client.Opt, error) {
	var opts []client.Opt
	if dir := env.CertPath; dir != "" {
		tc, err := tlsconfig.Client(tlsconfig.Options{
			CAFile:   filepath.Join(dir, "ca.pem"),
			CertFile: filepath.Join(dir, "cert.pem"),
			KeyFile:  filepath.Join(dir, "key.pem"),
			// The docker CLI verifies the daemon only when asked; hoist
			// keeps that meaning so the same settings work for both.
			InsecureSkipVerify: !env.TLSVerify,
			MinVersion:         tls.VersionTLS12,
		})
		if err != nil {
			return nil, fmt.Errorf("DOCKER_CERT_PATH=%s: %w — the directory must hold ca.pem, cert.pem and key.pem, or unset DOCKER_CERT_PATH", dir, err)
		}
		opts = append(opts, client.WithHTTPClient(&http.Client{
			Transport:     &http.Transport{TLSClientConfig: tc},
			CheckRedirect: client.CheckRedirect,
		}))
	}
	if host := env.Host; host != "" {
		if _, err := client.ParseHostURL(host); err != nil {
			return nil, fmt.Errorf("DOCKER_HOST=%q: %v — use unix:///var/run/docker.sock or tcp://host:port", host, err)
		}
		opts = append(opts, client.WithHost(host))
	}
	if v := env.APIVersion; v != "" {
		// Checked on its own so the error names the variable, not just
		// the client's parser.
		probe, err := client.New(client.WithAPIVersion(v))
		if err != nil {
			return nil, fmt.Errorf("DOCKER_API_VERSION=%q: %v — use a version such as 1.41, or unset it to negotiate", v, err)
		}
		_ = probe.Close()
		opts = append(opts, client.WithAPIVersion(v))
	}
	return opts, nil
}
