package workqueue

import (
	"context"
	"log/slog"
	"time"
)

// Pauses between a watch that ended and the next list and watch.
const (
	firstRelistPause = 200 * time.Millisecond
	maxRelistPause   = 5 * time.Second
)

// Follow runs follow, which lists what a controller reconciles and then
// watches it, until ctx ends. A follow that returns (a broken or lagging
// watch) starts again after a pause that doubles up to 5 s, and is back to
// 200 ms once a follow lasted a minute: a relist sees whatever the broken
// watch missed.
func Follow(ctx context.Context, log *slog.Logger, follow func(context.Context) error) {
	pause := firstRelistPause
	for ctx.Err() == nil {
		began := time.Now()
		err := follow(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Warn("watch ended, relisting", "err", err)
		if time.Since(began) > time.Minute {
			pause = firstRelistPause
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, maxRelistPause)
	}
}
