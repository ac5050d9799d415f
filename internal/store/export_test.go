package store

import "time"

// SetRetryFor shortens Retry's bound for a test and returns what restores it.
func SetRetryFor(d time.Duration) (restore func()) {
	old := retryFor
	retryFor = d
	return func() { retryFor = old }
}
