// Package controller is the runtime berth's controllers run on. A
// Reconciler brings one key (a service, an image, a repository) to the
// state the store says it should be in; a Loop feeds it keys from its
// watches, a periodic resync and its own requeues, in the manner of
// Kubernetes' controllers: a key queued several times is reconciled once,
// never by two workers at once, a failed key is retried with per-key
// exponential backoff, and a broken watch is listed and watched again.
package controller

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/berth/berth/internal/store"
)

// Reconciler brings the thing key names to its desired state. It is
// level-triggered: it reads the current state afresh on every call, so
// calls for a key may be merged, repeated or come late.
type Reconciler interface {
	Reconcile(ctx context.Context, key string) (Result, error)
}

// ReconcilerFunc is a function as a Reconciler.
type ReconcilerFunc func(ctx context.Context, key string) (Result, error)

// Reconcile calls f.
func (f ReconcilerFunc) Reconcile(ctx context.Context, key string) (Result, error) {
	return f(ctx, key)
}

// Result is what a successful reconcile asks of the Loop.
type Result struct {
	// RequeueAfter, when positive, reconciles the key again after this long
	// even if nothing changes: a deadline the reconciler waits for, or a
	// retry of something that did not fail (a task that could not be placed
	// yet).
	RequeueAfter time.Duration
}

// Terminal marks err as one that retrying cannot fix (say, a stored record
// that a newer berth validates more strictly): the Loop logs and counts it
// but does not retry; the key comes back with its next change or resync.
func Terminal(err error) error { return terminalError{err} }

type terminalError struct{ err error }

func (e terminalError) Error() string { return e.err.Error() }
func (e terminalError) Unwrap() error { return e.err }

// Queue takes keys to reconcile.
type Queue interface {
	// Add queues keys now; a key already queued stays queued once.
	Add(keys ...string)
}

// Watch queues keys as what they name changes, until ctx ends or it
// breaks: typically it lists what the controller reconciles and queues it,
// then queues what a watch of the store reports changed. The Loop runs it
// again after a pause when it returns: the new list sees whatever the
// broken watch missed.
type Watch func(ctx context.Context, q Queue) error

// Backoff is how long a failed key waits to be retried: First after its
// first failure, doubling with each failure in a row up to Max. A success
// starts it over.
type Backoff struct {
	First, Max time.Duration
}

// DefaultBackoff retries a passing fault at once, and a lasting one (a
// full disk, a bug) every few minutes instead of flooding the log.
var DefaultBackoff = Backoff{First: 200 * time.Millisecond, Max: 5 * time.Minute}

// conflictRetry is how soon a key whose write lost a race
// (store.ErrConflict) is reconciled again, without adding to its backoff:
// the winner changed what the reconciler reads, and the next try decides
// from the new state.
const conflictRetry = 50 * time.Millisecond

// Config configures a Loop.
type Config struct {
	Reconciler Reconciler
	// Workers reconcile different keys at once (0: 1).
	Workers int
	// Watches feed the queue; each runs for as long as the Loop, listed
	// and watched again whenever it returns.
	Watches []Watch
	// Keys lists every key there is: all are queued every Resync, so that a
	// change no watch saw is acted on within Resync (nil or Resync 0: no
	// resync).
	Keys   func(ctx context.Context) ([]string, error)
	Resync time.Duration
	// Backoff paces the retries of failed keys (zero: DefaultBackoff).
	Backoff Backoff
	Logger  *slog.Logger
	// MetricsPrefix starts the names of the Loop's metrics:
	// "berth_ecs_service" names berth_ecs_service_reconciles_total and its
	// siblings (see newMetrics).
	MetricsPrefix string
	// Registerer takes the Loop's metrics (nil: none registered).
	Registerer prometheus.Registerer
	// Clock runs the Loop's timers (nil: the real clock); tests pass a fake.
	Clock clock.WithTicker
}

// Loop runs a Reconciler over a queue of keys. A Loop runs once: New, then
// Add what should be reconciled first (if no watch lists it), then Run.
type Loop struct {
	cfg     Config
	log     *slog.Logger
	clock   clock.WithTicker
	queue   workqueue.TypedRateLimitingInterface[string]
	metrics *metrics
}

// New returns a Loop, its metrics registered on cfg.Registerer.
func New(cfg Config) *Loop {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.Backoff == (Backoff{}) {
		cfg.Backoff = DefaultBackoff
	}
	cfg.Backoff.Max = max(cfg.Backoff.Max, cfg.Backoff.First)
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Only the per-key backoff: client-go's default also has an overall
	// token bucket, which guards an API server berth does not have; the
	// store is local.
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[string](cfg.Backoff.First, cfg.Backoff.Max)
	queue := workqueue.NewTypedRateLimitingQueueWithConfig(limiter, workqueue.TypedRateLimitingQueueConfig[string]{Clock: cfg.Clock})
	return &Loop{
		cfg:     cfg,
		log:     cfg.Logger,
		clock:   cfg.Clock,
		queue:   queue,
		metrics: newMetrics(cfg.Registerer, cfg.MetricsPrefix, func() float64 { return float64(queue.Len()) }),
	}
}

// Add queues keys now.
func (l *Loop) Add(keys ...string) {
	for _, k := range keys {
		l.queue.Add(k)
	}
}

// AddAfter queues key after d, unless it is due sooner already.
func (l *Loop) AddAfter(key string, d time.Duration) {
	l.queue.AddAfter(key, d)
}

// Run runs the workers, the watches and the resync until ctx ends, then
// waits for the reconciles under way to return.
func (l *Loop) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range l.cfg.Workers {
		wg.Go(func() {
			for l.reconcileNext(ctx) {
			}
		})
	}
	for _, w := range l.cfg.Watches {
		wg.Go(func() { l.follow(ctx, w) })
	}
	if l.cfg.Keys != nil && l.cfg.Resync > 0 {
		wg.Go(func() { l.resync(ctx) })
	}
	<-ctx.Done()
	l.queue.ShutDown()
	wg.Wait()
	return nil
}

// reconcileNext reconciles the next key and queues it again as its
// outcome asks; false once the queue has shut down.
func (l *Loop) reconcileNext(ctx context.Context) bool {
	key, shutdown := l.queue.Get()
	if shutdown {
		return false
	}
	defer l.queue.Done(key)
	began := l.clock.Now()
	res, err := l.cfg.Reconciler.Reconcile(ctx, key)
	l.metrics.duration.Observe(l.clock.Since(began).Seconds())
	var terminal terminalError
	switch {
	case err == nil:
		l.queue.Forget(key)
		if res.RequeueAfter > 0 {
			l.queue.AddAfter(key, res.RequeueAfter)
		}
		l.metrics.reconciles.WithLabelValues(resultOK).Inc()
	case errors.Is(err, store.ErrConflict):
		l.queue.AddAfter(key, conflictRetry)
		l.metrics.retries.Inc()
		l.metrics.reconciles.WithLabelValues(resultConflict).Inc()
	case errors.As(err, &terminal):
		l.queue.Forget(key)
		if ctx.Err() == nil {
			l.log.Error("reconcile failed; not retried until the key changes", "key", key, "err", err)
		}
		l.metrics.reconciles.WithLabelValues(resultError).Inc()
	default:
		l.queue.AddRateLimited(key)
		if ctx.Err() == nil {
			l.log.Warn("reconcile failed", "key", key, "err", err, "failures", l.queue.NumRequeues(key))
		}
		l.metrics.retries.Inc()
		l.metrics.reconciles.WithLabelValues(resultError).Inc()
	}
	return true
}

// resync queues every key every Resync.
func (l *Loop) resync(ctx context.Context) {
	t := l.clock.NewTicker(l.cfg.Resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		keys, err := l.cfg.Keys(ctx)
		if err != nil {
			if ctx.Err() == nil {
				l.log.Warn("resync failed", "err", err)
			}
			continue
		}
		l.Add(keys...)
	}
}
