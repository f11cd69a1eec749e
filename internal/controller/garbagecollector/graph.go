package garbagecollector

import (
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// identity names one object: its owner-reference coordinates and namespace.
type identity struct {
	APIVersion, Kind, Namespace, Name string
	UID                               types.UID
}

func (id identity) String() string {
	return fmt.Sprintf("[%s/%s, namespace: %s, name: %s, uid: %s]", id.APIVersion, id.Kind, id.Namespace, id.Name, id.UID)
}

// ownerIdentity is where an owner reference of a dependent in namespace ns points, before
// we know whether the owner's kind is namespaced.
func ownerIdentity(ref metav1.OwnerReference, ns string) identity {
	return identity{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: ns, Name: ref.Name, UID: ref.UID}
}

// node is one object in the graph. Fields are guarded by the graph's lock.
type node struct {
	id identity
	// observed: an informer has shown this object. An unobserved (virtual) node stands
	// for an owner only known from dependents' references.
	observed bool
	// deletingDependents: the object is being deleted in the foreground.
	deletingDependents bool
	// beingDeleted: the object has a deletionTimestamp.
	beingDeleted bool
	owners       []metav1.OwnerReference
	dependents   map[*node]struct{}
}

// graph maps uids to nodes.
type graph struct {
	mu    sync.RWMutex
	nodes map[types.UID]*node
}

func newGraph() *graph { return &graph{nodes: map[types.UID]*node{}} }

func (g *graph) get(uid types.UID) *node {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.nodes[uid]
}

// view is a consistent copy of what workers need to know about a node.
type view struct {
	id                 identity
	observed           bool
	deletingDependents bool
	owners             []metav1.OwnerReference
	dependents         []dependentView
}

// dependentView is a dependent and whether it blocks its owner's foreground deletion.
type dependentView struct {
	id                 identity
	blocking           bool
	deletingDependents bool
}

// snapshot returns the view of the node with uid, or false.
func (g *graph) snapshot(uid types.UID) (view, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := g.nodes[uid]
	if n == nil {
		return view{}, false
	}
	v := view{id: n.id, observed: n.observed, deletingDependents: n.deletingDependents, owners: append([]metav1.OwnerReference(nil), n.owners...)}
	for d := range n.dependents {
		blocking := false
		for _, ref := range d.owners {
			if ref.UID == uid && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				blocking = true
			}
		}
		v.dependents = append(v.dependents, dependentView{id: d.id, blocking: blocking, deletingDependents: d.deletingDependents})
	}
	return v, true
}

// ownerChanges compares two owner lists: the references added, removed, and those whose
// blockOwnerDeletion went from true to anything else (they may unblock their owner).
func ownerChanges(old, now []metav1.OwnerReference) (added, removed, unblocked []metav1.OwnerReference) {
	oldBy := map[types.UID]metav1.OwnerReference{}
	for _, r := range old {
		oldBy[r.UID] = r
	}
	nowBy := map[types.UID]bool{}
	for _, r := range now {
		nowBy[r.UID] = true
		o, ok := oldBy[r.UID]
		switch {
		case !ok:
			added = append(added, r)
		case blocks(o) && !blocks(r):
			unblocked = append(unblocked, r)
		}
	}
	for _, r := range old {
		if !nowBy[r.UID] {
			removed = append(removed, r)
		}
	}
	return added, removed, unblocked
}

func blocks(r metav1.OwnerReference) bool {
	return r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion
}
