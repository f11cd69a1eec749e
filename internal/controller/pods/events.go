package pods

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// PodEvents turns the pod informer's events into the keys ("namespace/name") of the owners a
// controller must look at again, as upstream's pod-owning controllers do: the owner named by
// a pod's controllerRef (when it is one of ours and still the same object), the old and new
// owner when the controllerRef changes, and every owner whose selector matches an orphan
// (one of them will adopt it). A pod first seen already terminating counts as deleted.
type PodEvents struct {
	// Kind of the owners (e.g. apps/v1 DaemonSet): controllerRefs of other kinds are ignored.
	Kind schema.GroupVersionKind
	// OwnerUID returns the UID of the owner namespace/name from the cache, false when none.
	OwnerUID func(namespace, name string) (types.UID, bool)
	// Matching returns the keys of the owners whose selector matches an orphan pod.
	Matching func(p *corev1.Pod) []string
	// Enqueue queues an owner key.
	Enqueue func(key string)
	// Created and Deleted, when set, are told of a pod of owner key appearing or going (for
	// expectations).
	Created, Deleted func(key string, p *corev1.Pod)
}

// Handler returns the informer event handler.
func (h PodEvents) Handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{AddFunc: h.added, UpdateFunc: h.updated, DeleteFunc: h.deleted}
}

func (h PodEvents) ownerKey(p *corev1.Pod, ref *metav1.OwnerReference) string {
	if ref.Kind != h.Kind.Kind || ref.APIVersion != h.Kind.GroupVersion().String() {
		return ""
	}
	uid, ok := h.OwnerUID(p.Namespace, ref.Name)
	if !ok || uid != ref.UID {
		return ""
	}
	return p.Namespace + "/" + ref.Name
}

func (h PodEvents) added(obj any) {
	p := obj.(*corev1.Pod)
	if p.DeletionTimestamp != nil {
		h.deleted(p)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		if key := h.ownerKey(p, ref); key != "" {
			if h.Created != nil {
				h.Created(key, p)
			}
			h.Enqueue(key)
		}
		return
	}
	h.enqueueMatching(p)
}

func (h PodEvents) updated(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return // a resync: nothing changed
	}
	labelsChanged := !labels.Equals(old.Labels, cur.Labels)
	if cur.DeletionTimestamp != nil {
		h.deleted(cur)
		if labelsChanged {
			h.deleted(old)
		}
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := (curRef == nil) != (oldRef == nil) || (curRef != nil && curRef.UID != oldRef.UID)
	if refChanged && oldRef != nil {
		if key := h.ownerKey(old, oldRef); key != "" {
			h.Enqueue(key)
		}
	}
	if curRef != nil {
		if key := h.ownerKey(cur, curRef); key != "" {
			h.Enqueue(key)
		}
		return
	}
	if labelsChanged || refChanged {
		h.enqueueMatching(cur)
	}
}

func (h PodEvents) deleted(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, isTomb := obj.(cache.DeletedFinalStateUnknown)
		if !isTomb {
			return
		}
		if p, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	ref := metav1.GetControllerOfNoCopy(p)
	if ref == nil {
		return
	}
	if key := h.ownerKey(p, ref); key != "" {
		if h.Deleted != nil {
			h.Deleted(key, p)
		}
		h.Enqueue(key)
	}
}

func (h PodEvents) enqueueMatching(p *corev1.Pod) {
	if h.Matching == nil {
		return
	}
	for _, key := range h.Matching(p) {
		h.Enqueue(key)
	}
}

// SlowStartBatch calls fn count times in batches of initial, then twice as many each time,
// the calls of a batch in parallel, and stops after the first batch with a failure, so a
// creation refused for good (quota, admission) is tried a few times, not count times. It
// returns how many calls succeeded and the first error; fn gets the index of its call.
func SlowStartBatch(count, initial int, fn func(i int) error) (int, error) {
	done := 0
	for batch := min(count, initial); batch > 0; batch = min(2*batch, count-done) {
		errs := make(chan error, batch)
		var wg sync.WaitGroup
		for i := done; i < done+batch; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fn(i); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		failed := len(errs)
		if failed > 0 {
			return done + batch - failed, <-errs
		}
		done += batch
	}
	return done, nil
}

// SelectorMatches returns the keys of the objects among owners whose label selector matches
// lbls (an empty or invalid selector matches nothing), for PodEvents.Matching.
func SelectorMatches[T metav1.Object](owners []T, selectorOf func(T) *metav1.LabelSelector, lbls map[string]string) []string {
	var keys []string
	for _, o := range owners {
		sel, err := metav1.LabelSelectorAsSelector(selectorOf(o))
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(lbls)) {
			continue
		}
		keys = append(keys, o.GetNamespace()+"/"+o.GetName())
	}
	return keys
}
