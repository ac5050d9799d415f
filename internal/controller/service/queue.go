package service

import (
	"sync"
	"time"
)

// queue is a work queue of service keys in the manner of Kubernetes'
// workqueue: a key queued several times is processed once, a key is never
// processed by two workers at once, and a key added while it is being
// processed is processed again afterwards.
type queue struct {
	mu         sync.Mutex
	cond       *sync.Cond
	order      []string
	dirty      map[string]bool // queued, not yet handed out
	processing map[string]bool
	// due holds the earliest pending delayed add of each key.
	due      map[string]time.Time
	shutdown bool
}

func newQueue() *queue {
	q := &queue{dirty: map[string]bool{}, processing: map[string]bool{}, due: map[string]time.Time{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// add queues key now.
func (q *queue) add(key string) {
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

// addAfter queues key after d, unless it is already due sooner.
func (q *queue) addAfter(key string, d time.Duration) {
	if d <= 0 {
		q.add(key)
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
		q.add(key)
	})
}

// get blocks until a key is ready or the queue shuts down (ok false).
func (q *queue) get() (key string, ok bool) {
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

// done ends the processing of key, re-queuing it if it was added meanwhile.
func (q *queue) done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if q.dirty[key] {
		q.order = append(q.order, key)
		q.cond.Signal()
	}
}

func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutdown = true
	q.cond.Broadcast()
}
