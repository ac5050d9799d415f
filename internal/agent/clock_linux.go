package agent

import (
	"time"

	"golang.org/x/sys/unix"
)

// readClockDrift reads the kernel's view of the clock's synchronisation
// (adjtimex, read-only): what Fargate reports as ClockDrift. The error
// bound is the kernel's maximum error, in milliseconds.
func readClockDrift(now time.Time) *clockDrift {
	var tx unix.Timex // Modes 0: read only
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return nil
	}
	status := clockSynchronized
	if state == unix.TIME_ERROR || tx.Status&unix.STA_UNSYNC != 0 {
		status = clockNotSynchronized
	}
	ref := now.UTC().Truncate(time.Second)
	return &clockDrift{
		ClockErrorBound:            float64(tx.Maxerror) / 1000,
		ReferenceTimestamp:         &ref,
		ClockSynchronizationStatus: status,
	}
}
