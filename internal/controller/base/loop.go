package base

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// Options configures a Loop.
type Options struct {
	// Name of the controller, for logs and metrics. Required.
	Name string
	// Sync converges the object named by key ("namespace/name" or "name"). Returning an
	// error retries the key with backoff; RequeueAfter(d) asks to look again after d.
	Sync func(ctx context.Context, key string) error
	// Workers run syncs in parallel; a key is never synced by two workers at once.
	// Default 1.
	Workers int
	// RateLimiter paces retries. Default: per-key exponential 5 ms to 1000 s, and 10 qps
	// overall, as upstream controllers.
	RateLimiter workqueue.TypedRateLimiter[string]
	// Metrics, when set, records queue depth, sync latency and retries.
	Metrics *Metrics
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Clock. Default real.
	Clock clock.WithTicker
}

// Loop is a controller's queue and workers.
type Loop struct {
	opts   Options
	queue  workqueue.TypedRateLimitingInterface[string]
	synced []cache.InformerSynced
	logger *slog.Logger
}

// New returns a Loop; Run starts it.
func New(opts Options) *Loop {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.RateLimiter == nil {
		opts.RateLimiter = workqueue.DefaultTypedControllerRateLimiter[string]()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	q := workqueue.NewTypedRateLimitingQueueWithConfig(opts.RateLimiter, workqueue.TypedRateLimitingQueueConfig[string]{
		Name: opts.Name, Clock: opts.Clock, MetricsProvider: opts.Metrics.provider(),
	})
	return &Loop{opts: opts, queue: q, logger: opts.Logger.With("controller", opts.Name)}
}

// WaitFor makes Run wait until these informers have synced before any sync runs.
func (l *Loop) WaitFor(synced ...cache.InformerSynced) { l.synced = append(l.synced, synced...) }

// Enqueue adds the key of obj, which may be a deletion tombstone.
func (l *Loop) Enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		l.logger.Error("cannot compute key", "err", err)
		return
	}
	l.queue.Add(key)
}

// EnqueueKey adds a key.
func (l *Loop) EnqueueKey(key string) { l.queue.Add(key) }

// EnqueueAfter adds a key after d.
func (l *Loop) EnqueueAfter(key string, d time.Duration) { l.queue.AddAfter(key, d) }

// Handler enqueues the object of every add, update and delete.
func (l *Loop) Handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    l.Enqueue,
		UpdateFunc: func(_, obj any) { l.Enqueue(obj) },
		DeleteFunc: l.Enqueue,
	}
}

// Len is the number of keys waiting.
func (l *Loop) Len() int { return l.queue.Len() }

// Run waits for the informers, then runs the workers until ctx is done.
func (l *Loop) Run(ctx context.Context) error {
	defer utilruntime.HandleCrashWithContext(ctx)
	defer l.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), l.synced...) {
		return fmt.Errorf("%s: informers did not sync: %w", l.opts.Name, ctx.Err())
	}
	l.logger.Debug("controller started", "workers", l.opts.Workers)
	var wg sync.WaitGroup
	for i := 0; i < l.opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l.next(ctx) {
			}
		}()
	}
	<-ctx.Done()
	l.queue.ShutDown()
	wg.Wait()
	return nil
}

// next processes one key; false when the queue is shut down.
func (l *Loop) next(ctx context.Context) bool {
	key, quit := l.queue.Get()
	if quit {
		return false
	}
	defer l.queue.Done(key)
	start := l.opts.Clock.Now()
	err := l.opts.Sync(ctx, key)
	l.opts.Metrics.observe(l.opts.Name, l.opts.Clock.Since(start), err)
	var again *requeueAfter
	switch {
	case err == nil:
		l.queue.Forget(key)
	case errors.As(err, &again):
		l.queue.Forget(key)
		l.queue.AddAfter(key, again.d)
	case ctx.Err() != nil:
	default:
		l.logger.Debug("sync failed; retrying", "key", key, "err", err, "retries", l.queue.NumRequeues(key))
		l.queue.AddRateLimited(key)
	}
	return true
}

// RequeueAfter is a sync result that is not a failure: look at the key again after d.
func RequeueAfter(d time.Duration) error { return &requeueAfter{d: d} }

type requeueAfter struct{ d time.Duration }

func (r *requeueAfter) Error() string { return fmt.Sprintf("requeue after %s", r.d) }
