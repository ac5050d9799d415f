package logdata

import (
	"container/list"
	"errors"
	"os"
	"sync"
)

// errFileRemoved: the segment was deleted or replaced after the caller
// looked it up; readers skip it (they may return fewer events).
var errFileRemoved = errors.New("logdata: segment removed")

// segFile is a segment file that is opened on demand. A file in use (refs >
// 0) stays open, so a reader that started on a segment finishes it even if
// Expire or Delete unlinks it meanwhile; an unused one is closed when the
// cache holds too many, so that 10,000 streams need not mean 10,000 fds.
type segFile struct {
	path     string
	writable bool
	f        *os.File
	refs     int
	removed  bool
	idle     *list.Element
}

func newSegFile(path string, writable bool) *segFile {
	return &segFile{path: path, writable: writable}
}

// fileCache bounds the open segment files: unused open files form an LRU
// list, and the least recently used are closed while more than max are open.
type fileCache struct {
	mu     sync.Mutex
	max    int
	open   int
	peak   int // most files open at once, for tests
	idle   list.List
	closed bool
}

// acquire returns sf's open file; the caller must release it.
func (c *fileCache) acquire(sf *segFile) (*os.File, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, ErrClosed
	case sf.removed:
		return nil, errFileRemoved
	}
	if sf.f == nil {
		flag := os.O_RDONLY
		if sf.writable {
			flag = os.O_RDWR
		}
		f, err := os.OpenFile(sf.path, flag, 0)
		if err != nil {
			return nil, err
		}
		sf.f = f
		c.open++
		c.peak = max(c.peak, c.open)
	}
	if sf.idle != nil {
		c.idle.Remove(sf.idle)
		sf.idle = nil
	}
	sf.refs++
	c.evictLocked()
	return sf.f, nil
}

func (c *fileCache) release(sf *segFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sf.refs--
	if sf.refs > 0 {
		return
	}
	if sf.removed || c.closed {
		c.closeLocked(sf)
		return
	}
	sf.idle = c.idle.PushFront(sf)
	c.evictLocked()
}

// remove makes sf unavailable to new readers and closes it once unused; the
// caller then unlinks or replaces the file.
func (c *fileCache) remove(sf *segFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sf.removed = true
	if sf.refs == 0 {
		c.closeLocked(sf)
	}
}

// setReadOnly makes later opens of a sealed segment read-only.
func (c *fileCache) setReadOnly(sf *segFile) {
	c.mu.Lock()
	sf.writable = false
	c.mu.Unlock()
}

func (c *fileCache) evictLocked() {
	for c.open > c.max && c.idle.Len() > 0 {
		c.closeLocked(c.idle.Back().Value.(*segFile))
	}
}

func (c *fileCache) closeLocked(sf *segFile) {
	if sf.idle != nil {
		c.idle.Remove(sf.idle)
		sf.idle = nil
	}
	if sf.f != nil {
		sf.f.Close()
		sf.f = nil
		c.open--
	}
}

// close closes the unused files now and the others when released.
func (c *fileCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for c.idle.Len() > 0 {
		c.closeLocked(c.idle.Back().Value.(*segFile))
	}
}
