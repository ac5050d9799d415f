package controller

import (
	"context"
	"log/slog"
	"time"
)

// Pauses between a watch that ended and the next list and watch.
const (
	firstRelistPause = 200 * time.Millisecond
	maxRelistPause   = 5 * time.Second
	// A watch that lasted this long was healthy: the next break starts the
	// pauses over.
	healthyWatch = time.Minute
)

// follow runs watch until ctx ends. A watch that returns (a broken or
// lagging watch) starts again after a pause that doubles up to 5 s, and is
// back to 200 ms once a watch lasted a minute.
func (l *Loop) follow(ctx context.Context, watch Watch) {
	pause := firstRelistPause
	for ctx.Err() == nil {
		began := l.clock.Now()
		err := watch(ctx, l)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("watch ended, relisting", "err", err)
		if l.clock.Since(began) > healthyWatch {
			pause = firstRelistPause
		}
		t := l.clock.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		pause = min(2*pause, maxRelistPause)
	}
}

// Pauses between a failed Follow round and the next.
const (
	minFollowPause = 100 * time.Millisecond
	maxFollowPause = 10 * time.Second
)

// Follow runs follow (read some records, then apply their changes until
// the watch fails) until ctx ends: a round that fails is logged, as
// following what, and started again after a pause that doubles from
// 100 ms up to 10 s. It is the loop of the data planes, which keep their
// own state from the store rather than reconciling keys.
func Follow(ctx context.Context, log *slog.Logger, what string, follow func(context.Context) error) {
	pause := minFollowPause
	for ctx.Err() == nil {
		err := follow(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Error("following "+what+" failed; reading them again", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, maxFollowPause)
	}
}
