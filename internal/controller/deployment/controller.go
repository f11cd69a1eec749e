package deployment

import (
	"context"
	"errors"
	"log/slog"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
)

// Name of the controller, as upstream's --controllers knows it.
const Name = "deployment-controller"

var (
	deploymentKind = appsv1.SchemeGroupVersion.WithKind("Deployment")
	replicaSetKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
)

// Options configures a Controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder records ScalingReplicaSet and the other events on deployments. Required.
	Recorder record.EventRecorder
	// Workers syncing deployments in parallel. Default 5.
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
	Clock   clock.WithTicker
}

// Controller rolls Deployments out through ReplicaSets.
type Controller struct {
	opts        Options
	deployments appslisters.DeploymentLister
	rss         appslisters.ReplicaSetLister
	pods        corelisters.PodLister
	loop        *base.Loop
	log         *slog.Logger
}

// New returns the Deployment controller.
func New(opts Options) (*Controller, error) {
	if opts.Client == nil || opts.Informers == nil || opts.Recorder == nil {
		return nil, errors.New(Name + ": Client, Informers and Recorder are required")
	}
	if opts.Workers <= 0 {
		opts.Workers = 5
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	dInf := opts.Informers.Apps().V1().Deployments()
	rsInf := opts.Informers.Apps().V1().ReplicaSets()
	podInf := opts.Informers.Core().V1().Pods()
	c := &Controller{
		opts:        opts,
		deployments: dInf.Lister(),
		rss:         rsInf.Lister(),
		pods:        podInf.Lister(),
		log:         opts.Logger.With("controller", Name),
	}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	if _, err := dInf.Informer().AddEventHandler(c.loop.Handler()); err != nil {
		return nil, err
	}
	if _, err := rsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.rsAdded,
		UpdateFunc: c.rsUpdated,
		DeleteFunc: c.rsDeleted,
	}); err != nil {
		return nil, err
	}
	// Recreate waits for the old pods to be gone, which only pod deletions tell.
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: c.podDeleted}); err != nil {
		return nil, err
	}
	c.loop.WaitFor(dInf.Informer().HasSynced, rsInf.Informer().HasSynced, podInf.Informer().HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

// ownerOf resolves a ReplicaSet's controllerRef to one of our deployments.
func (c *Controller) ownerOf(ns string, ref *metav1.OwnerReference) *appsv1.Deployment {
	if ref == nil || ref.Kind != deploymentKind.Kind || ref.APIVersion != deploymentKind.GroupVersion().String() {
		return nil
	}
	d, err := c.deployments.Deployments(ns).Get(ref.Name)
	if err != nil || d.UID != ref.UID {
		return nil
	}
	return d
}

// enqueueMatching enqueues the deployments whose selector matches an orphan ReplicaSet.
func (c *Controller) enqueueMatching(rs *appsv1.ReplicaSet) {
	ds, err := c.deployments.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, d := range ds {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(rs.Labels)) {
			continue
		}
		c.loop.Enqueue(d)
	}
}

func (c *Controller) rsAdded(obj any) {
	rs := obj.(*appsv1.ReplicaSet)
	if rs.DeletionTimestamp != nil {
		c.rsDeleted(rs)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if d := c.ownerOf(rs.Namespace, ref); d != nil {
			c.loop.Enqueue(d)
		}
		return
	}
	c.enqueueMatching(rs)
}

func (c *Controller) rsUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*appsv1.ReplicaSet), newObj.(*appsv1.ReplicaSet)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := (curRef == nil) != (oldRef == nil) || (curRef != nil && curRef.UID != oldRef.UID)
	if refChanged && oldRef != nil {
		if d := c.ownerOf(old.Namespace, oldRef); d != nil {
			c.loop.Enqueue(d)
		}
	}
	if curRef != nil {
		if d := c.ownerOf(cur.Namespace, curRef); d != nil {
			c.loop.Enqueue(d)
		}
		return
	}
	if refChanged || !labels.Equals(old.Labels, cur.Labels) {
		c.enqueueMatching(cur)
	}
}

func (c *Controller) rsDeleted(obj any) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if rs, ok = tomb.Obj.(*appsv1.ReplicaSet); !ok {
			return
		}
	}
	if d := c.ownerOf(rs.Namespace, metav1.GetControllerOfNoCopy(rs)); d != nil {
		c.loop.Enqueue(d)
	}
}

// podDeleted wakes a Recreate deployment whose old pods are going away.
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
	if ref == nil || ref.Kind != replicaSetKind.Kind {
		return
	}
	rs, err := c.rss.ReplicaSets(p.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return
	}
	if d := c.ownerOf(rs.Namespace, metav1.GetControllerOfNoCopy(rs)); d != nil && d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		c.loop.Enqueue(d)
	}
}
