// Package workqueue is the work queue berth's controllers share.
package workqueue

import (
	"sync"
	"time"
)

// Queue is a work queue of keys in the manner of Kubernetes' workqueue: a
// key queued several times is processed once, a key is never processed by
// two workers at once, and a key added while it is being
// processed is processed again afterwards.
type Queue struct {
	mu         sync.Mutex
	cond       *sync.Cond
	order      []string
	dirty      map[string]bool // queued, not yet handed out
	processing map[string]bool
	// due holds the earliest pending delayed add of each key.
	due      map[string]time.Time
	shutdown bool
}

// New returns an empty queue.
func New() *Queue {
	q := &Queue{dirty: map[string]bool{}, processing: map[string]bool{}, due: map[string]time.Time{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues key now.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown || q.dirty[key] {
		return
	}
	q.dirty[key] = true
	if !q.processing[key] {
		q.order = append(q.order, key)
		q.cond.Signal()
	}
}

// AddAfter queues key after d, unless it is already due sooner.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	at := time.Now().Add(d)
	q.mu.Lock()
	if cur, ok := q.due[key]; (ok && !cur.After(at)) || q.shutdown {
		q.mu.Unlock()
		return
	}
	q.due[key] = at
	q.mu.Unlock()
	time.AfterFunc(d, func() {
		q.mu.Lock()
		if q.due[key].Equal(at) {
			delete(q.due, key)
		}
		q.mu.Unlock()
		q.Add(key)
	})
}

// Get blocks until a key is ready or the queue shuts down (ok false).
func (q *Queue) Get() (key string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.order) == 0 && !q.shutdown {
		q.cond.Wait()
	}
	if q.shutdown {
		return "", false
	}
	key, q.order = q.order[0], q.order[1:]
	delete(q.dirty, key)
	q.processing[key] = true
	return key, true
}

// Done ends the processing of key, re-queuing it if it was added meanwhile.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if q.dirty[key] {
		q.order = append(q.order, key)
		q.cond.Signal()
	}
}

// Close shuts the queue down: Get returns ok false from then on.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutdown = true
	q.cond.Broadcast()
}
