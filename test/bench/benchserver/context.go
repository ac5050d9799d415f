package benchserver

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Context is a bench's context: it ends after timeout, or at Ctrl-C or
// SIGTERM, so that the bench stops what it started before it exits. stop
// releases it.
func Context(timeout time.Duration) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	return ctx, func() { stopSignals(); cancel() }
}
