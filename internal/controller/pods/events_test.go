package pods

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

type recorded struct{ enqueued, created, deleted []string }

func testEvents(r *recorded) PodEvents {
	owners := map[string]types.UID{"ns/a": "a-uid", "ns/b": "b-uid"}
	return PodEvents{
		Kind: rsKind,
		OwnerUID: func(ns, name string) (types.UID, bool) {
			uid, ok := owners[ns+"/"+name]
			return uid, ok
		},
		Matching: func(p *corev1.Pod) []string {
			if p.Labels["app"] == "web" {
				return []string{"ns/a", "ns/b"}
			}
			return nil
		},
		Enqueue: func(key string) { r.enqueued = append(r.enqueued, key) },
		Created: func(key string, _ *corev1.Pod) { r.created = append(r.created, key) },
		Deleted: func(key string, _ *corev1.Pod) { r.deleted = append(r.deleted, key) },
	}
}

func ownedPod(name, owner string, uid types.UID, rv string) *corev1.Pod {
	p := pod(name, map[string]string{"app": "web"}, "")
	p.ResourceVersion = rv
	if owner != "" {
		p.OwnerReferences = []metav1.OwnerReference{*NewControllerRef(&metav1.ObjectMeta{Name: owner, UID: uid}, rsKind)}
	}
	return p
}

func TestPodEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		do   func(h cache.ResourceEventHandler)
		want recorded
	}{
		{"a new pod of an owner is a creation of that owner", func(h cache.ResourceEventHandler) {
			h.OnAdd(ownedPod("p", "a", "a-uid", "1"), false)
		}, recorded{enqueued: []string{"ns/a"}, created: []string{"ns/a"}}},
		{"a pod of a recreated owner (other uid) is nobody's", func(h cache.ResourceEventHandler) {
			h.OnAdd(ownedPod("p", "a", "old-uid", "1"), false)
		}, recorded{}},
		{"an orphan wakes every owner that selects it", func(h cache.ResourceEventHandler) {
			h.OnAdd(ownedPod("p", "", "", "1"), false)
		}, recorded{enqueued: []string{"ns/a", "ns/b"}}},
		{"a pod first seen terminating is a deletion", func(h cache.ResourceEventHandler) {
			p := ownedPod("p", "a", "a-uid", "1")
			p.DeletionTimestamp = &metav1.Time{}
			h.OnAdd(p, false)
		}, recorded{enqueued: []string{"ns/a"}, deleted: []string{"ns/a"}}},
		{"a resync is ignored", func(h cache.ResourceEventHandler) {
			h.OnUpdate(ownedPod("p", "a", "a-uid", "1"), ownedPod("p", "a", "a-uid", "1"))
		}, recorded{}},
		{"a changed controllerRef wakes the old and the new owner", func(h cache.ResourceEventHandler) {
			h.OnUpdate(ownedPod("p", "a", "a-uid", "1"), ownedPod("p", "b", "b-uid", "2"))
		}, recorded{enqueued: []string{"ns/a", "ns/b"}}},
		{"a deletion tombstone is a deletion", func(h cache.ResourceEventHandler) {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: "ns/p", Obj: ownedPod("p", "b", "b-uid", "1")})
		}, recorded{enqueued: []string{"ns/b"}, deleted: []string{"ns/b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r recorded
			tc.do(testEvents(&r).Handler())
			if !slices.Equal(r.enqueued, tc.want.enqueued) || !slices.Equal(r.created, tc.want.created) || !slices.Equal(r.deleted, tc.want.deleted) {
				t.Errorf("got %+v, want %+v", r, tc.want)
			}
		})
	}
}

func TestSlowStartBatchStopsAfterTheFirstFailingBatch(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	ok, err := SlowStartBatch(10, 1, func(i int) error {
		calls.Add(1)
		if i >= 3 { // the third batch (indices 3..6) fails
			return errors.New("quota")
		}
		return nil
	})
	if ok != 3 || err == nil || calls.Load() != 7 {
		t.Errorf("successes %d, err %v, calls %d; want 3, an error, 7 (batches 1, 2, 4)", ok, err, calls.Load())
	}
	ok, err = SlowStartBatch(10, 1, func(int) error { return nil })
	if ok != 10 || err != nil {
		t.Errorf("all succeed: %d, %v", ok, err)
	}
}
