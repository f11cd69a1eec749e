package daemonset

import (
	"context"
	"errors"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
	"capstan/internal/controller/pods"
)

// Name is the controller's name in --controllers; "daemonset" is its older alias.
const Name = "daemonset-controller"

// BurstReplicas is upstream's cap on the pods one sync creates or deletes.
const BurstReplicas = 250

// Failed daemon pods are replaced with a per-node backoff, as upstream.
const (
	failedPodBackoffInitial = time.Second
	failedPodBackoffMax     = 15 * time.Minute
)

var kind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Options configures a Controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder records events as "daemonset-controller". Required.
	Recorder record.EventRecorder
	// Workers syncing DaemonSets in parallel. Default 2 (upstream's --concurrent-daemonset-syncs).
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
	Clock   clock.WithTicker
}

// Controller is the DaemonSet controller.
type Controller struct {
	opts      Options
	sets      appslisters.DaemonSetLister
	pods      corelisters.PodLister
	nodes     corelisters.NodeLister
	revisions appslisters.ControllerRevisionLister
	control   pods.Control
	// creations and deletions not yet seen in the pod informer, per DaemonSet key.
	creations, deletions *pods.Expectations
	failedBackoff        *flowcontrol.Backoff
	loop                 *base.Loop
	log                  *slog.Logger
}

// New returns the controller, registered with the informers it watches.
func New(opts Options) (*Controller, error) {
	if opts.Client == nil || opts.Informers == nil || opts.Recorder == nil {
		return nil, errors.New(Name + ": Client, Informers and Recorder are required")
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	dsInf := opts.Informers.Apps().V1().DaemonSets()
	podInf := opts.Informers.Core().V1().Pods()
	nodeInf := opts.Informers.Core().V1().Nodes()
	revInf := opts.Informers.Apps().V1().ControllerRevisions()
	backoff := flowcontrol.NewBackOff(failedPodBackoffInitial, failedPodBackoffMax)
	backoff.Clock = opts.Clock
	c := &Controller{
		opts: opts, sets: dsInf.Lister(), pods: podInf.Lister(), nodes: nodeInf.Lister(), revisions: revInf.Lister(),
		control:   pods.Control{Client: opts.Client, Recorder: opts.Recorder},
		creations: pods.NewExpectations(opts.Clock), deletions: pods.NewExpectations(opts.Clock),
		failedBackoff: backoff,
		log:           opts.Logger.With("controller", Name),
	}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{dsInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc: c.loop.Enqueue, UpdateFunc: func(_, o any) { c.loop.Enqueue(o) }, DeleteFunc: c.setDeleted,
		}},
		{podInf.Informer(), c.podEvents().Handler()},
		{nodeInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc: func(any) { c.enqueueAll() }, UpdateFunc: c.nodeUpdated, DeleteFunc: func(any) { c.enqueueAll() },
		}},
		{revInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc: c.revisionChanged, UpdateFunc: func(_, o any) { c.revisionChanged(o) }, DeleteFunc: c.revisionChanged,
		}},
	}
	for _, x := range handlers {
		if _, err := x.inf.AddEventHandler(x.h); err != nil {
			return nil, err
		}
		c.loop.WaitFor(x.inf.HasSynced)
	}
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

func (c *Controller) podEvents() pods.PodEvents {
	return pods.PodEvents{
		Kind: kind,
		OwnerUID: func(ns, name string) (types.UID, bool) {
			ds, err := c.sets.DaemonSets(ns).Get(name)
			if err != nil {
				return "", false
			}
			return ds.UID, true
		},
		Matching: func(p *corev1.Pod) []string {
			sets, err := c.sets.DaemonSets(p.Namespace).List(labels.Everything())
			if err != nil {
				return nil
			}
			return pods.SelectorMatches(sets, func(ds *appsv1.DaemonSet) *metav1.LabelSelector { return ds.Spec.Selector }, p.Labels)
		},
		Enqueue: c.loop.EnqueueKey,
		Created: func(key string, _ *corev1.Pod) { c.creations.CreationObserved(key) },
		Deleted: func(key string, p *corev1.Pod) { c.deletions.DeletionObserved(key, pods.Key(p)) },
	}
}

func (c *Controller) setDeleted(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.forget(key)
	}
	c.loop.Enqueue(obj)
}

func (c *Controller) forget(key string) {
	c.creations.Forget(key)
	c.deletions.Forget(key)
}

func (c *Controller) satisfied(key string) bool {
	return c.creations.Satisfied(key) && c.deletions.Satisfied(key)
}

func (c *Controller) enqueueAll() {
	sets, err := c.sets.List(labels.Everything())
	if err != nil {
		return
	}
	for _, ds := range sets {
		c.loop.Enqueue(ds)
	}
}

// nodeUpdated wakes every DaemonSet when what placement looks at changed (labels, taints);
// heartbeats and status changes do not matter.
func (c *Controller) nodeUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Node), newObj.(*corev1.Node)
	if labels.Equals(old.Labels, cur.Labels) && apiequality.Semantic.DeepEqual(old.Spec.Taints, cur.Spec.Taints) {
		return
	}
	c.enqueueAll()
}

func (c *Controller) revisionChanged(obj any) {
	rev, ok := obj.(*appsv1.ControllerRevision)
	if !ok {
		tomb, isTomb := obj.(cache.DeletedFinalStateUnknown)
		if !isTomb {
			return
		}
		if rev, ok = tomb.Obj.(*appsv1.ControllerRevision); !ok {
			return
		}
	}
	if ref := metav1.GetControllerOfNoCopy(rev); ref != nil && ref.Kind == kind.Kind && ref.APIVersion == kind.GroupVersion().String() {
		c.loop.EnqueueKey(rev.Namespace + "/" + ref.Name)
	}
}
