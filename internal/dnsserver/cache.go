package dnsserver

import (
	"sync"
	"time"

	"github.com/miekg/dns"
)

// cache keeps upstream answers for their TTL: positive ones for their
// records' smallest TTL, negative ones (NXDOMAIN, NODATA) for their SOA's
// (RFC 2308). When full, a new answer evicts one at random (Go's map
// order), expired or not: cheap, and fair enough for a resolver of a few
// hosts' tasks.
type cache struct {
	mu      sync.RWMutex
	entries map[string]*cached
	size    int
	now     func() time.Time
}

// cached is an upstream's answer (its OPT removed), never changed once
// stored: readers copy its records.
type cached struct {
	msg     *dns.Msg
	stored  time.Time
	expires time.Time
}

// maxCacheTTL bounds how long an answer is kept, whatever its TTL says
// (as unbound's cache-max-ttl).
const maxCacheTTL = 24 * time.Hour

func newCache(size int, now func() time.Time) *cache {
	return &cache{entries: map[string]*cached{}, size: size, now: now}
}

// cacheKey names an answer: the name lower-cased in wire form, and the
// type.
func cacheKey(key []byte, qtype uint16) string {
	return string(key) + string([]byte{byte(qtype >> 8), byte(qtype)})
}

// get is the answer stored under key, if it has not expired.
func (c *cache) get(key string) *cached {
	c.mu.RLock()
	e := c.entries[key]
	c.mu.RUnlock()
	if e == nil || !c.now().Before(e.expires) {
		return nil
	}
	return e
}

// put stores msg under key if it may be cached, and returns it as stored.
func (c *cache) put(key string, msg *dns.Msg) *cached {
	now := c.now()
	e := &cached{msg: msg, stored: now}
	ttl, ok := cacheTTL(msg)
	if !ok {
		e.expires = now
		return e
	}
	e.expires = now.Add(ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.size {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = e
	return e
}

// cacheTTL is how long msg may be kept: a positive answer for its
// records' smallest TTL, a negative one for its SOA's TTL or minimum,
// whichever is smaller. Failures, truncated answers and negative ones
// without an SOA are not kept.
func cacheTTL(msg *dns.Msg) (time.Duration, bool) {
	if msg.Truncated || (msg.Rcode != dns.RcodeSuccess && msg.Rcode != dns.RcodeNameError) {
		return 0, false
	}
	var ttl uint32
	var found bool
	lower := func(t uint32) {
		if !found || t < ttl {
			ttl, found = t, true
		}
	}
	if msg.Rcode == dns.RcodeSuccess && len(msg.Answer) > 0 {
		for _, sec := range [][]dns.RR{msg.Answer, msg.Ns} {
			for _, rr := range sec {
				lower(rr.Header().Ttl)
			}
		}
	} else {
		for _, rr := range msg.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				lower(min(soa.Hdr.Ttl, soa.Minttl))
			}
		}
	}
	if !found || ttl == 0 {
		return 0, false
	}
	return min(time.Duration(ttl)*time.Second, maxCacheTTL), true
}

// records are a section of e's answer as of now: copies, their TTLs less
// the time e has been kept.
func (e *cached) records(section []dns.RR, now time.Time) []dns.RR {
	age := uint32(max(now.Sub(e.stored), 0) / time.Second)
	out := make([]dns.RR, 0, len(section))
	for _, rr := range section {
		rr = dns.Copy(rr)
		rr.Header().Ttl -= min(age, rr.Header().Ttl)
		out = append(out, rr)
	}
	return out
}
