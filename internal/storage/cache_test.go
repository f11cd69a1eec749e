package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/watch"
)

func TestTTLUsesSharedLeases(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	ctx := t.Context()
	leaseOf := func(name string) clientv3.LeaseID {
		t.Helper()
		resp, err := s.client.Get(ctx, s.Key("ns", name))
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("get %s: %v %v", name, resp, err)
		}
		return clientv3.LeaseID(resp.Kvs[0].Lease)
	}
	for _, name := range []string{"e1", "e2"} {
		if _, err := s.Create(ctx, s.Key("ns", name), newPod("ns", name, nil), 3600); err != nil {
			t.Fatal(err)
		}
	}
	l1, l2 := leaseOf("e1"), leaseOf("e2")
	if l1 == 0 || l1 != l2 {
		t.Fatalf("leases %x and %x, want one shared lease", l1, l2)
	}
	ttl, err := s.client.TimeToLive(ctx, l1)
	if err != nil {
		t.Fatal(err)
	}
	if ttl.GrantedTTL < 3600 || ttl.GrantedTTL > 3660 {
		t.Errorf("granted TTL %ds, want between 3600 and 3660", ttl.GrantedTTL)
	}
	mustCreate(t, s, newPod("ns", "plain", nil))
	if l := leaseOf("plain"); l != 0 {
		t.Errorf("an object without TTL has lease %x", l)
	}
	setLabel(t, s, "ns", "e1", "updated", "yes")
	if l := leaseOf("e1"); l != l1 {
		t.Errorf("after an update the lease is %x, want %x kept", l, l1)
	}

	t.Run("a short TTL expires the object", func(t *testing.T) {
		p, err := s.Create(ctx, s.Key("ns", "short"), newPod("ns", "short", nil), 1)
		if err != nil {
			t.Fatal(err)
		}
		if leaseOf("short") == l1 {
			t.Error("a 1s TTL reused the 1h lease")
		}
		w := startWatch(t, s, WatchOptions{ResourceVersion: p.(*corev1.Pod).ResourceVersion})
		if ev := next(t, w); ev.Type != watch.Deleted || ev.Object.(*corev1.Pod).Name != "short" {
			t.Errorf("got %s, want the expiry's DELETED", podEvent(ev))
		}
	})
}

func TestRelistAfterCompaction(t *testing.T) {
	t.Parallel()
	opts := podOptions(t, startEtcd(t))
	release := make(chan struct{})
	opts.hooks = &testHooks{beforeWatch: func(ctx context.Context, n int) {
		if n == 2 { // hold the second watch until the history it needs is compacted
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	}}
	s := startStore(t, opts)
	mustCreate(t, s, newPod("ns", "a", nil))
	mustCreate(t, s, newPod("ns", "b", nil))
	listPods(t, s, ListOptions{}) // the cache has both
	old := startWatch(t, s, WatchOptions{ResourceVersion: "0"})
	eventually(t, "the etcd watch to start", func() bool {
		s.watchMu.Lock()
		defer s.watchMu.Unlock()
		return s.watchCancel != nil
	})

	s.restartWatch()
	mustDelete(t, s, "ns", "a")
	c := mustCreate(t, s, newPod("ns", "c", nil))
	rev := int64(mustAtoi(t, c.ResourceVersion))
	if _, err := s.client.Compact(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
	close(release)

	eventually(t, "the relisted cache", func() bool {
		return slices.Equal(names(listPods(t, s, ListOptions{ResourceVersion: "0"})), []string{"ns/b", "ns/c"})
	})
	waitClosed(t, old) // watchers cannot follow across a relist

	// The cache follows etcd again.
	d := mustCreate(t, s, newPod("ns", "d", nil))
	w := startWatch(t, s, WatchOptions{ResourceVersion: c.ResourceVersion})
	if got := podEvent(next(t, w)); got != "ADDED ns/d "+d.ResourceVersion {
		t.Errorf("after the relist got %s", got)
	}
	if got := names(listPods(t, s, ListOptions{})); !slices.Equal(got, []string{"ns/b", "ns/c", "ns/d"}) {
		t.Errorf("list after the relist = %v", got)
	}
}

func TestCompactor(t *testing.T) {
	t.Parallel()
	client := newClient(t, startEtcd(t))
	ctx := t.Context()
	put := func() int64 {
		resp, err := client.Put(ctx, "/k", fmt.Sprint(len(t.Name())))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	compacted := func(rev int64) bool {
		_, err := client.Get(ctx, "/k", clientv3.WithRev(rev))
		return errors.Is(err, rpctypes.ErrCompacted)
	}

	t.Run("servers take turns through the compaction clock", func(t *testing.T) {
		r0 := put()
		va, ra, err := compactOnce(ctx, client, 0, 0) // A: first round, nothing to compact
		if err != nil || va != 1 {
			t.Fatalf("A round 1: version %d, %v", va, err)
		}
		vb, _, err := compactOnce(ctx, client, 0, 0) // B is behind: adopts the clock
		if err != nil || vb != 1 {
			t.Fatalf("B round 1: version %d, %v", vb, err)
		}
		put()
		va, _, err = compactOnce(ctx, client, va, ra) // A compacts to what it saw last round
		if err != nil || va != 2 {
			t.Fatalf("A round 2: version %d, %v", va, err)
		}
		if !compacted(r0) || compacted(ra) {
			t.Errorf("after A's round 2: %d compacted %v, %d compacted %v; want only the older", r0, compacted(r0), ra, compacted(ra))
		}
		vb, _, err = compactOnce(ctx, client, vb, 0) // B lost the race again
		if err != nil || vb != 2 {
			t.Errorf("B round 2: version %d, %v", vb, err)
		}
	})

	t.Run("RunCompactor compacts periodically", func(t *testing.T) {
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		r := put()
		for range 2 { // two servers
			go RunCompactor(rctx, client, 20*time.Millisecond, quietLogger())
		}
		eventually(t, "a compaction past "+fmt.Sprint(r), func() bool {
			put()
			return compacted(r)
		})
	})
}

func TestStoreWithoutObjectsAndBadOptions(t *testing.T) {
	t.Parallel()
	opts := podOptions(t, sharedEndpoints)
	opts.Prefix = "/registry/trailing/"
	if _, err := New(t.Context(), opts); err == nil {
		t.Error("New accepted a prefix with a trailing slash")
	}
	s := newPodStore(t)
	if l := listPods(t, s, ListOptions{}); len(l.Items) != 0 || l.ResourceVersion == "" {
		t.Errorf("empty list = %v at %q", names(l), l.ResourceVersion)
	}
	if _, err := s.List(t.Context(), ListOptions{Prefix: "/registry/elsewhere"}); !apierrors.IsInternalError(err) {
		t.Errorf("list outside the prefix: %v", err)
	}
}
