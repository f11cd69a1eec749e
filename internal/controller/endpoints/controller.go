package endpoints

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"capstan/internal/controller/base"
	"capstan/internal/controller/endpointutil"
)

// Name is the controller's name in --controllers.
const Name = "endpoints-controller"

// leaderAnnotation marks Endpoints used for leader election by old clients; they have no
// service and must be left alone.
const leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"

// Options configures the controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder for write failures (FailedToCreateEndpoint, FailedToUpdateEndpoint).
	// Optional.
	Recorder record.EventRecorder
	// Workers syncing services. Default 1.
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
}

// Controller keeps Endpoints in step with services and pods.
type Controller struct {
	opts      Options
	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	endpoints corelisters.EndpointsLister
	triggers  *endpointutil.TriggerTimes
	synced    []cache.InformerSynced
	loop      *base.Loop
}

// New registers the informers; Run starts the controller.
func New(opts Options) (*Controller, error) {
	if opts.Recorder == nil {
		opts.Recorder = &record.FakeRecorder{}
	}
	c := &Controller{opts: opts, triggers: endpointutil.NewTriggerTimes()}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger})
	svcInf := opts.Informers.Core().V1().Services()
	podInf := opts.Informers.Core().V1().Pods()
	epInf := opts.Informers.Core().V1().Endpoints()
	c.services, c.pods, c.endpoints = svcInf.Lister(), podInf.Lister(), epInf.Lister()
	if _, err := svcInf.Informer().AddEventHandler(c.loop.Handler()); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(endpointutil.PodHandler(c.services, c.loop.EnqueueKey)); err != nil {
		return nil, err
	}
	// A deleted Endpoints object of a live service is written again.
	if _, err := epInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: c.loop.Enqueue}); err != nil {
		return nil, err
	}
	c.synced = []cache.InformerSynced{svcInf.Informer().HasSynced, podInf.Informer().HasSynced, epInf.Informer().HasSynced}
	c.loop.WaitFor(c.synced...)
	return c, nil
}

// Run first queues every Endpoints object, so those whose service went away while the
// controller was down are removed, then runs until ctx is done.
func (c *Controller) Run(ctx context.Context) error {
	go func() {
		if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
			return
		}
		eps, _ := c.endpoints.List(labels.Everything())
		for _, ep := range eps {
			if _, leader := ep.Annotations[leaderAnnotation]; !leader {
				c.loop.Enqueue(ep)
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
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.triggers.Forget(key)
		return c.deleteOrphan(ctx, ns, name)
	}
	if err != nil {
		return err
	}
	if svc.Spec.Selector == nil {
		// Endpoints of a selectorless service are someone else's.
		return nil
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	subsets := desiredSubsets(svc, pods)
	trigger := c.triggers.Compute(key, svc, pods)
	current, err := c.endpoints.Endpoints(ns).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	desired := build(svc, current, subsets, trigger)
	if current != nil && upToDate(current, desired) {
		return nil
	}
	if current == nil {
		_, err = c.opts.Client.CoreV1().Endpoints(ns).Create(ctx, desired, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) || terminating(err) {
			// The informer is behind (a later sync will update), or the namespace is going.
			return nil
		}
		if err != nil {
			c.opts.Recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToCreateEndpoint", "Failed to create endpoint for service %s: %v", key, err)
		}
	} else {
		_, err = c.opts.Client.CoreV1().Endpoints(ns).Update(ctx, desired, metav1.UpdateOptions{})
		if err != nil && !apierrors.IsConflict(err) {
			c.opts.Recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpoint", "Failed to update endpoint %s: %v", key, err)
		}
	}
	if err != nil {
		return fmt.Errorf("writing endpoints %s: %w", key, err)
	}
	return nil
}

// deleteOrphan removes the Endpoints of a deleted service.
func (c *Controller) deleteOrphan(ctx context.Context, ns, name string) error {
	ep, err := c.endpoints.Endpoints(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, leader := ep.Annotations[leaderAnnotation]; leader || (ns == metav1.NamespaceDefault && name == "kubernetes") {
		return nil
	}
	err = c.opts.Client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &ep.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting endpoints %s/%s: %w", ns, name, err)
	}
	return nil
}

// build returns the desired Endpoints object: current (or a new one) with the subsets,
// the service's labels (plus the headless label) and the bookkeeping annotations.
func build(svc *corev1.Service, current *corev1.Endpoints, subsets []corev1.EndpointSubset, trigger time.Time) *corev1.Endpoints {
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace}}
	if current != nil {
		ep = current.DeepCopy()
	}
	ep.Subsets = subsets
	if ep.Subsets == nil {
		ep.Subsets = []corev1.EndpointSubset{}
	}
	ep.Labels = maps.Clone(svc.Labels)
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		if ep.Labels == nil {
			ep.Labels = map[string]string{}
		}
		ep.Labels[endpointutil.HeadlessLabel] = ""
	}
	if ep.Annotations == nil {
		ep.Annotations = map[string]string{}
	}
	if truncate(ep.Subsets, MaxCapacity) {
		ep.Annotations[OverCapacityAnnotation] = "truncated"
	} else {
		delete(ep.Annotations, OverCapacityAnnotation)
	}
	if !trigger.IsZero() {
		ep.Annotations[endpointutil.LastChangeTriggerTimeAnnotation] = trigger.UTC().Format(time.RFC3339Nano)
	} else {
		delete(ep.Annotations, endpointutil.LastChangeTriggerTimeAnnotation)
	}
	if len(ep.Annotations) == 0 {
		ep.Annotations = nil
	}
	return ep
}

// upToDate reports that writing desired would change nothing but the trigger time.
func upToDate(current, desired *corev1.Endpoints) bool {
	return apiequality.Semantic.DeepEqual(normalize(current.Subsets), normalize(desired.Subsets)) &&
		maps.Equal(current.Labels, desired.Labels) &&
		current.Annotations[OverCapacityAnnotation] == desired.Annotations[OverCapacityAnnotation]
}

func normalize(s []corev1.EndpointSubset) []corev1.EndpointSubset {
	if len(s) == 0 {
		return nil
	}
	return s
}

// terminating reports a create refused because the namespace is being deleted.
func terminating(err error) bool {
	return err != nil && (apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) || apierrors.IsForbidden(err))
}
