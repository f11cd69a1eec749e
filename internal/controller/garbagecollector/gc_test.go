package garbagecollector

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func ref(uid string, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "o-" + uid, UID: types.UID(uid), BlockOwnerDeletion: &block}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	a, b := ref("a", true), ref("b", false)
	for _, tc := range []struct {
		name          string
		refs          []metav1.OwnerReference
		states        map[types.UID]ownerState
		hasDependents bool
		depForeground bool
		finalizers    []string
		want          plan
	}{
		{"no owners: keep", nil, nil, false, false, nil, plan{action: keep}},
		{"all owners present: keep", []metav1.OwnerReference{a, b}, map[types.UID]ownerState{"a": solid, "b": solid}, false, false, nil, plan{action: keep}},
		{"one owner gone, one present: drop the gone reference", []metav1.OwnerReference{a, b}, map[types.UID]ownerState{"a": dangling, "b": solid}, false, false, nil,
			plan{action: removeRefs, remove: []types.UID{"a"}}},
		{"a waiting owner beside a solid one: drop the waiting reference", []metav1.OwnerReference{a, b}, map[types.UID]ownerState{"a": waiting, "b": solid}, false, false, nil,
			plan{action: removeRefs, remove: []types.UID{"a"}}},
		{"every owner gone: delete in the background", []metav1.OwnerReference{a, b}, map[types.UID]ownerState{"a": dangling, "b": dangling}, true, false, nil,
			plan{action: deleteObject, policy: metav1.DeletePropagationBackground}},
		{"an owner gone and the object asks to orphan: delete orphaning", []metav1.OwnerReference{a}, map[types.UID]ownerState{"a": dangling}, false, false, []string{metav1.FinalizerOrphanDependents},
			plan{action: deleteObject, policy: metav1.DeletePropagationOrphan}},
		{"waiting owner, no dependents: delete in the background", []metav1.OwnerReference{a}, map[types.UID]ownerState{"a": waiting}, false, false, nil,
			plan{action: deleteObject, policy: metav1.DeletePropagationBackground}},
		{"waiting owner with dependents: delete in the foreground", []metav1.OwnerReference{a}, map[types.UID]ownerState{"a": waiting}, true, false, nil,
			plan{action: deleteObject, policy: metav1.DeletePropagationForeground}},
		{"waiting owners and a dependent deleting in the foreground: unblock the blocking references", []metav1.OwnerReference{a, b}, map[types.UID]ownerState{"a": waiting, "b": waiting}, true, true, nil,
			plan{action: deleteObject, policy: metav1.DeletePropagationForeground, unblock: []types.UID{"a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := decide(tc.refs, tc.states, tc.hasDependents, tc.depForeground, tc.finalizers)
			if got.action != tc.want.action || got.policy != tc.want.policy || !slices.Equal(got.remove, tc.want.remove) || !slices.Equal(got.unblock, tc.want.unblock) {
				t.Errorf("decide = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestOwnerChanges(t *testing.T) {
	t.Parallel()
	added, removed, unblocked := ownerChanges(
		[]metav1.OwnerReference{ref("keep", false), ref("gone", false), ref("unblock", true)},
		[]metav1.OwnerReference{ref("keep", false), ref("unblock", false), ref("new", true)})
	if len(added) != 1 || added[0].UID != "new" {
		t.Errorf("added %v", added)
	}
	if len(removed) != 1 || removed[0].UID != "gone" {
		t.Errorf("removed %v", removed)
	}
	if len(unblocked) != 1 || unblocked[0].UID != "unblock" {
		t.Errorf("unblocked %v", unblocked)
	}
}

func TestWithoutOwnersAndUnblocked(t *testing.T) {
	t.Parallel()
	refs := []metav1.OwnerReference{ref("a", true), ref("b", true)}
	if got := withoutOwners(refs, []types.UID{"a"}); len(got) != 1 || got[0].UID != "b" {
		t.Errorf("withoutOwners = %v", got)
	}
	got := unblocked(refs, []types.UID{"b"})
	if !blocks(got[0]) || blocks(got[1]) || !blocks(refs[1]) {
		t.Errorf("unblocked = %v (input must stay unchanged)", got)
	}
}

// recorder collects what the builder asks the workers to look at.
type recorder struct{ deletes, orphans []types.UID }

func newTestBuilder() (*builder, *recorder) {
	r := &recorder{}
	b := newBuilder(newGraph(), newAbsentCache(10))
	b.attemptToDelete = func(u types.UID) { r.deletes = append(r.deletes, u) }
	b.attemptToOrphan = func(u types.UID) { r.orphans = append(r.orphans, u) }
	return b, r
}

func obj(uid, ns string, owners ...metav1.OwnerReference) *event {
	return &event{typ: addEvent, id: identity{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: "o-" + uid, UID: types.UID(uid)}, owners: owners}
}

func TestBuilderTracksOwnersAndTransitions(t *testing.T) {
	t.Parallel()
	b, r := newTestBuilder()
	b.process(obj("dep", "ns", ref("owner", true)))
	if v, ok := b.g.snapshot("owner"); !ok || v.observed || len(v.dependents) != 1 {
		t.Fatalf("unseen owner: %+v %v, want a virtual node with one dependent", v, ok)
	}
	if !slices.Contains(r.deletes, "owner") {
		t.Error("a virtual owner is not checked for existence")
	}
	b.process(obj("owner", "ns"))
	if v, _ := b.g.snapshot("owner"); !v.observed || !v.dependents[0].blocking {
		t.Errorf("observed owner: %+v", v)
	}

	r.deletes = nil
	fg := obj("owner", "ns")
	fg.typ, fg.deleting, fg.finalizers = updateEvent, true, []string{metav1.FinalizerDeleteDependents}
	b.process(fg)
	if v, _ := b.g.snapshot("owner"); !v.deletingDependents {
		t.Error("foreground deletion not recorded")
	}
	if !slices.Contains(r.deletes, "dep") || !slices.Contains(r.deletes, "owner") {
		t.Errorf("foreground deletion enqueued %v, want the dependent and the owner", r.deletes)
	}

	r.deletes = nil
	gone := obj("dep", "ns", ref("owner", true))
	gone.typ = deleteEvent
	b.process(gone)
	if !slices.Contains(r.deletes, "owner") {
		t.Error("an owner waiting in the foreground is not looked at when its dependent goes")
	}
	if !b.absent.has("ns", "dep") {
		t.Error("a deleted object is not remembered as absent")
	}

	orphan := obj("owner", "ns")
	orphan.typ, orphan.deleting, orphan.finalizers = updateEvent, true, []string{metav1.FinalizerOrphanDependents}
	b.process(orphan)
	if !slices.Equal(r.orphans, []types.UID{"owner"}) {
		t.Errorf("orphaning enqueued %v", r.orphans)
	}
}

func TestBuilderFlagsOwnersInAnotherNamespace(t *testing.T) {
	t.Parallel()
	b, r := newTestBuilder()
	var reported []identity
	b.invalidNamespace = func(dep, _ identity) { reported = append(reported, dep) }
	b.process(obj("owner", "a"))
	b.process(obj("dep", "b", ref("owner", false)))
	if len(reported) != 1 || reported[0].UID != "dep" || !slices.Contains(r.deletes, "dep") {
		t.Errorf("reported %v, enqueued %v: want the dependent reported and looked at", reported, r.deletes)
	}
}

func TestVirtualDeleteDoesNotRemoveObservedNodes(t *testing.T) {
	t.Parallel()
	b, _ := newTestBuilder()
	b.process(obj("x", "ns"))
	b.process(&event{typ: deleteEvent, virtual: true, id: identity{UID: "x"}})
	if _, ok := b.g.snapshot("x"); !ok {
		t.Error("a lookup racing the informer removed an observed node")
	}
}
