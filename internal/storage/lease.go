package storage

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/utils/clock"
)

// Lease reuse, as upstream: objects whose TTLs end close together share one etcd lease, so a
// burst of events (TTL 1h) does not create a lease each. A lease is granted with a little
// extra time (5% of the TTL, at most a minute) and reused while a new object's deadline falls
// inside that extra window, for at most leaseMaxObjects objects.
const (
	leaseReuseFraction = 0.05
	leaseReuseMax      = 60 // seconds
	leaseMaxObjects    = 1000
)

type leaseManager struct {
	client *clientv3.Client
	clock  clock.PassiveClock

	mu      sync.Mutex
	id      clientv3.LeaseID
	expires time.Time // when the current lease ends
	objects int       // objects attached to the current lease
}

func newLeaseManager(client *clientv3.Client, clk clock.PassiveClock) *leaseManager {
	return &leaseManager{client: client, clock: clk}
}

// lease returns a lease that keeps an object for at least ttl seconds and not much longer.
func (l *leaseManager) lease(ctx context.Context, ttl int64) (clientv3.LeaseID, error) {
	extra := min(int64(leaseReuseFraction*float64(ttl)), leaseReuseMax)
	now := l.clock.Now()
	deadline := now.Add(time.Duration(ttl) * time.Second)

	l.mu.Lock()
	defer l.mu.Unlock()
	// The current lease fits when it outlives the deadline by no more than the extra window.
	if l.id != 0 && l.objects < leaseMaxObjects && !l.expires.Before(deadline) &&
		l.expires.Sub(deadline) <= time.Duration(extra)*time.Second {
		l.objects++
		return l.id, nil
	}
	resp, err := l.client.Grant(ctx, ttl+extra)
	if err != nil {
		return 0, err
	}
	l.id, l.expires, l.objects = resp.ID, now.Add(time.Duration(ttl+extra)*time.Second), 1
	return l.id, nil
}
