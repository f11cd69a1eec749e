package replicaset

import (
	"context"
	"errors"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
	"capstan/internal/controller/pods"
)

// Names of the two controllers, as upstream's --controllers knows them.
const (
	ReplicaSetName            = "replicaset-controller"
	ReplicationControllerName = "replicationcontroller-controller"
)

// DefaultBurstReplicas is upstream's cap on the pods created or deleted by one sync.
const DefaultBurstReplicas = 500

// Options configures a Controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder records the pod creation and deletion events. Required.
	Recorder record.EventRecorder
	// Workers syncing objects in parallel. Default 5.
	Workers int
	// BurstReplicas caps the creations or deletions of one sync. Default 500.
	BurstReplicas int
	Metrics       *base.Metrics
	Logger        *slog.Logger
	Clock         clock.WithTicker
}

// Controller keeps the pods of ReplicaSets (NewReplicaSet) or ReplicationControllers
// (NewReplicationController).
type Controller struct {
	opts    Options
	kind    kind
	pods    corelisters.PodLister
	control pods.Control
	exp     *pods.Expectations
	loop    *base.Loop
	log     *slog.Logger
}

// NewReplicaSet returns the ReplicaSet controller.
func NewReplicaSet(opts Options) (*Controller, error) {
	return newController(ReplicaSetName, opts, func() kind { return newReplicaSets(opts.Client, opts.Informers) })
}

// NewReplicationController returns the ReplicationController controller.
func NewReplicationController(opts Options) (*Controller, error) {
	return newController(ReplicationControllerName, opts, func() kind { return newReplicationControllers(opts.Client, opts.Informers) })
}

func newController(name string, opts Options, mk func() kind) (*Controller, error) {
	if opts.Client == nil || opts.Informers == nil || opts.Recorder == nil {
		return nil, errors.New(name + ": Client, Informers and Recorder are required")
	}
	if opts.Workers <= 0 {
		opts.Workers = 5
	}
	if opts.BurstReplicas <= 0 {
		opts.BurstReplicas = DefaultBurstReplicas
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	c := &Controller{
		opts:    opts,
		kind:    mk(),
		control: pods.Control{Client: opts.Client, Recorder: opts.Recorder},
		exp:     pods.NewExpectations(opts.Clock),
		log:     opts.Logger.With("controller", name),
	}
	podInf := opts.Informers.Core().V1().Pods()
	c.pods = podInf.Lister()
	c.loop = base.New(base.Options{Name: name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	if _, err := c.kind.informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.loop.Enqueue,
		UpdateFunc: func(_, obj any) { c.loop.Enqueue(obj) },
		DeleteFunc: c.ownerDeleted,
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.podAdded,
		UpdateFunc: c.podUpdated,
		DeleteFunc: c.podDeleted,
	}); err != nil {
		return nil, err
	}
	c.loop.WaitFor(c.kind.informer().HasSynced, podInf.Informer().HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

func (c *Controller) ownerDeleted(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.exp.Forget(key)
	}
	c.loop.Enqueue(obj)
}

// ownerKey resolves a pod's controllerRef to the key of one of our objects, or "".
func (c *Controller) ownerKey(p *corev1.Pod, ref *metav1.OwnerReference) string {
	gvk := c.kind.gvk()
	if ref.Kind != gvk.Kind || ref.APIVersion != gvk.GroupVersion().String() {
		return ""
	}
	rs, _, err := c.kind.get(p.Namespace, ref.Name)
	if err != nil || rs.UID != ref.UID {
		return ""
	}
	return p.Namespace + "/" + ref.Name
}

// enqueueMatching enqueues every object whose selector matches an orphan pod, so one of
// them adopts it.
func (c *Controller) enqueueMatching(p *corev1.Pod) {
	sets, err := c.kind.list(p.Namespace)
	if err != nil {
		return
	}
	for _, rs := range sets {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		c.loop.EnqueueKey(rs.Namespace + "/" + rs.Name)
	}
}

func (c *Controller) podAdded(obj any) {
	p := obj.(*corev1.Pod)
	if p.DeletionTimestamp != nil {
		// Seen for the first time already terminating (e.g. after a restart): a deletion,
		// not a creation, for the expectations.
		c.podDeleted(p)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		if key := c.ownerKey(p, ref); key != "" {
			c.exp.CreationObserved(key)
			c.loop.EnqueueKey(key)
		}
		return
	}
	c.enqueueMatching(p)
}

func (c *Controller) podUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return // a resync
	}
	labelsChanged := !labels.Equals(old.Labels, cur.Labels)
	if cur.DeletionTimestamp != nil {
		c.podDeleted(cur)
		if labelsChanged {
			c.podDeleted(old)
		}
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := !refEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if key := c.ownerKey(old, oldRef); key != "" {
			c.loop.EnqueueKey(key)
		}
	}
	if curRef != nil {
		if key := c.ownerKey(cur, curRef); key != "" {
			c.loop.EnqueueKey(key)
		}
		return
	}
	if labelsChanged || refChanged {
		c.enqueueMatching(cur)
	}
}

func refEqual(a, b *metav1.OwnerReference) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UID == b.UID
}

func (c *Controller) podDeleted(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
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
	if key := c.ownerKey(p, ref); key != "" {
		c.exp.DeletionObserved(key, pods.Key(p))
		c.loop.EnqueueKey(key)
	}
}
