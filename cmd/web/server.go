package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// newHandler returns the service's routes wrapped in request logging.
// ready is shared with serve, which clears it as shutdown begins, so
// /readyz never reports a draining server as ready.
func newHandler(info buildInfo, ready *atomic.Bool, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	// {$} keeps "/" from acting as a catch-all, so unknown paths get 404.
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "hello from web "+info.Version+"\n")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			writeText(w, http.StatusServiceUnavailable, "shutting down\n")
			return
		}
		writeText(w, http.StatusOK, "ready\n")
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		// An encoding error here can only be a failed write to a client
		// that went away; there is nobody left to tell.
		_ = json.NewEncoder(w).Encode(info)
	})
	return logRequests(logger, mux)
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// logRequests writes one structured line per request. It logs the path
// without the query string, which may carry tokens.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)),
		)
	})
}

// statusWriter remembers the status code for the access log.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach Flush and deadlines underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newServer sets every timeout: the zero values mean "wait forever", which
// lets slow or idle clients pin connections and goroutines.
func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
	}
}

// serve answers HTTP on ln until ctx is cancelled, then marks the service
// not ready, keeps serving for delay so that a load balancer watching
// /readyz stops sending new requests first, stops accepting and waits up
// to drain for in-flight requests. It returns nil only after a complete
// drain.
func serve(ctx context.Context, ln net.Listener, h http.Handler, ready *atomic.Bool, logger *slog.Logger, delay, drain time.Duration) error {
	srv := newServer(h, logger)
	errc := make(chan error, 1)
	ready.Store(true)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		ready.Store(false)
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	ready.Store(false)
	if delay > 0 {
		logger.Info("draining: /readyz answers 503 while new requests are still served", "cause", context.Cause(ctx).Error(), "delay", delay.String())
		time.Sleep(delay)
	}
	logger.Info("shutting down", "cause", context.Cause(ctx).Error(), "timeout", drain.String())
	// The parent is already cancelled; the drain needs its own deadline.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close() // cut off the requests that did not finish in time
		return fmt.Errorf("drain in-flight requests within %s: %w (raise -shutdown-timeout if requests legitimately take longer)", drain, err)
	}
	<-errc // http.ErrServerClosed, now that Shutdown has run
	return nil
}
