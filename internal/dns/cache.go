package dns

import (
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// cacheKey identifies a forwarded question. The DO bit is part of it: answers with and
// without DNSSEC records differ.
type cacheKey struct {
	name          string
	qtype, qclass uint16
	do            bool
}

func keyOf(q dns.Question, do bool) cacheKey {
	return cacheKey{name: strings.ToLower(q.Name), qtype: q.Qtype, qclass: q.Qclass, do: do}
}

type cacheEntry struct {
	msg     *dns.Msg
	stored  time.Time
	expires time.Time
}

// answerCache keeps upstream answers for as long as their TTLs allow. Safe for concurrent
// use.
type answerCache struct {
	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
	// max entries; when full, an arbitrary entry (and any expired ones met) is evicted.
	max int
	// maxTTL caps positive answers, maxNegTTL negative ones; negTTL is used for negative
	// answers that carry no SOA.
	maxTTL, maxNegTTL, negTTL time.Duration
	now                       func() time.Time
}

func newAnswerCache(max int, now func() time.Time) *answerCache {
	return &answerCache{
		entries: make(map[cacheKey]cacheEntry), max: max,
		maxTTL: time.Hour, maxNegTTL: 30 * time.Minute, negTTL: 5 * time.Second, now: now,
	}
}

// cacheTTL is how long msg may be cached: the smallest TTL of its records for a positive
// answer; for NXDOMAIN and NODATA the SOA's min(TTL, MINIMUM) (RFC 2308), else negTTL.
// Zero means do not cache (errors, truncated answers, TTL 0).
func cacheTTL(msg *dns.Msg, maxTTL, maxNegTTL, negTTL time.Duration) time.Duration {
	if msg.Truncated {
		return 0
	}
	negative := msg.Rcode == dns.RcodeNameError || (msg.Rcode == dns.RcodeSuccess && len(msg.Answer) == 0)
	if msg.Rcode != dns.RcodeSuccess && msg.Rcode != dns.RcodeNameError {
		return 0
	}
	if negative {
		for _, rr := range msg.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				return min(time.Duration(min(soa.Hdr.Ttl, soa.Minttl))*time.Second, maxNegTTL)
			}
		}
		return negTTL
	}
	ttl := uint32(1<<32 - 1)
	for _, section := range [][]dns.RR{msg.Answer, msg.Ns, msg.Extra} {
		for _, rr := range section {
			if rr.Header().Rrtype == dns.TypeOPT {
				continue
			}
			ttl = min(ttl, rr.Header().Ttl)
		}
	}
	return min(time.Duration(ttl)*time.Second, maxTTL)
}

// get returns a copy of the cached answer with its TTLs lowered by the time it has spent
// in the cache.
func (c *answerCache) get(k cacheKey) (*dns.Msg, bool) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[k]
	if ok && !now.Before(e.expires) {
		delete(c.entries, k)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	m := e.msg.Copy()
	age := uint32(now.Sub(e.stored) / time.Second)
	for _, section := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range section {
			h := rr.Header()
			if h.Rrtype == dns.TypeOPT {
				continue
			}
			if h.Ttl > age {
				h.Ttl -= age
			} else {
				h.Ttl = 0
			}
		}
	}
	return m, true
}

// put stores msg (a copy) when it may be cached.
func (c *answerCache) put(k cacheKey, msg *dns.Msg) {
	ttl := cacheTTL(msg, c.maxTTL, c.maxNegTTL, c.negTTL)
	if ttl <= 0 || c.max <= 0 {
		return
	}
	now := c.now()
	m := msg.Copy()
	m.Extra = withoutOPT(m.Extra)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[k] = cacheEntry{msg: m, stored: now, expires: now.Add(ttl)}
}

// evict removes expired entries met in a short walk of the map and, if none was, one
// arbitrary entry. Called with mu held.
func (c *answerCache) evict(now time.Time) {
	removed, walked := 0, 0
	var victim cacheKey
	for k, e := range c.entries {
		if walked == 0 {
			victim = k
		}
		if !now.Before(e.expires) {
			delete(c.entries, k)
			removed++
		}
		if walked++; walked >= 16 {
			break
		}
	}
	if removed == 0 {
		delete(c.entries, victim)
	}
}

func (c *answerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func withoutOPT(rrs []dns.RR) []dns.RR {
	out := rrs[:0]
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}
