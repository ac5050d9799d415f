package blob

import (
	"sync"

	"github.com/opencontainers/go-digest"
)

// DigestLocks is a mutex per digest, held briefly; an entry lives while
// it is in use. The zero value is ready.
type DigestLocks struct {
	mu sync.Mutex
	m  map[digest.Digest]*digestLock
}

type digestLock struct {
	sync.Mutex
	refs int
}

// Lock locks d's mutex and returns its unlock.
func (l *DigestLocks) Lock(d digest.Digest) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[digest.Digest]*digestLock)
	}
	e := l.m[d]
	if e == nil {
		e = &digestLock{}
		l.m[d] = e
	}
	e.refs++
	l.mu.Unlock()
	e.Lock()
	return func() {
		e.Unlock()
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.m, d)
		}
		l.mu.Unlock()
	}
}
