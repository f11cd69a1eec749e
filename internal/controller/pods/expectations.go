package pods

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// ExpectationsTimeout is how long expectations that were never observed hold a controller
// back (a lost watch event must not block it forever). Upstream's value.
const ExpectationsTimeout = 5 * time.Minute

// Expectations records, per owner key, the creations and deletions a controller has asked
// for and not yet seen in its informers. While they are pending the controller must not
// act on its cache again: it would count the pods it just created as missing.
//
// Deletions are tracked either by count (ExpectDeletionCount) or by the keys of the
// objects deleted (ExpectDeletions), in which case only the deletion of one of those keys
// lowers them, so an object seen deleted twice (deletionTimestamp set, then removed) counts
// once.
type Expectations struct {
	mu    sync.Mutex
	clock clock.PassiveClock
	m     map[string]*expectation
}

type expectation struct {
	adds, dels int
	// keys of the deletions still expected; nil when deletions are counted only.
	keys map[string]struct{}
	at   time.Time
}

// NewExpectations returns empty expectations timed by clk (nil: the real clock).
func NewExpectations(clk clock.PassiveClock) *Expectations {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Expectations{clock: clk, m: map[string]*expectation{}}
}

// Satisfied is true when the controller of key may act: no expectations were recorded,
// all were observed, or they expired.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	return (x.adds <= 0 && x.dels <= 0) || e.clock.Since(x.at) > ExpectationsTimeout
}

// ExpectCreations replaces the expectations of key with n creations.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.set(key, &expectation{adds: n})
}

// ExpectDeletionCount replaces the expectations of key with n deletions, counted by
// DeletionObserved whatever object it names.
func (e *Expectations) ExpectDeletionCount(key string, n int) {
	e.set(key, &expectation{dels: n})
}

// ExpectDeletions replaces the expectations of key with the deletion of the objects
// objKeys (e.g. "namespace/name" of pods).
func (e *Expectations) ExpectDeletions(key string, objKeys []string) {
	x := &expectation{keys: make(map[string]struct{}, len(objKeys))}
	for _, k := range objKeys {
		x.keys[k] = struct{}{}
	}
	x.dels = len(x.keys)
	e.set(key, x)
}

func (e *Expectations) set(key string, x *expectation) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x.at = e.clock.Now()
	e.m[key] = x
}

// CreationObserved lowers the expected creations of key by one.
func (e *Expectations) CreationObserved(key string) { e.LowerCreations(key, 1) }

// LowerCreations lowers the expected creations of key by n: creations that failed or
// were skipped will never be observed.
func (e *Expectations) LowerCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.adds -= n
	}
}

// DeletionObserved records that objKey was deleted (or its deletion failed for good).
// With keyed deletions only an expected key counts, once.
func (e *Expectations) DeletionObserved(key, objKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return
	}
	if x.keys != nil {
		if _, expected := x.keys[objKey]; !expected {
			return
		}
		delete(x.keys, objKey)
	}
	x.dels--
}

// Pending returns the creations and deletions of key still expected.
func (e *Expectations) Pending(key string) (adds, dels int, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return 0, 0, false
	}
	return x.adds, x.dels, true
}

// Forget drops the expectations of key (its owner was deleted).
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
