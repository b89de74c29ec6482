package dockerengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// SmokeLabel marks the containers Smoke creates, so that leftovers from a
// killed process can be found with `docker ps -a --filter label=…`.
const SmokeLabel = "dev.hoist.smoke"

// logTail is how many log lines a failed smoke run quotes.
const logTail = 50

// SmokeOptions describes one smoke run of an image.
type SmokeOptions struct {
	// Image is the image to run, by tag or ID. Required.
	Image string
	// Version is the version the service must report as "version" in the
	// JSON it serves on VersionPath. Empty skips the comparison but the
	// endpoint must still answer with JSON.
	Version string
	// Port is the container port the service listens on. The default is
	// "8080/tcp". It is published on a free port of 127.0.0.1 only, so a
	// smoke run never exposes the service to the network.
	Port string
	// Timeout bounds the wait for the service to become ready. The default
	// is 60 seconds.
	Timeout time.Duration
	// HealthInterval replaces the interval of the image's HEALTHCHECK for
	// this run. Images usually check every 10–30 s, far too slow for a
	// test; the default is 1 second. The check command itself is kept.
	HealthInterval time.Duration
	// HealthPath is probed over HTTP when the image has no HEALTHCHECK.
	// The default is "/healthz".
	HealthPath string
	// VersionPath serves the build's version as JSON. The default is
	// "/version".
	VersionPath string
	// Args replace the image's CMD, e.g. []string{"-addr", ":9090"}.
	Args []string
	// Env adds "KEY=value" variables to the container.
	Env []string
	// ReadOnly runs the container with a read-only root filesystem, as
	// compose.yaml does, to prove the service does not write to its image.
	ReadOnly bool
}

// SmokeResult reports a passed smoke run.
type SmokeResult struct {
	// ContainerID is the container that ran; it is removed by the time
	// Smoke returns.
	ContainerID string
	// URL is where the service was published, e.g. "http://127.0.0.1:49154".
	URL string
	// Readiness says how readiness was decided: "healthcheck" when the
	// image's HEALTHCHECK reported healthy, "http" when HealthPath answered.
	Readiness string
	// Version is the version the service reported.
	Version string
	// Ready is the time from start until the service was ready.
	Ready time.Duration
}

// SmokeError is a failed smoke run together with what the container said
// about it, so the failure can be diagnosed without re-running it.
type SmokeError struct {
	// Image is the image that was run.
	Image string
	// ContainerID is the container that failed; it has been removed.
	ContainerID string
	// Err is the reason the run failed.
	Err error
	// Logs are the last lines of the container's stdout and stderr.
	Logs string
	// HealthLog holds the results of the last healthcheck runs, if the
	// image has a healthcheck.
	HealthLog string
}

// Error includes the logs so that a plain error print is enough to debug.
func (e *SmokeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "smoke %s: %v", e.Image, e.Err)
	if e.HealthLog != "" {
		fmt.Fprintf(&b, "\n--- health log ---\n%s", strings.TrimRight(e.HealthLog, "\n"))
	}
	logs := strings.TrimRight(e.Logs, "\n")
	if logs == "" {
		logs = "(no output)"
	}
	fmt.Fprintf(&b, "\n--- container logs (last %d lines) ---\n%s", logTail, logs)
	return b.String()
}

// Unwrap exposes the reason, e.g. for errors.Is(err, context.DeadlineExceeded).
func (e *SmokeError) Unwrap() error { return e.Err }

func (o *SmokeOptions) defaults() (network.Port, error) {
	if o.Image == "" {
		return network.Port{}, errors.New("smoke: no image given: set SmokeOptions.Image")
	}
	if o.Port == "" {
		o.Port = "8080/tcp"
	}
	port, err := network.ParsePort(o.Port)
	if err != nil {
		return network.Port{}, fmt.Errorf("smoke %s: port %q: %v — use a form like 8080/tcp", o.Image, o.Port, err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = time.Second
	}
	if o.HealthPath == "" {
		o.HealthPath = "/healthz"
	}
	if o.VersionPath == "" {
		o.VersionPath = "/version"
	}
	return port, nil
}

// Smoke starts a container from an image, waits until it is ready, checks
// the version it reports, and removes it again. It answers the question a
// release needs before pushing: does this image start, pass its own
// healthcheck, and carry the version we think it does?
//
// The container is stopped and removed on every path, with a context of
// its own so that a cancelled ctx does not leave it behind. Once the
// container exists, any failure is a [*SmokeError] carrying its logs and
// health log.
//
// The service is probed at 127.0.0.1, so the daemon must run on this
// machine (a local socket or a loopback TCP host), as it does on
// developer machines and CI runners.
func (e *Engine) Smoke(ctx context.Context, opts SmokeOptions) (*SmokeResult, error) {
	port, err := opts.defaults()
	if err != nil {
		return nil, err
	}
	img, err := e.cli.ImageInspect(ctx, opts.Image)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("smoke %s: the image is not in the Docker Engine at %s: load or build it first", opts.Image, e.host)
		}
		return nil, fmt.Errorf("smoke %s: inspect image: %w", opts.Image, err)
	}

	cfg := &container.Config{
		Image:        opts.Image,
		Env:          opts.Env,
		Cmd:          opts.Args,
		ExposedPorts: network.PortSet{port: {}},
		Labels:       map[string]string{SmokeLabel: "true"},
	}
	hasHealth := false
	if img.Config != nil && img.Config.Healthcheck != nil {
		hc := img.Config.Healthcheck
		if len(hc.Test) > 0 && hc.Test[0] != "NONE" {
			hasHealth = true
			// Zero fields are inherited from the image by the daemon.
			cfg.Healthcheck = &container.HealthConfig{Test: hc.Test, Interval: opts.HealthInterval}
		}
	}
	host := &container.HostConfig{
		// An empty HostPort lets the daemon choose a free port itself, which
		// cannot race with another process the way picking one here could.
		PortBindings:   network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1")}}},
		ReadonlyRootfs: opts.ReadOnly,
	}
	created, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host})
	if err != nil {
		return nil, fmt.Errorf("smoke %s: create container: %w", opts.Image, err)
	}
	id := created.ID

	res, runErr := e.runSmoke(ctx, id, port, hasHealth, &opts)
	if runErr != nil {
		runErr = e.smokeFailure(id, &opts, runErr)
	}
	if err := e.removeContainer(ctx, id); err != nil {
		runErr = errors.Join(runErr, err)
	}
	if runErr != nil {
		return nil, runErr
	}
	return res, nil
}

// runSmoke is the part of Smoke whose failures need the container's logs.
func (e *Engine) runSmoke(ctx context.Context, id string, port network.Port, hasHealth bool, opts *SmokeOptions) (*SmokeResult, error) {
	if _, err := e.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return nil, fmt.Errorf("start container: %w", err)
	}
	started := time.Now()
	ins, err := e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("inspect container: %w", err)
	}
	if err := stopped(ins.Container.State); err != nil {
		// A container that already exited has no published ports left.
		return nil, err
	}
	base, err := publishedURL(ins.Container, port)
	if err != nil {
		return nil, err
	}
	res := &SmokeResult{ContainerID: id, URL: base, Readiness: "http"}
	if hasHealth {
		res.Readiness = "healthcheck"
	}

	// Keep-alives are off so no idle connection outlives the container.
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := e.waitReady(wctx, id, base+opts.HealthPath, hasHealth, hc); err != nil {
		return nil, err
	}
	res.Ready = time.Since(started)

	v, err := fetchVersion(ctx, hc, base+opts.VersionPath)
	if err != nil {
		return nil, err
	}
	res.Version = v
	if opts.Version != "" && v != opts.Version {
		return nil, fmt.Errorf("GET %s reported version %q, want %q: rebuild the image with the version injected (-ldflags -X main.version=…)", opts.VersionPath, v, opts.Version)
	}
	return res, nil
}

// publishedURL finds the host port the daemon chose for port.
func publishedURL(c container.InspectResponse, port network.Port) (string, error) {
	if c.NetworkSettings != nil {
		for _, b := range c.NetworkSettings.Ports[port] {
			if b.HostPort != "" {
				return "http://127.0.0.1:" + b.HostPort, nil
			}
		}
	}
	return "", fmt.Errorf("the daemon did not publish container port %s", port)
}

// waitReady polls until the container is ready, it exits, or ctx ends.
// An "unhealthy" status is not final: a later passing check turns it
// healthy again, so only the timeout gives up on a slow starter.
func (e *Engine) waitReady(ctx context.Context, id, healthURL string, hasHealth bool, hc *http.Client) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := "not ready"
	for {
		ins, err := e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("not ready in time (%s): %w", last, context.Cause(ctx))
			}
			return fmt.Errorf("inspect container: %w", err)
		}
		st := ins.Container.State
		if err := stopped(st); err != nil {
			return err
		}
		if hasHealth {
			if st != nil && st.Health != nil {
				if st.Health.Status == container.Healthy {
					return nil
				}
				last = "health status " + string(st.Health.Status)
			}
		} else {
			err := probe(ctx, hc, healthURL)
			if err == nil {
				return nil
			}
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready in time (%s): %w", last, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// stopped reports a container that is no longer running, since waiting
// for it to become ready would only run into the timeout.
func stopped(st *container.State) error {
	if st == nil || st.Running {
		return nil
	}
	oom := ""
	if st.OOMKilled {
		oom = ", killed for running out of memory"
	}
	return fmt.Errorf("container stopped with exit code %d (%s)%s", st.ExitCode, st.Status, oom)
}

func probe(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

func fetchVersion(ctx context.Context, hc *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var v struct {
		Version *string `json:"version"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Version == nil {
		return "", fmt.Errorf("GET %s: want a JSON object with a \"version\" field, got %q", url, truncate(string(body), 200))
	}
	return *v.Version, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// cleanupTimeout bounds stopping and removing a container, and reading its
// logs. It runs
// on a context detached from the caller's, so it needs its own limit.
const cleanupTimeout = 30 * time.Second

// smokeFailure gathers logs and health results for a failed run. It uses
// a detached context: the usual reason to be here is that ctx timed out.
func (e *Engine) smokeFailure(id string, opts *SmokeOptions, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	se := &SmokeError{Image: opts.Image, ContainerID: id, Err: cause, Logs: e.logs(ctx, id, logTail)}
	if ins, err := e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil {
		if st := ins.Container.State; st != nil && st.Health != nil {
			var b strings.Builder
			for _, r := range st.Health.Log {
				fmt.Fprintf(&b, "%s exit %d: %s\n", r.Start.UTC().Format(time.RFC3339), r.ExitCode, strings.TrimSpace(r.Output))
			}
			se.HealthLog = b.String()
		}
	}
	return se
}

// removeContainer stops the container gracefully, then removes it.
func (e *Engine) removeContainer(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	grace := 5
	// A stop failure is not reported: the forced removal below kills the
	// container anyway, and only a failed removal leaves something behind.
	_, _ = e.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &grace})
	if _, err := e.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w — remove it with `docker rm -f %s`", shortID(id), err, shortID(id))
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
