package garbagecollector

import (
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
)

type eventType int

const (
	addEvent eventType = iota
	updateEvent
	deleteEvent
)

// event is one change to feed into the graph.
type event struct {
	typ eventType
	// virtual: a worker's live lookup found the object gone (no informer saw it go).
	virtual    bool
	id         identity
	owners     []metav1.OwnerReference
	deleting   bool
	finalizers []string
}

// builder applies events to the graph, in order, from one goroutine, and tells the
// workers what to look at.
type builder struct {
	g      *graph
	events workqueue.TypedInterface[*event]
	absent *absentCache
	// attemptToDelete and attemptToOrphan enqueue a uid for the workers.
	attemptToDelete func(types.UID)
	attemptToOrphan func(types.UID)
	// invalidNamespace reports a dependent whose namespaced owner lives in another
	// namespace.
	invalidNamespace func(dependent identity, owner identity)
}

func newBuilder(g *graph, absent *absentCache) *builder {
	return &builder{g: g, absent: absent, events: workqueue.NewTyped[*event]()}
}

// run processes events until the queue is shut down.
func (b *builder) run() {
	for {
		e, quit := b.events.Get()
		if quit {
			return
		}
		b.process(e)
		b.events.Done(e)
	}
}

func (b *builder) process(e *event) {
	b.g.mu.Lock()
	defer b.g.mu.Unlock()
	n := b.g.nodes[e.id.UID]
	if e.typ == deleteEvent {
		b.remove(n, e)
		return
	}
	if n == nil {
		n = &node{id: e.id, observed: true, owners: e.owners, dependents: map[*node]struct{}{}}
		b.g.nodes[e.id.UID] = n
		b.link(n, e.owners)
	} else {
		b.observe(n, e.id)
		added, removed, unblocked := ownerChanges(n.owners, e.owners)
		n.owners = e.owners
		b.link(n, added)
		b.unlink(n, removed)
		// An owner deleting in the foreground may no longer be blocked by n.
		for _, ref := range append(removed, unblocked...) {
			if o := b.g.nodes[ref.UID]; o != nil && o.deletingDependents {
				b.attemptToDelete(o.id.UID)
			}
		}
	}
	n.beingDeleted = e.deleting
	b.transitions(n, e)
}

// observe turns a virtual node into an observed one. When the dependents guessed its
// coordinates wrong, they look at their references again.
func (b *builder) observe(n *node, id identity) {
	if n.observed {
		return
	}
	n.observed = true
	if n.id != id {
		n.id = id
		for d := range n.dependents {
			b.attemptToDelete(d.id.UID)
		}
	}
	for d := range n.dependents {
		b.checkNamespace(d, n)
	}
}

// transitions starts orphaning or foreground deletion when the object asks for it.
func (b *builder) transitions(n *node, e *event) {
	if e.deleting && slices.Contains(e.finalizers, metav1.FinalizerOrphanDependents) {
		b.attemptToOrphan(n.id.UID)
	}
	foreground := e.deleting && slices.Contains(e.finalizers, metav1.FinalizerDeleteDependents)
	n.deletingDependents = foreground
	if foreground {
		for d := range n.dependents {
			b.attemptToDelete(d.id.UID)
		}
		b.attemptToDelete(n.id.UID)
	}
}

// link adds n to the dependents of the owners refs name, creating virtual nodes for owners
// not seen yet (a worker checks whether they exist).
func (b *builder) link(n *node, refs []metav1.OwnerReference) {
	for _, ref := range refs {
		o := b.g.nodes[ref.UID]
		if o == nil {
			o = &node{id: ownerIdentity(ref, n.id.Namespace), dependents: map[*node]struct{}{}}
			b.g.nodes[ref.UID] = o
			b.attemptToDelete(ref.UID)
		}
		o.dependents[n] = struct{}{}
		if o.observed {
			b.checkNamespace(n, o)
		}
		if o.deletingDependents {
			b.attemptToDelete(n.id.UID)
		}
	}
}

// unlink removes n from the dependents of the owners refs name; a virtual owner left
// without dependents is forgotten.
func (b *builder) unlink(n *node, refs []metav1.OwnerReference) {
	for _, ref := range refs {
		o := b.g.nodes[ref.UID]
		if o == nil {
			continue
		}
		delete(o.dependents, n)
		if !o.observed && len(o.dependents) == 0 {
			delete(b.g.nodes, ref.UID)
		}
	}
}

// remove takes a deleted object out of the graph; its dependents and the owners waiting
// for it are looked at again.
func (b *builder) remove(n *node, e *event) {
	if n == nil {
		if !e.virtual {
			b.absent.add(e.id.Namespace, e.id.UID)
		}
		return
	}
	// A lookup that raced an informer cannot remove what the informer still shows.
	if e.virtual && n.observed {
		return
	}
	delete(b.g.nodes, n.id.UID)
	b.unlink(n, n.owners)
	for _, ref := range n.owners {
		if o := b.g.nodes[ref.UID]; o != nil && o.deletingDependents {
			b.attemptToDelete(o.id.UID)
		}
	}
	for d := range n.dependents {
		b.attemptToDelete(d.id.UID)
	}
	if !e.virtual {
		b.absent.add(n.id.Namespace, n.id.UID)
	}
}

// checkNamespace reports a namespaced owner outside its dependent's namespace: the
// reference cannot resolve, and the dependent is looked at again.
func (b *builder) checkNamespace(dependent, owner *node) {
	if owner.id.Namespace == "" || owner.id.Namespace == dependent.id.Namespace {
		return
	}
	if b.invalidNamespace != nil {
		b.invalidNamespace(dependent.id, owner.id)
	}
	b.attemptToDelete(dependent.id.UID)
}

// absentCache remembers owners known to be gone (per namespace, since an owner reference
// resolves in its dependent's namespace), so their other dependents skip the lookup.
type absentCache struct {
	mu    sync.Mutex
	max   int
	order []string
	set   map[string]struct{}
}

func newAbsentCache(max int) *absentCache {
	return &absentCache{max: max, set: map[string]struct{}{}}
}

func (a *absentCache) add(ns string, uid types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := ns + "/" + string(uid)
	if _, ok := a.set[k]; ok {
		return
	}
	if len(a.order) >= a.max {
		delete(a.set, a.order[0])
		a.order = a.order[1:]
	}
	a.order = append(a.order, k)
	a.set[k] = struct{}{}
}

func (a *absentCache) has(ns string, uid types.UID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.set[ns+"/"+string(uid)]
	return ok
}
