package resourcequota

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
	"capstan/internal/quota"
)

// Name is the controller's name in --controllers.
const Name = "resourcequota-controller"

// Options configures the controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Metadata lists resources without an informer here, for count/<resource>.<group>.
	// Optional: such counts are then left out.
	Metadata metadata.Interface
	// Mapper resolves a count's group and resource to a version. Optional with Metadata.
	Mapper meta.RESTMapper
	// SyncPeriod between full recounts. Default 5m.
	SyncPeriod time.Duration
	// Workers syncing quotas. Default 1.
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
	Clock   clock.WithTicker
}

// Controller keeps quota status.
type Controller struct {
	opts   Options
	quotas corelisters.ResourceQuotaLister
	// listers of the kinds counted from informers, by resource.
	listers map[string]func(ns string) ([]runtime.Object, error)
	loop    *base.Loop
	log     *slog.Logger
}

// New registers the informers; Run starts the controller.
func New(opts Options) (*Controller, error) {
	if opts.SyncPeriod <= 0 {
		opts.SyncPeriod = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	c := &Controller{opts: opts, listers: map[string]func(string) ([]runtime.Object, error){}, log: opts.Logger.With("controller", Name)}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	qInf := opts.Informers.Core().V1().ResourceQuotas()
	c.quotas = qInf.Lister()
	if _, err := qInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.loop.Enqueue,
		UpdateFunc: func(oldObj, obj any) {
			old, cur := oldObj.(*corev1.ResourceQuota), obj.(*corev1.ResourceQuota)
			// Status-only changes are admission's charges: recounting then could miss
			// objects the cache has not seen yet.
			if !apiequality.Semantic.DeepEqual(old.Spec, cur.Spec) || !quota.Equal(cur.Spec.Hard, cur.Status.Hard) {
				c.loop.Enqueue(obj)
			}
		},
	}); err != nil {
		return nil, err
	}
	synced := []cache.InformerSynced{qInf.Informer().HasSynced}
	for _, k := range c.counted() {
		if err := c.watch(k.resource, k.informer, k.list); err != nil {
			return nil, err
		}
		synced = append(synced, k.informer.HasSynced)
	}
	c.loop.WaitFor(synced...)
	return c, nil
}

// countedKind is a kind counted from an informer.
type countedKind struct {
	resource string
	informer cache.SharedIndexInformer
	list     func(ns string) ([]runtime.Object, error)
}

func (c *Controller) counted() []countedKind {
	core := c.opts.Informers.Core().V1()
	sel := labels.Everything()
	objs := func(n int, at func(int) runtime.Object) []runtime.Object {
		out := make([]runtime.Object, n)
		for i := range out {
			out[i] = at(i)
		}
		return out
	}
	return []countedKind{
		{"pods", core.Pods().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.Pods().Lister().Pods(ns).List(sel)
			return objs(len(l), func(i int) runtime.Object { return l[i] }), err
		}},
		{"services", core.Services().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.Services().Lister().Services(ns).List(sel)
			return objs(len(l), func(i int) runtime.Object { return l[i] }), err
		}},
		{"configmaps", core.ConfigMaps().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.ConfigMaps().Lister().ConfigMaps(ns).List(sel)
			return objs(len(l), func(i int) runtime.Object { return l[i] }), err
		}},
		{"secrets", core.Secrets().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.Secrets().Lister().Secrets(ns).List(sel)
			return objs(len(l), func(i int) runtime.Object { return l[i] }), err
		}},
		{"persistentvolumeclaims", core.PersistentVolumeClaims().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.PersistentVolumeClaims().Lister().PersistentVolumeClaims(ns).List(sel)
			return objs(len(l), func(i int) runtime.Object { return l[i] }), err
		}},
		{"replicationcontrollers", core.ReplicationControllers().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.ReplicationControllers().Lister().ReplicationControllers(ns).List(sel)
			return objs(len(l), func(i int) runtime.Object { return l[i] }), err
		}},
		{"resourcequotas", core.ResourceQuotas().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.ResourceQuotas().Lister().ResourceQuotas(ns).List(sel)
			return objs(len(l), func(i int) runtime.Object { return l[i] }), err
		}},
	}
}

// watch registers a counted kind: changes that can lower usage queue the namespace's
// quotas for a recount.
func (c *Controller) watch(resource string, inf cache.SharedIndexInformer, list func(string) ([]runtime.Object, error)) error {
	c.listers[resource] = list
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, obj any) {
			if lowersUsage(oldObj, obj, c.opts.Clock.Now()) {
				c.enqueueNamespace(obj)
			}
		},
		DeleteFunc: c.enqueueNamespace,
	})
	return err
}

// lowersUsage reports an update after which an object may charge less: a pod that
// finished or started terminating, a service whose type or ports changed.
func lowersUsage(oldObj, obj any, now time.Time) bool {
	switch cur := obj.(type) {
	case *corev1.Pod:
		old := oldObj.(*corev1.Pod)
		return quota.Charged(old, now) != quota.Charged(cur, now) || (old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil)
	case *corev1.Service:
		old := oldObj.(*corev1.Service)
		return old.Spec.Type != cur.Spec.Type || len(old.Spec.Ports) != len(cur.Spec.Ports)
	case *corev1.PersistentVolumeClaim:
		old := oldObj.(*corev1.PersistentVolumeClaim)
		return !apiequality.Semantic.DeepEqual(old.Spec.Resources, cur.Spec.Resources)
	}
	return false
}

func (c *Controller) enqueueNamespace(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	qs, _ := c.quotas.ResourceQuotas(m.GetNamespace()).List(labels.Everything())
	for _, q := range qs {
		c.loop.Enqueue(q)
	}
}

// Run recounts every quota each sync period until ctx is done.
func (c *Controller) Run(ctx context.Context) error {
	go func() {
		t := c.opts.Clock.NewTicker(c.opts.SyncPeriod)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C():
				qs, _ := c.quotas.List(labels.Everything())
				for _, q := range qs {
					c.loop.Enqueue(q)
				}
			}
		}
	}()
	return c.loop.Run(ctx)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	q, err := c.quotas.ResourceQuotas(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	used, err := c.usage(ctx, q)
	if err != nil {
		return err
	}
	status := corev1.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: used}
	if quota.Equal(q.Status.Hard, status.Hard) && quota.Equal(q.Status.Used, status.Used) {
		return nil
	}
	next := q.DeepCopy()
	next.Status = status
	if _, err := c.opts.Client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating status of quota %s: %w", key, err)
	}
	return nil
}

// usage totals what the namespace's objects charge against q, for the resources it
// limits; every limited resource that can be counted gets a value.
func (c *Controller) usage(ctx context.Context, q *corev1.ResourceQuota) (corev1.ResourceList, error) {
	hard := q.Spec.Hard
	names := quota.Names(hard)
	used := corev1.ResourceList{}
	now := c.opts.Clock.Now()
	counted := map[corev1.ResourceName]bool{}
	for resource, list := range c.listers {
		gr := schema.GroupResource{Resource: resource}
		tracked := quota.Tracked(gr, names)
		if len(tracked) == 0 {
			continue
		}
		objs, err := list(q.Namespace)
		if err != nil {
			return nil, err
		}
		total := corev1.ResourceList{}
		for _, o := range objs {
			if ok, err := quota.Applies(q, hard, gr, o); err != nil {
				return nil, err
			} else if ok {
				total = quota.Add(total, quota.Usage(gr, o, now))
			}
		}
		for _, n := range tracked {
			counted[n] = true
			v := total[n]
			used[n] = v.DeepCopy()
		}
	}
	for _, n := range names {
		if counted[n] || !strings.HasPrefix(string(n), "count/") {
			continue
		}
		if v, ok, err := c.countOther(ctx, q.Namespace, n); err != nil {
			return nil, err
		} else if ok {
			used[n] = v
		}
	}
	return used, nil
}
