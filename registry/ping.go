package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Ping tells whether a registry answers at host (host:port, plain HTTP): it
// accepts 200 and 401 from GET /v2/, the answers of an open and of an
// authenticating registry. It is meant for "is something already serving
// here" before starting or configuring one.
func Ping(ctx context.Context, host string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/v2/", nil)
	if err != nil {
		return fmt.Errorf("ping registry %s: %w", host, err)
	}
	// A private transport: loopback must not go through a proxy, and the
	// connection should not linger in the shared pool.
	client := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true},
		Timeout:   10 * time.Second,
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("ping registry %s: %w", host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	switch resp.StatusCode {
	case http.StatusOK, http.StatusUnauthorized:
		return nil
	}
	return fmt.Errorf("ping registry %s: GET /v2/ answered %s; whatever listens there is not an OCI registry", host, resp.Status)
}
