package userspace

import (
	"net/netip"
	"slices"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// pool chooses among the endpoints ("ip:port") one kind of a service port's traffic may
// reach: round robin, and with ClientIP affinity the endpoint a client last used while it
// used it within the affinity timeout. Safe for concurrent use.
type pool struct {
	clock clock.PassiveClock

	mu       sync.Mutex
	eps      []string
	next     int
	affinity time.Duration
	// sticky is each client's endpoint and when the client last used it; expired entries
	// go when the endpoints are set and when it grows past pruneAt.
	sticky  map[netip.Addr]stick
	pruneAt int
}

type stick struct {
	ep   string
	last time.Time
}

func newPool(c clock.PassiveClock) *pool {
	return &pool{clock: c, sticky: map[netip.Addr]stick{}}
}

// set replaces the endpoints and the affinity timeout (0: none). Clients stay with their
// endpoint while it remains; the rotation carries on where it was.
func (p *pool) set(eps []string, affinity time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.eps = eps
	if affinity != p.affinity {
		p.sticky = map[netip.Addr]stick{}
	}
	p.affinity = affinity
	p.prune()
}

// prune forgets the clients whose endpoint is gone or whose affinity expired.
func (p *pool) prune() {
	now := p.clock.Now()
	for client, s := range p.sticky {
		if !slices.Contains(p.eps, s.ep) || now.Sub(s.last) > p.affinity {
			delete(p.sticky, client)
		}
	}
	p.pruneAt = 2*len(p.sticky) + 1024
}

// pick returns the endpoint for a new connection from client; ok is false when there is
// none. retry says the endpoint picked last for this client failed: the next one in the
// rotation is taken, and it becomes the client's endpoint.
func (p *pool) pick(client netip.Addr, retry bool) (ep string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.eps) == 0 {
		return "", false
	}
	now := p.clock.Now()
	if p.affinity > 0 && !retry {
		if s, ok := p.sticky[client]; ok && now.Sub(s.last) <= p.affinity && slices.Contains(p.eps, s.ep) {
			p.sticky[client] = stick{ep: s.ep, last: now}
			return s.ep, true
		}
	}
	ep = p.eps[p.next%len(p.eps)]
	p.next = (p.next + 1) % len(p.eps)
	if p.affinity > 0 {
		if len(p.sticky) >= p.pruneAt {
			p.prune()
		}
		p.sticky[client] = stick{ep: ep, last: now}
	}
	return ep, true
}
