package nodelifecycle

import (
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// zoneState is the health of a zone, which sets its eviction rate.
type zoneState string

const (
	stateNormal            zoneState = "Normal"
	statePartialDisruption zoneState = "PartialDisruption"
	stateFullDisruption    zoneState = "FullDisruption"
)

// zoneOf keys a node's zone by its region and zone labels, as upstream does; nodes
// without them share the "" zone.
func zoneOf(node *corev1.Node) string {
	region, zone := node.Labels[corev1.LabelTopologyRegion], node.Labels[corev1.LabelTopologyZone]
	if region == "" {
		region = node.Labels[corev1.LabelFailureDomainBetaRegion]
	}
	if zone == "" {
		zone = node.Labels[corev1.LabelFailureDomainBetaZone]
	}
	if region == "" && zone == "" {
		return ""
	}
	return region + ":\x00:" + zone
}

// rates are the eviction tunables.
type rates struct {
	Primary, Secondary float64
	LargeClusterSize   int
}

// computeZoneState classifies a zone by its ready and not-ready node counts: fully
// disrupted when no node is ready, partly when more than two and at least the threshold
// fraction are not ready.
func computeZoneState(ready, notReady int, threshold float64) zoneState {
	switch {
	case ready == 0 && notReady > 0:
		return stateFullDisruption
	case notReady > 2 && float64(notReady)/float64(ready+notReady) >= threshold:
		return statePartialDisruption
	}
	return stateNormal
}

// zoneRate is how many nodes per second may be tainted for eviction in a zone of size
// nodes in state: the primary rate when healthy or fully down (a whole zone failing is
// a real outage), the secondary rate when partly down in a large zone, none in a small one.
func zoneRate(state zoneState, size int, r rates) float64 {
	if state == statePartialDisruption {
		if size > r.LargeClusterSize {
			return r.Secondary
		}
		return 0
	}
	return r.Primary
}

// tokenBucket lets rate events per second through with a burst of one.
type tokenBucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64, now time.Time) *tokenBucket {
	return &tokenBucket{rate: rate, tokens: 1, last: now}
}

func (b *tokenBucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = math.Min(1, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
}

// take uses a token if one is there.
func (b *tokenBucket) take(now time.Time) bool {
	b.refill(now)
	if b.rate <= 0 || b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// wait is how long until the next token; false when none will come.
func (b *tokenBucket) wait(now time.Time) (time.Duration, bool) {
	b.refill(now)
	if b.rate <= 0 {
		return 0, false
	}
	if b.tokens >= 1 {
		return 0, true
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second)), true
}

// setRate changes the rate; a changed bucket starts full, as upstream's swap of limiters.
func (b *tokenBucket) setRate(rate float64, now time.Time) {
	if rate != b.rate {
		b.rate, b.tokens, b.last = rate, 1, now
	}
}

// fifo is a zone's queue of nodes waiting to be tainted, each once.
type fifo struct {
	names []string
	in    map[string]bool
}

func (q *fifo) push(name string) {
	if q.in == nil {
		q.in = map[string]bool{}
	}
	if !q.in[name] {
		q.in[name] = true
		q.names = append(q.names, name)
	}
}

func (q *fifo) remove(name string) {
	if !q.in[name] {
		return
	}
	delete(q.in, name)
	for i, n := range q.names {
		if n == name {
			q.names = append(q.names[:i], q.names[i+1:]...)
			return
		}
	}
}

func (q *fifo) pop() (string, bool) {
	if len(q.names) == 0 {
		return "", false
	}
	n := q.names[0]
	q.names = q.names[1:]
	delete(q.in, n)
	return n, true
}

func (q *fifo) len() int { return len(q.names) }
