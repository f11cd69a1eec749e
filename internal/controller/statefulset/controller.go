package statefulset

import (
	"context"
	"errors"
	"log/slog"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
	"capstan/internal/controller/pods"
)

// Name is the controller's name in --controllers; "statefulset" is its older alias.
const Name = "statefulset-controller"

// Options configures a Controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder records events as "statefulset-controller". Required.
	Recorder record.EventRecorder
	// Workers syncing StatefulSets in parallel. Default 5 (upstream's
	// --concurrent-statefulset-syncs).
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
	Clock   clock.WithTicker
}

// Controller is the StatefulSet controller.
type Controller struct {
	opts      Options
	sets      appslisters.StatefulSetLister
	pods      corelisters.PodLister
	claims    corelisters.PersistentVolumeClaimLister
	revisions appslisters.ControllerRevisionLister
	loop      *base.Loop
	log       *slog.Logger
}

// New returns the controller, registered with the informers it watches.
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
	setInf := opts.Informers.Apps().V1().StatefulSets()
	podInf := opts.Informers.Core().V1().Pods()
	claimInf := opts.Informers.Core().V1().PersistentVolumeClaims()
	revInf := opts.Informers.Apps().V1().ControllerRevisions()
	c := &Controller{
		opts: opts, sets: setInf.Lister(), pods: podInf.Lister(), claims: claimInf.Lister(), revisions: revInf.Lister(),
		log: opts.Logger.With("controller", Name),
	}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{setInf.Informer(), c.loop.Handler()},
		{podInf.Informer(), c.podEvents().Handler()},
		{revInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc: c.ownedChanged, UpdateFunc: func(_, o any) { c.ownedChanged(o) }, DeleteFunc: c.ownedChanged,
		}},
		// Claims matter when they appear or go (a stale claim deleted frees its ordinal).
		{claimInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.ownedChanged, DeleteFunc: c.ownedChanged}},
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
			set, err := c.sets.StatefulSets(ns).Get(name)
			if err != nil {
				return "", false
			}
			return set.UID, true
		},
		Matching: func(p *corev1.Pod) []string {
			sets, err := c.sets.StatefulSets(p.Namespace).List(labels.Everything())
			if err != nil {
				return nil
			}
			return pods.SelectorMatches(sets, func(s *appsv1.StatefulSet) *metav1.LabelSelector { return s.Spec.Selector }, p.Labels)
		},
		Enqueue: c.loop.EnqueueKey,
	}
}

// ownedChanged enqueues the StatefulSet controlling a ControllerRevision, or owning a PVC
// (by controller reference, or by name for claims of pods the set owns).
func (c *Controller) ownedChanged(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	o, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	for _, ref := range o.GetOwnerReferences() {
		switch {
		case ref.Kind == kind.Kind && ref.APIVersion == kind.GroupVersion().String():
			c.loop.EnqueueKey(o.GetNamespace() + "/" + ref.Name)
		case ref.Kind == podKind.Kind && ref.APIVersion == podKind.GroupVersion().String():
			if parent, n := parentAndOrdinal(ref.Name); n >= 0 {
				c.loop.EnqueueKey(o.GetNamespace() + "/" + parent)
			}
		}
	}
}
