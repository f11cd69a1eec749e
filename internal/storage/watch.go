package storage

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/google/btree"
	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// WatchOptions selects what a watch sees and from when.
type WatchOptions struct {
	// Prefix is the key prefix to watch: Key("", "") for everything, Key(namespace, "") for
	// one namespace. Empty means everything.
	Prefix string
	// ResourceVersion: "" or "0" (without SendInitialEvents) sends a synthetic ADDED per
	// existing object, then changes; N sends only changes after N, or a single ERROR event
	// with a 410 Expired Status when N is older than the cache's event history.
	ResourceVersion string
	// Label and Field filter objects; nil means everything. An object that starts matching
	// arrives as ADDED, one that stops matching as DELETED (with its previous state).
	Label labels.Selector
	Field fields.Selector
	// AllowBookmarks asks for BOOKMARK events (an empty object of the kind carrying only
	// metadata.resourceVersion): every BookmarkInterval, and two seconds before the
	// deadline of the watch's context, as upstream.
	AllowBookmarks bool
	// SendInitialEvents true sends the state as ADDED events (consistent when
	// ResourceVersion is "", any state when "0", at least N otherwise), then a BOOKMARK
	// annotated k8s.io/initial-events-end: "true", then changes. False sends only changes
	// (from now when ResourceVersion is "" or "0"). Nil is the legacy behaviour above.
	SendInitialEvents *bool
}

// Watch starts a watch of the cache. The watch ends, closing its result channel, when ctx
// ends, Stop is called on it or on the Store, the cache relists, or the watcher falls more
// than WatcherBuffer events behind. Events arrive in revision order, each once. Event
// objects are shared with the cache and other watchers: treat them as read-only.
func (s *Store) Watch(ctx context.Context, opts WatchOptions) (watch.Interface, error) {
	prefix, err := s.rangePrefix(opts.Prefix)
	if err != nil {
		return nil, err
	}
	rv, err := parseRV(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	w := &watcher{
		c:         s.cache,
		prefix:    prefix,
		label:     nonEmptyLabels(opts.Label),
		field:     nonEmptyFields(opts.Field),
		bookmarks: opts.AllowBookmarks,
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		result:    make(chan watch.Event),
	}
	var initial bool
	switch {
	case opts.SendInitialEvents != nil && *opts.SendInitialEvents:
		initial, w.sendEnd = true, true
		minRV := rv
		if opts.ResourceVersion == "" {
			if minRV, err = s.currentRev(ctx); err != nil {
				return nil, err
			}
		}
		if err := s.cache.waitFor(ctx, minRV); err != nil {
			return nil, err
		}
	case opts.SendInitialEvents != nil:
		initial = false
	default:
		initial = rv == 0
	}
	if err := s.cache.register(w, initial, rv); err != nil {
		if apierrors.IsResourceExpired(err) {
			return errorWatch(err.(apierrors.APIStatus).Status()), nil
		}
		return nil, err
	}
	go w.run(ctx)
	return w, nil
}

// initialEventsEnd is the bookmark that ends the initial events of a watch.
func (s *Store) initialEventsEnd(rev int64) runtime.Object {
	obj := s.newFunc()
	_ = setRV(obj, rev)
	if m, err := metaOf(obj); err == nil {
		m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	return obj
}

// watcher is one watch of the cache. The cache offers it events under the cache's lock; its
// own goroutine delivers them to result.
type watcher struct {
	c         *watchCache
	prefix    string
	label     labels.Selector // nil matches everything
	field     fields.Selector // nil matches everything
	bookmarks bool
	sendEnd   bool

	// Set by register, read by run.
	startRev    int64
	snap        *btree.BTreeG[*item] // state to send as ADDED first, nil for none
	endBookmark runtime.Object       // sent after snap
	backlog     []watch.Event        // replayed history, sent before queue

	mu    sync.Mutex
	queue []watch.Event

	wake   chan struct{}
	done   chan struct{}
	once   sync.Once
	result chan watch.Event
}

// ResultChan implements watch.Interface.
func (w *watcher) ResultChan() <-chan watch.Event { return w.result }

// Stop implements watch.Interface.
func (w *watcher) Stop() {
	w.c.remove(w)
	w.terminate()
}

func (w *watcher) terminate() { w.once.Do(func() { close(w.done) }) }

func (w *watcher) matches(it *item) bool {
	return (w.label == nil || w.label.Matches(it.labels)) && (w.field == nil || w.field.Matches(it.fields))
}

// convert turns a cache event into what this watcher sees, if anything.
func (w *watcher) convert(e *event) (watch.Event, bool) {
	if e.rev <= w.startRev || !strings.HasPrefix(e.key, w.prefix) {
		return watch.Event{}, false
	}
	cur := e.cur != nil && w.matches(e.cur)
	prev := e.prev != nil && w.matches(e.prev)
	switch {
	case cur && prev:
		return watch.Event{Type: watch.Modified, Object: e.cur.obj}, true
	case cur:
		return watch.Event{Type: watch.Added, Object: e.cur.obj}, true
	case prev:
		return watch.Event{Type: watch.Deleted, Object: e.prevAtRev()}, true
	}
	return watch.Event{}, false
}

// offer queues e if the watcher wants it; false means the watcher is too far behind.
func (w *watcher) offer(e *event) bool {
	ev, ok := w.convert(e)
	if !ok {
		return true
	}
	return w.push(ev)
}

// push queues ev; false means the queue is full.
func (w *watcher) push(ev watch.Event) bool {
	w.mu.Lock()
	if len(w.queue) >= w.c.bufferMax {
		w.mu.Unlock()
		return false
	}
	w.queue = append(w.queue, ev)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

// run delivers the initial state, the replayed history and then queued events.
func (w *watcher) run(ctx context.Context) {
	defer close(w.result)
	defer w.Stop()
	if w.snap != nil {
		ok := true
		w.snap.AscendRange(pivot(w.prefix), pivot(clientv3.GetPrefixRangeEnd(w.prefix)), func(it *item) bool {
			if w.matches(it) {
				ok = w.send(ctx, watch.Event{Type: watch.Added, Object: it.obj})
			}
			return ok
		})
		w.snap = nil
		if !ok {
			return
		}
	}
	if w.endBookmark != nil && !w.send(ctx, watch.Event{Type: watch.Bookmark, Object: w.endBookmark}) {
		return
	}
	for _, ev := range w.backlog {
		if !w.send(ctx, ev) {
			return
		}
	}
	w.backlog = nil
	preTimeout, stopTimer := w.preTimeoutBookmark(ctx)
	defer stopTimer()
	for {
		select {
		case <-w.wake:
		case <-preTimeout:
			w.c.bookmarkOne(w)
			continue
		case <-w.done:
			return
		case <-ctx.Done():
			return
		}
		w.mu.Lock()
		batch := w.queue
		w.queue = nil
		w.mu.Unlock()
		for i, ev := range batch {
			if !w.send(ctx, ev) {
				return
			}
			batch[i] = watch.Event{}
		}
	}
}

// preTimeoutBookmark returns a channel that fires two seconds before ctx's deadline when the
// watcher allows bookmarks, as upstream's cacher does: the client then resumes from a fresh
// resourceVersion after the server ends the watch. It never fires otherwise.
func (w *watcher) preTimeoutBookmark(ctx context.Context) (<-chan time.Time, func()) {
	deadline, ok := ctx.Deadline()
	if !w.bookmarks || !ok {
		return nil, func() {}
	}
	d := deadline.Add(-2 * time.Second).Sub(w.c.s.clock.Now())
	if d <= 0 {
		return nil, func() {}
	}
	t := w.c.s.clock.NewTimer(d)
	return t.C(), func() { t.Stop() }
}

func (w *watcher) send(ctx context.Context, ev watch.Event) bool {
	select {
	case w.result <- ev:
		return true
	case <-w.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// errorWatch is a watch that yields one ERROR event carrying status, then ends.
func errorWatch(status metav1.Status) watch.Interface {
	ch := make(chan watch.Event, 1)
	ch <- watch.Event{Type: watch.Error, Object: &status}
	close(ch)
	return errWatch(ch)
}

type errWatch chan watch.Event

func (e errWatch) ResultChan() <-chan watch.Event { return e }
func (e errWatch) Stop()                          {}

func nonEmptyLabels(s labels.Selector) labels.Selector {
	if s == nil || s.Empty() {
		return nil
	}
	return s
}

func nonEmptyFields(s fields.Selector) fields.Selector {
	if s == nil || s.Empty() {
		return nil
	}
	return s
}
