package storage

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/btree"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// btreeDegree is the fan-out of the cache's tree.
const btreeDegree = 32

// Continue snapshots: a paginated list from the cache keeps the tree it listed (a lazy
// copy-on-write clone) so that its continuations read the same state without etcd.
const (
	snapshotTTL  = time.Minute
	maxSnapshots = 32
)

func newTree() *btree.BTreeG[*item] { return btree.NewG(btreeDegree, itemLess) }

// event is one change of one key, as an unfiltered watcher sees it.
type event struct {
	typ  watch.EventType // Added, Modified or Deleted
	key  string
	rev  int64
	cur  *item // nil for Deleted
	prev *item // nil for Added
	at   time.Time
	gone runtime.Object // prev at rev; built on first need, under watchCache.mu
}

// prevAtRev is the previous state with the event's resourceVersion: the object of a DELETED
// event, for real deletes and for objects leaving a watcher's selector alike.
func (e *event) prevAtRev() runtime.Object {
	if e.gone == nil {
		e.gone = copyAtRev(e.prev.obj, e.rev)
	}
	return e.gone
}

// change is one decoded etcd event, ready to apply.
type change struct {
	key string
	rev int64
	cur *item // nil for a delete
	// skip marks a change that could not be decoded: only the revision advances.
	skip bool
}

type snapshot struct {
	tree    *btree.BTreeG[*item]
	expires time.Time
}

// watchCache holds the current state of every object of the resource, the recent events and
// the watchers. All fields are guarded by mu; everything reachable from them is immutable.
type watchCache struct {
	s         *Store
	histMax   int
	histAge   time.Duration
	bufferMax int

	mu   sync.Mutex
	tree *btree.BTreeG[*item]
	// rev is the revision the cache reflects: every event up to rev has been applied.
	rev int64
	// minRev: the history holds every event with a revision above minRev.
	minRev int64
	// hist is the event history, oldest first.
	hist []*event
	// revWait is closed when rev advances; nil while nobody waits.
	revWait   chan struct{}
	watchers  map[*watcher]struct{}
	snapshots map[int64]snapshot
	stopped   bool // the Store stopped: no new watchers
}

func newWatchCache(s *Store, histMax int, histAge time.Duration, bufferMax int) *watchCache {
	return &watchCache{
		s:         s,
		histMax:   histMax,
		histAge:   histAge,
		bufferMax: bufferMax,
		tree:      newTree(),
		watchers:  map[*watcher]struct{}{},
		snapshots: map[int64]snapshot{},
	}
}

// replace installs a fresh list at rev. Watchers cannot follow across a relist (the events in
// between are unknown), so they are terminated and their clients re-watch.
func (c *watchCache) replace(tree *btree.BTreeG[*item], rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tree = tree
	clear(c.hist)
	c.hist = nil
	c.minRev = rev
	c.terminateLocked()
	c.setRevLocked(rev)
}

// apply applies the changes of one etcd watch response, in order, and fans them out.
func (c *watchCache) apply(changes []change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.s.clock.Now()
	for _, ch := range changes {
		if ch.rev < c.rev {
			continue // already reflected (cannot happen with a correct watch; be safe)
		}
		var e *event
		switch {
		case ch.skip:
			c.setRevLocked(ch.rev)
			continue
		case ch.cur != nil:
			prev, had := c.tree.ReplaceOrInsert(ch.cur)
			e = &event{typ: watch.Added, key: ch.key, rev: ch.rev, cur: ch.cur, at: now}
			if had {
				e.typ, e.prev = watch.Modified, prev
			}
		default:
			prev, had := c.tree.Delete(pivot(ch.key))
			if !had {
				c.setRevLocked(ch.rev)
				continue
			}
			e = &event{typ: watch.Deleted, key: ch.key, rev: ch.rev, prev: prev, at: now}
		}
		c.setRevLocked(ch.rev)
		c.record(e)
		for w := range c.watchers {
			if !w.offer(e) {
				c.dropLocked(w)
			}
		}
	}
}

// progress records that etcd reported every event up to rev.
func (c *watchCache) progress(rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setRevLocked(rev)
}

func (c *watchCache) setRevLocked(rev int64) {
	if rev <= c.rev {
		return
	}
	c.rev = rev
	if c.revWait != nil {
		close(c.revWait)
		c.revWait = nil
	}
}

// record appends e to the history, evicting the oldest event when full.
func (c *watchCache) record(e *event) {
	if len(c.hist) >= c.histMax {
		c.minRev = c.hist[0].rev
		c.hist[0] = nil
		c.hist = c.hist[1:]
	}
	c.hist = append(c.hist, e)
}

// since returns the recorded events with a revision above rev.
func (c *watchCache) since(rev int64) []*event {
	i := sort.Search(len(c.hist), func(i int) bool { return c.hist[i].rev > rev })
	return c.hist[i:]
}

// currentRev is the revision the cache reflects.
func (c *watchCache) currentRev() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rev
}

// waitFor returns once the cache reflects rev, or a 504 "Too large resource version" after
// the Store's ResourceVersionTimeout.
func (c *watchCache) waitFor(ctx context.Context, rev int64) error {
	c.mu.Lock()
	if c.rev >= rev {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()

	done := c.s.awaitProgress()
	defer done()
	timer := c.s.clock.NewTimer(c.s.rvTimeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		cur := c.rev
		if cur >= rev {
			c.mu.Unlock()
			return nil
		}
		if c.revWait == nil {
			c.revWait = make(chan struct{})
		}
		wait := c.revWait
		c.mu.Unlock()
		select {
		case <-wait:
		case <-timer.C():
			return tooLargeRV(rev, cur)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// get returns the cached item at key, or nil, with the cache's revision.
func (c *watchCache) get(key string) (*item, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, _ := c.tree.Get(pivot(key))
	return it, c.rev
}

// snapshot returns an immutable view of the current state and its revision. The clone is
// lazy (copy-on-write), so it costs O(1) here and a few node copies on later writes.
func (c *watchCache) snapshot() (*btree.BTreeG[*item], int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tree.Clone(), c.rev
}

// snapshotAt returns a view of the state at rev: the current state or a kept continue
// snapshot; nil when neither.
func (c *watchCache) snapshotAt(rev int64) *btree.BTreeG[*item] {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev == c.rev {
		return c.tree.Clone()
	}
	if sn, ok := c.snapshots[rev]; ok && c.s.clock.Now().Before(sn.expires) {
		return sn.tree
	}
	return nil
}

// keepSnapshot keeps tree, the state at rev, for the continuations of a paginated list.
func (c *watchCache) keepSnapshot(rev int64, tree *btree.BTreeG[*item]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.s.clock.Now()
	if _, ok := c.snapshots[rev]; !ok && len(c.snapshots) >= maxSnapshots {
		var oldest int64 = -1
		for r := range c.snapshots {
			if oldest < 0 || r < oldest {
				oldest = r
			}
		}
		delete(c.snapshots, oldest)
	}
	c.snapshots[rev] = snapshot{tree: tree, expires: now.Add(snapshotTTL)}
}

// housekeep drops expired snapshots and events older than the history's maximum age.
func (c *watchCache) housekeep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.s.clock.Now()
	for r, sn := range c.snapshots {
		if !now.Before(sn.expires) {
			delete(c.snapshots, r)
		}
	}
	if c.histAge < 0 {
		return
	}
	n := 0
	for n < len(c.hist) && now.Sub(c.hist[n].at) > c.histAge {
		c.minRev = c.hist[n].rev
		c.hist[n] = nil
		n++
	}
	c.hist = c.hist[n:]
}

// bookmark sends every watcher that allows bookmarks one at the current revision.
func (c *watchCache) bookmark() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.watchers) == 0 {
		return
	}
	obj := c.s.newFunc()
	_ = setRV(obj, c.rev)
	ev := watch.Event{Type: watch.Bookmark, Object: obj}
	for w := range c.watchers {
		// A watch from a revision the cache has not reached yet gets no bookmark: it would
		// take the client back.
		if w.bookmarks && c.rev >= w.startRev && !w.push(ev) {
			c.dropLocked(w)
		}
	}
}

// bookmarkOne sends w a bookmark at the current revision, unless the cache has not reached
// w's starting revision yet.
func (c *watchCache) bookmarkOne(w *watcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.watchers[w]; !ok || c.rev < w.startRev {
		return
	}
	obj := c.s.newFunc()
	_ = setRV(obj, c.rev)
	if !w.push(watch.Event{Type: watch.Bookmark, Object: obj}) {
		c.dropLocked(w)
	}
}

// register adds w: with the current state as initial events when initial, else replaying the
// history after from (from == 0: no replay, start now). It fails with 410 when from is older
// than the history.
func (c *watchCache) register(w *watcher, initial bool, from int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return apierrors.NewServiceUnavailable(fmt.Sprintf("the storage of %s is stopped", c.s.resource))
	}
	switch {
	case initial:
		w.snap = c.tree.Clone()
		w.startRev = c.rev
		if w.sendEnd {
			w.endBookmark = c.s.initialEventsEnd(c.rev)
		}
	case from == 0:
		w.startRev = c.rev
	default:
		if from < c.minRev {
			return tooOldRV(from, c.minRev)
		}
		w.startRev = from
		for _, e := range c.since(from) {
			if ev, ok := w.convert(e); ok {
				w.backlog = append(w.backlog, ev)
			}
		}
	}
	c.watchers[w] = struct{}{}
	return nil
}

// remove forgets w; it is idempotent.
func (c *watchCache) remove(w *watcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.watchers, w)
}

func (c *watchCache) dropLocked(w *watcher) {
	delete(c.watchers, w)
	w.terminate()
}

func (c *watchCache) terminateLocked() {
	for w := range c.watchers {
		c.dropLocked(w)
	}
}

// stop ends every watch and refuses new ones.
func (c *watchCache) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	c.terminateLocked()
}
