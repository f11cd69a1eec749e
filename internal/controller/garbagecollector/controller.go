package garbagecollector

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"capstan/internal/controller/base"
)

// Name is the controller's name in --controllers.
const Name = "garbage-collector-controller"

// Options configures the collector.
type Options struct {
	// Metadata reads, patches and deletes objects of every resource. Required.
	Metadata metadata.Interface
	// Discovery finds the resources. Required.
	Discovery discovery.DiscoveryInterface
	// Informers, when set, is the shared informer factory the other controllers use: a
	// resource it knows (every built-in one) is watched through its informer, shared with
	// them, as upstream's collector does; only the rest (custom resources, aggregated APIs)
	// get a metadata informer of the collector's own. Informers it creates are started.
	// Default: a metadata informer for every resource.
	Informers informers.SharedInformerFactory
	// Recorder reports invalid owner references. Optional.
	Recorder record.EventRecorder
	// Workers deleting dependents. Default 1 (upstream's --concurrent-gc-syncs is 20).
	Workers int
	// ResyncPeriod between discoveries of new resources. Default 30s.
	ResyncPeriod time.Duration
	Metrics      *base.Metrics
	Logger       *slog.Logger
}

// Controller is the garbage collector.
type Controller struct {
	opts     Options
	log      *slog.Logger
	graph    *graph
	builder  *builder
	absent   *absentCache
	resolver *resolver
	deleter  *base.Loop
	orphaner *base.Loop

	mu       sync.Mutex
	monitors map[schema.GroupVersionResource]*monitor
	// started is when Run began; see synced.
	started time.Time
}

// syncTimeout is how long the workers wait for every monitor to list its resource before
// they start anyway: one broken resource must not stop collection everywhere.
const syncTimeout = time.Minute

// monitor watches one resource.
type monitor struct {
	// synced reports that the collector's handler has seen the initial list.
	synced func() bool
	stop   func()
}

// New builds the collector; Run starts it.
func New(opts Options) *Controller {
	if opts.ResyncPeriod <= 0 {
		opts.ResyncPeriod = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Controller{
		opts: opts, log: opts.Logger.With("controller", Name), graph: newGraph(), absent: newAbsentCache(500),
		resolver: &resolver{d: opts.Discovery}, monitors: map[schema.GroupVersionResource]*monitor{},
	}
	c.deleter = base.New(base.Options{Name: Name, Sync: c.attemptToDelete, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger})
	c.orphaner = base.New(base.Options{Name: Name + "-orphan", Sync: c.attemptToOrphan, Workers: 1, Metrics: opts.Metrics, Logger: opts.Logger})
	c.builder = newBuilder(c.graph, c.absent)
	c.builder.attemptToDelete = func(uid types.UID) { c.deleter.EnqueueKey(string(uid)) }
	c.builder.attemptToOrphan = func(uid types.UID) { c.orphaner.EnqueueKey(string(uid)) }
	c.builder.invalidNamespace = c.reportInvalidNamespace
	c.deleter.WaitFor(c.synced)
	c.orphaner.WaitFor(c.synced)
	return c
}

// Run watches every deletable resource and collects until ctx is done.
func (c *Controller) Run(ctx context.Context) error {
	c.mu.Lock()
	c.started = time.Now()
	c.mu.Unlock()
	go c.builder.run()
	defer c.builder.events.ShutDown()
	if err := c.syncMonitors(ctx); err != nil {
		c.log.Warn("discovering resources", "err", err)
	}
	var wg sync.WaitGroup
	for _, l := range []*base.Loop{c.deleter, c.orphaner} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Run(ctx); err != nil && ctx.Err() == nil {
				c.log.Error("loop stopped", "err", err)
			}
		}()
	}
	t := time.NewTicker(c.opts.ResyncPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
			if err := c.syncMonitors(ctx); err != nil {
				c.log.Warn("discovering resources", "err", err)
			}
		}
	}
}

// synced reports whether every monitor has listed its resource.
func (c *Controller) synced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.monitors) == 0 {
		return false
	}
	for gvr, m := range c.monitors {
		if !m.synced() {
			if !c.started.IsZero() && time.Since(c.started) > syncTimeout {
				c.log.Warn("starting before every monitor synced", "resource", gvr)
				return true
			}
			return false
		}
	}
	return true
}

// syncMonitors starts monitors for new resources and stops those of removed ones.
func (c *Controller) syncMonitors(ctx context.Context) error {
	resources, err := deletableResources(c.opts.Discovery)
	if err != nil {
		return err
	}
	c.resolver.reset()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opts.Informers != nil {
		// The shared informers created for the collector run from here on.
		defer c.opts.Informers.Start(ctx.Done())
	}
	want := map[schema.GroupVersionResource]bool{}
	for _, r := range resources {
		want[r.gvr] = true
		if c.monitors[r.gvr] != nil {
			continue
		}
		m, err := c.monitor(ctx, r)
		if err != nil {
			return err
		}
		c.monitors[r.gvr] = m
	}
	for gvr, m := range c.monitors {
		if !want[gvr] {
			m.stop()
			delete(c.monitors, gvr)
		}
	}
	return nil
}

// monitor starts watching r: through the shared informer when the factory knows the
// resource (the caller starts the factory), else through a metadata informer of its own.
func (c *Controller) monitor(ctx context.Context, r watchable) (*monitor, error) {
	if c.opts.Informers != nil {
		if shared, err := c.opts.Informers.ForResource(r.gvr); err == nil {
			inf := shared.Informer()
			// No periodic resync for the collector: the graph is kept by events alone.
			reg, err := inf.AddEventHandlerWithResyncPeriod(c.handler(r.gvk), 0)
			if err != nil {
				return nil, fmt.Errorf("watching %s: %w", r.gvr, err)
			}
			return &monitor{synced: reg.HasSynced, stop: func() { _ = inf.RemoveEventHandler(reg) }}, nil
		}
	}
	mctx, stop := context.WithCancel(ctx)
	inf := metadatainformer.NewFilteredMetadataInformer(c.opts.Metadata, r.gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	reg, err := inf.AddEventHandler(c.handler(r.gvk))
	if err != nil {
		stop()
		return nil, fmt.Errorf("watching %s: %w", r.gvr, err)
	}
	go inf.RunWithContext(mctx)
	return &monitor{synced: reg.HasSynced, stop: stop}, nil
}

// handler turns informer notifications about objects of kind gvk into graph events.
func (c *Controller) handler(gvk schema.GroupVersionKind) cache.ResourceEventHandler {
	apiVersion := gvk.GroupVersion().String()
	send := func(typ eventType, obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		m, ok := obj.(metav1.Object)
		if !ok {
			return
		}
		c.builder.events.Add(&event{
			typ:        typ,
			id:         identity{APIVersion: apiVersion, Kind: gvk.Kind, Namespace: m.GetNamespace(), Name: m.GetName(), UID: m.GetUID()},
			owners:     m.GetOwnerReferences(),
			deleting:   m.GetDeletionTimestamp() != nil,
			finalizers: m.GetFinalizers(),
		})
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { send(addEvent, obj) },
		UpdateFunc: func(_, obj any) { send(updateEvent, obj) },
		DeleteFunc: func(obj any) { send(deleteEvent, obj) },
	}
}

// reportInvalidNamespace records a warning on a dependent whose owner reference resolves
// to an object in another namespace.
func (c *Controller) reportInvalidNamespace(dep, owner identity) {
	if c.opts.Recorder == nil {
		return
	}
	c.opts.Recorder.Eventf(reference(dep), corev1.EventTypeWarning, "OwnerRefInvalidNamespace",
		"ownerRef %s does not exist in namespace %q", owner, dep.Namespace)
}

func reference(id identity) *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: id.APIVersion, Kind: id.Kind, Namespace: id.Namespace, Name: id.Name, UID: id.UID}
}
