package sdstate

import (
	"context"
	"strings"
	"time"

	"github.com/berth/berth/internal/store"
)

// CustomHealthDelay is how long after the first UpdateInstanceCustomHealthStatus
// asking for a new status Cloud Map changes it: "approximately 30
// seconds" (a repeat of the request does not hasten it). FailureThreshold
// is always 1 of these intervals.
const CustomHealthDelay = 30 * time.Second

// InitialHealth is a new instance's status: UNKNOWN without a health
// check; with a custom one, AWS_INIT_HEALTH_STATUS (HEALTHY unless it
// says UNHEALTHY); with a Route 53 one, healthy until a check fails.
func InitialHealth(svc Service, attrs map[string]string) string {
	switch {
	case svc.Custom != nil:
		if attrs[AttrInitHealth] == Unhealthy {
			return Unhealthy
		}
		return Healthy
	case svc.HealthCheck != nil:
		return Healthy
	}
	return Unknown
}

// AskHealth records a custom status asked for: a change takes effect
// CustomHealthDelay after the first request asking it; asking the status
// in effect cancels a pending change. It reports whether inst changed.
func (inst *Instance) AskHealth(status string, now time.Time) bool {
	switch {
	case status == inst.Health:
		if inst.Pending == "" {
			return false
		}
		inst.Pending, inst.PendingSince = "", time.Time{}
	case status == inst.Pending:
		return false
	default:
		inst.Pending, inst.PendingSince = status, now
	}
	return true
}

// Settle applies a pending status whose delay has passed, reporting
// whether it did.
func (inst *Instance) Settle(now time.Time) bool {
	if inst.Pending == "" || now.Before(inst.PendingSince.Add(CustomHealthDelay)) {
		return false
	}
	inst.Health, inst.Pending, inst.PendingSince = inst.Pending, "", time.Time{}
	return true
}

// Healthy reports whether DNS and DiscoverInstances count the instance as
// healthy: it is, or it has no health check.
func (inst Instance) Healthy() bool { return inst.Health != Unhealthy }

// SettleHealth applies every pending status whose delay has passed.
func SettleHealth(ctx context.Context, s store.Store, now time.Time) error {
	var due []string
	_, err := s.Range(ctx, InstancePrefix, func(kv store.KV) error {
		if strings.Contains(string(kv.Value), `"pending"`) {
			due = append(due, kv.Key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, key := range due {
		_, err := store.Update(ctx, s, key, func(inst *Instance, found bool) error {
			if !found || !inst.Settle(now) {
				return store.ErrUnchanged
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
