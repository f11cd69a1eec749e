package base

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/client-go/util/workqueue"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLoopRetriesFailedSyncsUntilTheyConverge(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := map[string]int{}
	reg := prometheus.NewRegistry()
	l := New(Options{
		Name: "test", Workers: 2, Metrics: NewMetrics(reg),
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, 10*time.Millisecond),
		Sync: func(_ context.Context, key string) error {
			mu.Lock()
			defer mu.Unlock()
			calls[key]++
			if key == "flaky" && calls[key] < 3 {
				return errors.New("not yet")
			}
			return nil
		},
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	l.EnqueueKey("flaky")
	l.EnqueueKey("steady")
	waitFor(t, "flaky to succeed on its third try", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return calls["flaky"] == 3 && calls["steady"] == 1
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var m dto.Metric
	if err := l.opts.Metrics.syncErrors.WithLabelValues("test").Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != 2 {
		t.Errorf("sync errors metric = %v, want 2", got)
	}
}

func TestRequeueAfterLooksAgainWithoutCountingAFailure(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	n := 0
	l := New(Options{Name: "requeue", Sync: func(context.Context, string) error {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 1 {
			return RequeueAfter(time.Millisecond)
		}
		return nil
	}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = l.Run(ctx) }()
	l.EnqueueKey("k")
	waitFor(t, "the requeued key to sync again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return n == 2
	})
	if r := l.queue.NumRequeues("k"); r != 0 {
		t.Errorf("requeues = %d, want 0 (a requeue is not a failure)", r)
	}
}

func TestEnqueueAcceptsTombstones(t *testing.T) {
	t.Parallel()
	l := New(Options{Name: "tomb", Sync: func(context.Context, string) error { return nil }})
	l.Enqueue(cacheTombstone("ns/gone"))
	if l.Len() != 1 {
		t.Fatalf("queue length %d, want 1", l.Len())
	}
	key, _ := l.queue.Get()
	if key != "ns/gone" {
		t.Errorf("key %q, want ns/gone", key)
	}
}
