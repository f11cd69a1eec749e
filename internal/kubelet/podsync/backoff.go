package podsync

import (
	"sync"
	"time"
)

// Backoff is upstream's crash back-off: the first restart of a container is immediate,
// then it waits 10 s, doubling up to 5 minutes; a container whose last restart is older
// than twice the maximum starts over. Keys are usually "<pod uid>/<container name>". It
// is safe for concurrent use.
type Backoff struct {
	Initial, Max time.Duration

	mu      sync.Mutex
	entries map[string]backoffEntry
}

type backoffEntry struct {
	delay      time.Duration
	lastUpdate time.Time
}

// NewBackoff returns a back-off of initial doubling up to max.
func NewBackoff(initial, max time.Duration) *Backoff {
	return &Backoff{Initial: initial, Max: max, entries: map[string]backoffEntry{}}
}

// Wait tells how long a restart of key must still wait at now, given that the last
// instance finished at finishedAt, and the current delay (for the waiting message).
func (b *Backoff) Wait(key string, finishedAt, now time.Time) (wait, delay time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || now.Sub(e.lastUpdate) > 2*b.Max {
		return 0, 0
	}
	if elapsed := now.Sub(finishedAt); elapsed < e.delay {
		return e.delay - elapsed, e.delay
	}
	return 0, e.delay
}

// Next records a restart of key at now and grows its delay.
func (b *Backoff) Next(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || now.Sub(e.lastUpdate) > 2*b.Max {
		e = backoffEntry{delay: b.Initial}
	} else {
		e.delay = min(2*e.delay, b.Max)
	}
	e.lastUpdate = now
	b.entries[key] = e
}

// Forget drops every key for which drop returns true (e.g. the keys of a removed pod).
func (b *Backoff) Forget(drop func(key string) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.entries {
		if drop(k) {
			delete(b.entries, k)
		}
	}
}
