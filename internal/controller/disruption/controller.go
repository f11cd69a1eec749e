package disruption

import (
	"context"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"capstan/internal/controller/base"
)

// Name is the controller's name in --controllers.
const Name = "disruption-controller"

// Options configures the controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder for the budget's events (NoPods, UnmanagedPods, ...). Optional.
	Recorder record.EventRecorder
	// Workers syncing budgets. Default 1.
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
	Clock   clock.WithTicker
}

// Controller keeps PodDisruptionBudget status.
type Controller struct {
	opts        Options
	pdbs        policylisters.PodDisruptionBudgetLister
	pods        corelisters.PodLister
	rcs         corelisters.ReplicationControllerLister
	rss         appslisters.ReplicaSetLister
	deployments appslisters.DeploymentLister
	sets        appslisters.StatefulSetLister
	loop        *base.Loop
	// stale clears DisruptionTarget conditions of pods whose deletion never came.
	stale *base.Loop
}

// New registers the informers; Run starts the controller.
func New(opts Options) (*Controller, error) {
	if opts.Recorder == nil {
		opts.Recorder = &record.FakeRecorder{}
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	c := &Controller{opts: opts}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	c.stale = base.New(base.Options{Name: Name + "-stale-pod-disruption", Sync: c.syncStale, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	f := opts.Informers
	pdbInf, podInf := f.Policy().V1().PodDisruptionBudgets(), f.Core().V1().Pods()
	rcInf, rsInf, depInf, ssInf := f.Core().V1().ReplicationControllers(), f.Apps().V1().ReplicaSets(), f.Apps().V1().Deployments(), f.Apps().V1().StatefulSets()
	c.pdbs, c.pods, c.rcs, c.rss, c.deployments, c.sets = pdbInf.Lister(), podInf.Lister(), rcInf.Lister(), rsInf.Lister(), depInf.Lister(), ssInf.Lister()
	if _, err := pdbInf.Informer().AddEventHandler(c.loop.Handler()); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.podChanged(obj); c.stalePodChanged(obj) },
		DeleteFunc: c.podChanged,
		UpdateFunc: func(oldObj, obj any) { c.podChanged(oldObj); c.podChanged(obj); c.stalePodChanged(obj) },
	}); err != nil {
		return nil, err
	}
	// A scale change of an owner changes the expected pods of the namespace's budgets.
	for _, inf := range []cache.SharedIndexInformer{rcInf.Informer(), rsInf.Informer(), depInf.Informer(), ssInf.Informer()} {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: c.namespaceChanged, DeleteFunc: c.namespaceChanged,
			UpdateFunc: func(_, obj any) { c.namespaceChanged(obj) },
		}); err != nil {
			return nil, err
		}
	}
	c.loop.WaitFor(pdbInf.Informer().HasSynced, podInf.Informer().HasSynced, rcInf.Informer().HasSynced,
		rsInf.Informer().HasSynced, depInf.Informer().HasSynced, ssInf.Informer().HasSynced)
	c.stale.WaitFor(podInf.Informer().HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Controller) Run(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- c.stale.Run(ctx) }()
	err := c.loop.Run(ctx)
	if serr := <-done; err == nil {
		err = serr
	}
	return err
}

// podChanged queues the budgets whose selector matches the pod.
func (c *Controller) podChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	pdbs, _ := c.pdbs.PodDisruptionBudgets(pod.Namespace).List(labels.Everything())
	for _, pdb := range pdbs {
		if sel, err := selectorOf(pdb); err == nil && sel.Matches(labels.Set(pod.Labels)) {
			c.loop.Enqueue(pdb)
		}
	}
}

func (c *Controller) namespaceChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	pdbs, _ := c.pdbs.PodDisruptionBudgets(m.GetNamespace()).List(labels.Everything())
	for _, pdb := range pdbs {
		c.loop.Enqueue(pdb)
	}
}

// selectorOf is the budget's pod selector: an empty one selects every pod of the
// namespace, a missing one none (policy/v1).
func selectorOf(pdb *policyv1.PodDisruptionBudget) (labels.Selector, error) {
	if pdb.Spec.Selector == nil {
		return labels.Nothing(), nil
	}
	return metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pdb, err := c.pdbs.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sel, err := selectorOf(pdb)
	if err != nil {
		return c.writeStatus(ctx, pdb, failedStatus(pdb, err))
	}
	ps, err := c.pods.Pods(ns).List(sel)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		c.opts.Recorder.Event(pdb, corev1.EventTypeNormal, "NoPods", "No matching pods found")
	}
	b, err := desiredHealthy(pdb, int32(len(ps)), func() (int32, error) { return c.expectedScale(pdb, ps) })
	if err != nil {
		c.opts.Recorder.Eventf(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		if werr := c.writeStatus(ctx, pdb, failedStatus(pdb, err)); werr != nil {
			return werr
		}
		return err
	}
	now := c.opts.Clock.Now()
	disrupted, recheck := disruptedPods(pdb, ps, now)
	if err := c.writeStatus(ctx, pdb, computeStatus(pdb, b, healthy(ps, disrupted), disrupted)); err != nil {
		return err
	}
	if !recheck.IsZero() {
		return base.RequeueAfter(recheck.Sub(now))
	}
	return nil
}

func (c *Controller) writeStatus(ctx context.Context, pdb *policyv1.PodDisruptionBudget, st policyv1.PodDisruptionBudgetStatus) error {
	if apiequality.Semantic.DeepEqual(pdb.Status, st) {
		return nil
	}
	next := pdb.DeepCopy()
	next.Status = st
	if _, err := c.opts.Client.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating status of budget %s/%s: %w", pdb.Namespace, pdb.Name, err)
	}
	return nil
}

// expectedScale sums the replicas of the controllers owning the pods (each counted
// once; a ReplicaSet of a Deployment counts as the Deployment). Pods without a
// controller are reported and left out.
func (c *Controller) expectedScale(pdb *policyv1.PodDisruptionBudget, ps []*corev1.Pod) (int32, error) {
	seen := map[types.UID]bool{}
	var total int32
	unmanaged := false
	for _, p := range ps {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			unmanaged = true
			continue
		}
		uid, replicas, ok := c.scaleOf(p.Namespace, ref)
		if !ok {
			return 0, fmt.Errorf("found no controllers for pod %q", p.Name)
		}
		if !seen[uid] {
			seen[uid] = true
			total += replicas
		}
	}
	if unmanaged {
		c.opts.Recorder.Event(pdb, corev1.EventTypeWarning, "UnmanagedPods", unmanagedMessage(pdb.Spec.Selector))
	}
	return total, nil
}

// scaleOf finds the scale of the controller ref points at: the owning Deployment for a
// ReplicaSet, else the object itself. ok is false for an unknown kind or a missing owner.
func (c *Controller) scaleOf(ns string, ref *metav1.OwnerReference) (uid types.UID, replicas int32, ok bool) {
	switch ref.Kind {
	case "ReplicaSet":
		rs, err := c.rss.ReplicaSets(ns).Get(ref.Name)
		if err != nil || rs.UID != ref.UID {
			break
		}
		if dref := metav1.GetControllerOf(rs); dref != nil && dref.Kind == "Deployment" {
			if d, err := c.deployments.Deployments(ns).Get(dref.Name); err == nil && d.UID == dref.UID {
				return d.UID, ptr.Deref(d.Spec.Replicas, 1), true
			}
		}
		return rs.UID, ptr.Deref(rs.Spec.Replicas, 1), true
	case "ReplicationController":
		if rc, err := c.rcs.ReplicationControllers(ns).Get(ref.Name); err == nil && rc.UID == ref.UID {
			return rc.UID, ptr.Deref(rc.Spec.Replicas, 1), true
		}
	case "StatefulSet":
		if ss, err := c.sets.StatefulSets(ns).Get(ref.Name); err == nil && ss.UID == ref.UID {
			return ss.UID, ptr.Deref(ss.Spec.Replicas, 1), true
		}
	case "Deployment":
		if d, err := c.deployments.Deployments(ns).Get(ref.Name); err == nil && d.UID == ref.UID {
			return d.UID, ptr.Deref(d.Spec.Replicas, 1), true
		}
	}
	return "", 0, false
}
