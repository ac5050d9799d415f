//go:build !linux

package agent

import "time"

// readClockDrift has nothing to read outside Linux.
func readClockDrift(time.Time) *clockDrift { return nil }
