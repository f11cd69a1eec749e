package endpointslice

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"capstan/internal/controller/base"
	"capstan/internal/controller/endpointutil"
)

// Name is the controller's name in --controllers.
const Name = "endpointslice-controller"

// Options configures the controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder for write failures (FailedToUpdateEndpointSlices). Optional.
	Recorder record.EventRecorder
	// MaxEndpointsPerSlice. Default 100.
	MaxEndpointsPerSlice int
	// Workers syncing services. Default 1.
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
}

// Controller keeps the EndpointSlices of services with selectors.
type Controller struct {
	opts     Options
	services corelisters.ServiceLister
	pods     corelisters.PodLister
	nodes    corelisters.NodeLister
	slices   discoverylisters.EndpointSliceLister
	triggers *endpointutil.TriggerTimes
	writer   *writer
	loop     *base.Loop
}

// New registers the informers; Run starts the controller.
func New(opts Options) (*Controller, error) {
	if opts.MaxEndpointsPerSlice <= 0 {
		opts.MaxEndpointsPerSlice = MaxEndpointsPerSlice
	}
	if opts.Recorder == nil {
		opts.Recorder = &record.FakeRecorder{}
	}
	c := &Controller{opts: opts, triggers: endpointutil.NewTriggerTimes(), writer: newWriter(opts.Client)}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger})
	f := opts.Informers
	svcInf, podInf, nodeInf, sliceInf := f.Core().V1().Services(), f.Core().V1().Pods(), f.Core().V1().Nodes(), f.Discovery().V1().EndpointSlices()
	c.services, c.pods, c.nodes, c.slices = svcInf.Lister(), podInf.Lister(), nodeInf.Lister(), sliceInf.Lister()
	if _, err := svcInf.Informer().AddEventHandler(c.loop.Handler()); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(endpointutil.PodHandler(c.services, c.loop.EnqueueKey)); err != nil {
		return nil, err
	}
	// Changes to the controller's slices by anyone are repaired.
	if _, err := sliceInf.Informer().AddEventHandler(sliceHandler(ControllerManager, c.loop.EnqueueKey)); err != nil {
		return nil, err
	}
	c.loop.WaitFor(svcInf.Informer().HasSynced, podInf.Informer().HasSynced, nodeInf.Informer().HasSynced, sliceInf.Informer().HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	existing, err := c.slices.EndpointSlices(ns).List(managedBy(ControllerManager, name))
	if err != nil {
		return err
	}
	if !c.writer.fresh(key, existing) {
		return errStale
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// The garbage collector removes owned slices too; doing it here is quicker.
		c.triggers.Forget(key)
		c.writer.forget(key)
		return c.writer.apply(ctx, key, plan{delete: copies(existing)}, nil, sliceMeta{namespace: ns})
	}
	if err != nil {
		return err
	}
	if svc.Spec.Selector == nil {
		// Slices of selectorless services come from elsewhere (the mirroring controller).
		return nil
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return c.writer.apply(ctx, key, plan{delete: copies(existing)}, nil, sliceMeta{namespace: ns})
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	groups := desiredGroups(svc, pods, c.zoneOf)
	p := planSlices(existing, groups, c.opts.MaxEndpointsPerSlice, addressType(serviceFamilies(svc)[0]))
	m := sliceMeta{
		namespace: ns, generateName: slicePrefix(svc.Name), labels: serviceSliceLabels(svc),
		owner:   *metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service")),
		trigger: c.triggers.Compute(key, svc, pods),
	}
	if err := c.writer.apply(ctx, key, p, existing, m); err != nil {
		c.opts.Recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices", "Error updating Endpoint Slices for Service %s: %v", key, err)
		return err
	}
	return nil
}

func (c *Controller) zoneOf(node string) string {
	n, err := c.nodes.Get(node)
	if err != nil {
		return ""
	}
	return n.Labels[corev1.LabelTopologyZone]
}

// slicePrefix is the generateName of a service's slices, as upstream: the service name
// and a dash.
func slicePrefix(service string) string {
	if len(service) > 57 {
		service = service[:57]
	}
	return service + "-"
}

// managedBy selects a manager's slices of one service.
func managedBy(manager, service string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{discoveryv1.LabelManagedBy: manager, discoveryv1.LabelServiceName: service})
}

// sliceHandler queues the service of every change to a slice the manager owns.
func sliceHandler(manager string, enqueue func(string)) cache.ResourceEventHandler {
	on := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok || s.Labels[discoveryv1.LabelManagedBy] != manager || s.Labels[discoveryv1.LabelServiceName] == "" {
			return
		}
		enqueue(s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName])
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: on, UpdateFunc: func(_, obj any) { on(obj) }, DeleteFunc: on}
}

func copies(ss []*discoveryv1.EndpointSlice) []*discoveryv1.EndpointSlice {
	out := make([]*discoveryv1.EndpointSlice, len(ss))
	for i, s := range ss {
		out[i] = s.DeepCopy()
	}
	return out
}
