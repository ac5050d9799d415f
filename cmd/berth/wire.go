package main

import (
	"context"
	"log/slog"
	"net/http"
)

// wire builds the server's components (store, blob store, registry, ECR,
// gateway) from cfg and returns the handler for the one port and a function
// that closes the components in reverse order of creation.
//
// When wire runs, cfg.DataDir exists (mode 0700) and holds the admin key
// (iam.ReadAdminKey), and cfg.RegistryHost is filled in. ctx is cancelled
// when shutdown begins, before in-flight requests have drained; closeFn runs
// after they have.
func wire(ctx context.Context, cfg serverConfig, logger *slog.Logger) (handler http.Handler, closeFn func() error, err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_berth/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	return mux, func() error { return nil }, nil
}
