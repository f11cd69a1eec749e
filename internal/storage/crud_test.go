package storage

import (
	"bytes"
	"errors"
	"strconv"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

func TestCreateGetUpdateDelete(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	ctx := t.Context()
	key := s.Key("ns", "a")

	in := newPod("ns", "a", map[string]string{"app": "x"})
	created := mustCreate(t, s, in)
	if in.ResourceVersion != "" {
		t.Errorf("Create changed its argument's resourceVersion to %q", in.ResourceVersion)
	}
	rv1, _ := strconv.ParseInt(created.ResourceVersion, 10, 64)
	if rv1 == 0 || created.Name != "a" || created.Labels["app"] != "x" {
		t.Fatalf("created = %s rv %q, want the pod with a resourceVersion", created.Name, created.ResourceVersion)
	}

	raw, err := s.client.Get(ctx, key)
	if err != nil || len(raw.Kvs) != 1 {
		t.Fatalf("etcd get %s: %v %v", key, raw, err)
	}
	if v := raw.Kvs[0].Value; !bytes.HasPrefix(v, []byte("k8s\x00")) {
		t.Errorf("stored value %q: want the protobuf envelope", v)
	}
	if stored, _, err := s.codec.Decode(raw.Kvs[0].Value, nil, &corev1.Pod{}); err != nil || stored.(*corev1.Pod).ResourceVersion != "" {
		t.Errorf("stored object %v (%v): want it without a resourceVersion", stored, err)
	}

	for _, rv := range []string{"", created.ResourceVersion, "0"} { // "0" after N: the cache has caught up
		got, err := s.Get(ctx, key, GetOptions{ResourceVersion: rv})
		if err != nil {
			t.Fatalf("get rv=%q: %v", rv, err)
		}
		if p := got.(*corev1.Pod); p.ResourceVersion != created.ResourceVersion || p.Labels["app"] != "x" {
			t.Errorf("get rv=%q = rv %q labels %v, want rv %s", rv, p.ResourceVersion, p.Labels, created.ResourceVersion)
		}
	}

	updated := setLabel(t, s, "ns", "a", "app", "y")
	rv2, _ := strconv.ParseInt(updated.ResourceVersion, 10, 64)
	if rv2 <= rv1 || updated.Labels["app"] != "y" {
		t.Fatalf("updated = rv %d labels %v, want rv > %d and app=y", rv2, updated.Labels, rv1)
	}

	deleted := mustDelete(t, s, "ns", "a")
	rv3, _ := strconv.ParseInt(deleted.ResourceVersion, 10, 64)
	if rv3 <= rv2 || deleted.Labels["app"] != "y" {
		t.Errorf("deleted = rv %d labels %v, want the last state at the deletion revision > %d", rv3, deleted.Labels, rv2)
	}
	_, err = s.Get(ctx, key, GetOptions{})
	if !apierrors.IsNotFound(err) || err.Error() != `pods "a" not found` {
		t.Errorf("get after delete: %v, want NotFound", err)
	}
	// The cache catches up with the delete.
	eventually(t, "the cache to forget the pod", func() bool {
		_, err := s.Get(ctx, key, GetOptions{ResourceVersion: "0"})
		return apierrors.IsNotFound(err)
	})
}

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	ctx := t.Context()
	existing := mustCreate(t, s, newPod("ns", "exists", nil))
	stale := "1"
	otherUID := types.UID("other")
	errBoom := errors.New("boom")
	noop := func(obj runtime.Object) (runtime.Object, error) { return obj, nil }

	tests := []struct {
		name    string
		do      func() error
		check   func(error) bool
		message string
	}{
		{
			name: "creating an existing object is AlreadyExists",
			do: func() error {
				_, err := s.Create(ctx, s.Key("ns", "exists"), newPod("ns", "exists", nil), 0)
				return err
			},
			check:   apierrors.IsAlreadyExists,
			message: `pods "exists" already exists`,
		},
		{
			name: "creating with a resourceVersion is a BadRequest",
			do: func() error {
				p := newPod("ns", "rv", nil)
				p.ResourceVersion = "5"
				_, err := s.Create(ctx, s.Key("ns", "rv"), p, 0)
				return err
			},
			check: apierrors.IsBadRequest,
		},
		{
			name:    "updating a missing object is NotFound",
			do:      func() error { _, err := s.GuaranteedUpdate(ctx, s.Key("ns", "missing"), nil, false, noop); return err },
			check:   apierrors.IsNotFound,
			message: `pods "missing" not found`,
		},
		{
			name:    "deleting a missing object is NotFound",
			do:      func() error { _, err := s.Delete(ctx, s.Key("ns", "missing"), nil, nil); return err },
			check:   apierrors.IsNotFound,
			message: `pods "missing" not found`,
		},
		{
			name: "a stale resourceVersion precondition is a Conflict",
			do: func() error {
				_, err := s.GuaranteedUpdate(ctx, s.Key("ns", "exists"), &metav1.Preconditions{ResourceVersion: &stale}, false, noop)
				return err
			},
			check: apierrors.IsConflict,
			message: `Operation cannot be fulfilled on pods "exists": Precondition failed: ResourceVersion in precondition: 1, ` +
				`ResourceVersion in object meta: ` + existing.ResourceVersion,
		},
		{
			name: "a UID precondition mismatch on delete is a Conflict",
			do: func() error {
				_, err := s.Delete(ctx, s.Key("ns", "exists"), &metav1.Preconditions{UID: &otherUID}, nil)
				return err
			},
			check: apierrors.IsConflict,
			message: `Operation cannot be fulfilled on pods "exists": Precondition failed: UID in precondition: other, ` +
				`UID in object meta: uid-ns-exists`,
		},
		{
			name: "tryUpdate's error is returned unchanged",
			do: func() error {
				_, err := s.GuaranteedUpdate(ctx, s.Key("ns", "exists"), nil, false, func(runtime.Object) (runtime.Object, error) {
					return nil, errBoom
				})
				return err
			},
			check: func(err error) bool { return err == errBoom },
		},
		{
			name: "validate's error is returned unchanged",
			do: func() error {
				_, err := s.Delete(ctx, s.Key("ns", "exists"), nil, func(runtime.Object) error { return errBoom })
				return err
			},
			check: func(err error) bool { return err == errBoom },
		},
		{
			name: "a malformed resourceVersion is a BadRequest",
			do: func() error {
				_, err := s.Get(ctx, s.Key("ns", "exists"), GetOptions{ResourceVersion: "abc"})
				return err
			},
			check: apierrors.IsBadRequest,
		},
		{
			name:  "a key outside the prefix is refused",
			do:    func() error { _, err := s.Get(ctx, "/registry/other/x", GetOptions{}); return err },
			check: apierrors.IsInternalError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !tt.check(err) {
				t.Fatalf("got %v", err)
			}
			if tt.message != "" && err.Error() != tt.message {
				t.Errorf("message %q\nwant    %q", err.Error(), tt.message)
			}
		})
	}
	// None of the failures changed the object.
	got, err := s.Get(ctx, s.Key("ns", "exists"), GetOptions{})
	if err != nil || got.(*corev1.Pod).ResourceVersion != existing.ResourceVersion {
		t.Errorf("after failures: %v %v, want resourceVersion %s", got, err, existing.ResourceVersion)
	}
}

func TestNoOpUpdateKeepsResourceVersion(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	created := mustCreate(t, s, newPod("ns", "a", map[string]string{"k": "v"}))
	calls := 0
	out, err := s.GuaranteedUpdate(t.Context(), s.Key("ns", "a"), nil, false, func(obj runtime.Object) (runtime.Object, error) {
		calls++
		p := obj.(*corev1.Pod)
		p.Labels["k"] = "v" // same value
		p.ResourceVersion = "12345"
		return p, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rv := out.(*corev1.Pod).ResourceVersion; rv != created.ResourceVersion {
		t.Errorf("no-op update returned resourceVersion %s, want %s", rv, created.ResourceVersion)
	}
	got, _ := s.Get(t.Context(), s.Key("ns", "a"), GetOptions{})
	if rv := got.(*corev1.Pod).ResourceVersion; rv != created.ResourceVersion {
		t.Errorf("stored resourceVersion %s after a no-op update, want %s", rv, created.ResourceVersion)
	}
	if calls == 0 {
		t.Error("tryUpdate was not called")
	}
}

func TestUpdateIgnoreNotFoundCreates(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	out, err := s.GuaranteedUpdate(t.Context(), s.Key("ns", "new"), nil, true, func(obj runtime.Object) (runtime.Object, error) {
		p := obj.(*corev1.Pod)
		if p.Name != "" {
			t.Errorf("tryUpdate got %q, want an empty pod", p.Name)
		}
		return newPod("ns", "new", nil), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := out.(*corev1.Pod); p.Name != "new" || p.ResourceVersion == "" {
		t.Errorf("created %s rv %q", p.Name, p.ResourceVersion)
	}
}

// TestConcurrentUpdatesLoseNothing increments a label counter from many goroutines; the
// compare-and-swap retries must keep every increment.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	mustCreate(t, s, newPod("ns", "counter", map[string]string{"n": "0"}))
	const workers, each = 10, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				_, err := s.GuaranteedUpdate(t.Context(), s.Key("ns", "counter"), nil, false, func(obj runtime.Object) (runtime.Object, error) {
					p := obj.(*corev1.Pod)
					n, _ := strconv.Atoi(p.Labels["n"])
					p.Labels["n"] = strconv.Itoa(n + 1)
					return p, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := s.Get(t.Context(), s.Key("ns", "counter"), GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := got.(*corev1.Pod).Labels["n"]; n != strconv.Itoa(workers*each) {
		t.Errorf("counter = %s, want %d", n, workers*each)
	}
}

// TestUpdateFromStaleCache checks that an update starting from a cached state that another
// writer has overtaken retries on the current state.
func TestUpdateFromStaleCache(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	created := mustCreate(t, s, newPod("ns", "a", map[string]string{"n": "1"}))
	eventually(t, "the cache to hold the pod", func() bool {
		it, _ := s.cache.get(s.Key("ns", "a"))
		return it != nil
	})
	// Another server's store writes; s may still hold the old state in its cache.
	other := newPodStore(t, func(o *Options) { o.Prefix = s.prefix })
	rv := created.ResourceVersion
	if _, err := other.GuaranteedUpdate(t.Context(), s.Key("ns", "a"), &metav1.Preconditions{ResourceVersion: &rv}, false,
		func(obj runtime.Object) (runtime.Object, error) {
			obj.(*corev1.Pod).Labels["n"] = "2"
			return obj, nil
		}); err != nil {
		t.Fatal(err)
	}
	out := setLabel(t, s, "ns", "a", "m", "x")
	if out.Labels["n"] != "2" || out.Labels["m"] != "x" {
		t.Errorf("labels %v, want the other writer's n=2 kept", out.Labels)
	}
}
