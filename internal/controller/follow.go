package controller

import (
	"context"
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
