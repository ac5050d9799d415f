package loadbalancer

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth/berth/internal/elbv2/elbv2state"
)

// live is what outlives a table about one target: the requests in flight
// to it, and the end of its drain, which cuts them off.
type live struct {
	inflight atomic.Int64
	// ended is cancelled when the target's drain is over (or it is gone):
	// requests still in flight to it are ended, as ALB closes a drained
	// target's connections.
	ended context.Context
	end   context.CancelFunc
	// drainTimer ends the drain at its deadline.
	drainTimer *time.Timer
}

// lives keeps the live state of every target and the round-robin counter of
// every group, across tables.
type lives struct {
	mu      sync.Mutex
	targets map[string]*live
	rr      map[string]*atomic.Uint64 // by group ARN
}

func newLives() *lives {
	return &lives{targets: map[string]*live{}, rr: map[string]*atomic.Uint64{}}
}

// of returns the live state of a target, made on first use.
func (l *lives) of(key string) *live {
	l.mu.Lock()
	defer l.mu.Unlock()
	lv := l.targets[key]
	if lv == nil {
		ctx, cancel := context.WithCancel(context.Background())
		lv = &live{ended: ctx, end: cancel}
		l.targets[key] = lv
	}
	return lv
}

// counter returns a group's round-robin counter.
func (l *lives) counter(group string) *atomic.Uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.rr[group]
	if c == nil {
		c = &atomic.Uint64{}
		l.rr[group] = c
	}
	return c
}

// update follows a new table: a target that started draining has its drain
// end scheduled, one that is gone ends now, and one registered again starts
// afresh.
func (l *lives) update(t *table, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	present := map[string]bool{}
	for _, g := range t.groups {
		for key, tr := range g.targets {
			present[key] = true
			lv := l.targets[key]
			if lv == nil {
				continue
			}
			switch {
			case tr.draining && lv.drainTimer == nil:
				lv.drainTimer = time.AfterFunc(tr.drainUntil.Sub(now), lv.end)
			case !tr.draining && lv.drainTimer != nil:
				// Registered again while draining: requests already ended
				// stay ended; new ones get a fresh state.
				lv.drainTimer.Stop()
				delete(l.targets, key)
			}
		}
	}
	for key, lv := range l.targets {
		if !present[key] {
			lv.end()
			if lv.drainTimer != nil {
				lv.drainTimer.Stop()
			}
			delete(l.targets, key)
		}
	}
	for arn := range l.rr {
		if t.groups[arn] == nil {
			delete(l.rr, arn)
		}
	}
}

// pick chooses the target of g a request goes to: the sticky one when the
// request names an eligible one, else by the group's algorithm; nil when g
// has no eligible target. Targets in slow start get a share of requests
// growing linearly from 0 to full over the group's slow start duration.
func pick(g *groupRoute, l *lives, sticky string, now time.Time) *targetRoute {
	eligible := g.eligible
	if len(eligible) == 0 {
		return nil
	}
	if sticky != "" {
		for _, tr := range eligible {
			if tr.key == sticky {
				return tr
			}
		}
	}
	if len(eligible) == 1 {
		return eligible[0]
	}
	switch g.algorithm {
	case "least_outstanding_requests":
		var best *targetRoute
		var bestN int64
		for _, tr := range eligible {
			n := l.of(tr.key).inflight.Load()
			if best == nil || n < bestN {
				best, bestN = tr, n
			}
		}
		return best
	case "weighted_random":
		return weighted(eligible, g, now)
	}
	// round_robin, skipping (with a probability) targets in slow start.
	c := l.counter(g.group.ARN)
	for range len(eligible) {
		tr := eligible[c.Add(1)%uint64(len(eligible))]
		if w := slowStartWeight(tr, g, now); w >= 1 || rand.Float64() < w {
			return tr
		}
	}
	return eligible[c.Add(1)%uint64(len(eligible))]
}

// weighted picks a target at random, each weighted by its slow start.
func weighted(eligible []*targetRoute, g *groupRoute, now time.Time) *targetRoute {
	total := 0.0
	for _, tr := range eligible {
		total += max(slowStartWeight(tr, g, now), 0.01)
	}
	x := rand.Float64() * total
	for _, tr := range eligible {
		x -= max(slowStartWeight(tr, g, now), 0.01)
		if x < 0 {
			return tr
		}
	}
	return eligible[len(eligible)-1]
}

// slowStartWeight is a target's share of a full target's requests: it
// grows from 0 to 1 over the group's slow start after the target turned
// healthy.
func slowStartWeight(tr *targetRoute, g *groupRoute, now time.Time) float64 {
	if g.slowStart <= 0 || tr.health.State != elbv2state.HealthHealthy || tr.health.CheckedAt.IsZero() {
		return 1
	}
	elapsed := now.Sub(tr.health.CheckedAt)
	if elapsed >= g.slowStart {
		return 1
	}
	return float64(elapsed) / float64(g.slowStart)
}

// pickGroup chooses the group of a forward action: the sticky one when the
// request names one of the action's, else one at random by weight.
func pickGroup(f *elbv2state.Forward, sticky string) string {
	if sticky != "" {
		for _, g := range f.TargetGroups {
			if g.ARN == sticky && g.Weight > 0 {
				return g.ARN
			}
		}
	}
	total := int32(0)
	for _, g := range f.TargetGroups {
		total += g.Weight
	}
	if total <= 0 {
		if len(f.TargetGroups) > 0 {
			return f.TargetGroups[0].ARN
		}
		return ""
	}
	x := rand.Int32N(total)
	for _, g := range f.TargetGroups {
		if x -= g.Weight; x < 0 {
			return g.ARN
		}
	}
	return f.TargetGroups[len(f.TargetGroups)-1].ARN
}
