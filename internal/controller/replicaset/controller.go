package replicaset

import (
	"context"
	"errors"
	"log/slog"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
	if _, err := podInf.Informer().AddEventHandler(c.podEvents().Handler()); err != nil {
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

// podEvents maps pod events to the keys of our objects, feeding the expectations.
func (c *Controller) podEvents() pods.PodEvents {
	return pods.PodEvents{
		Kind: c.kind.gvk(),
		OwnerUID: func(ns, name string) (types.UID, bool) {
			rs, _, err := c.kind.get(ns, name)
			if err != nil {
				return "", false
			}
			return rs.UID, true
		},
		Matching: func(p *corev1.Pod) []string {
			sets, err := c.kind.list(p.Namespace)
			if err != nil {
				return nil
			}
			return pods.SelectorMatches(sets, func(rs *appsv1.ReplicaSet) *metav1.LabelSelector { return rs.Spec.Selector }, p.Labels)
		},
		Enqueue: c.loop.EnqueueKey,
		Created: func(key string, _ *corev1.Pod) { c.exp.CreationObserved(key) },
		Deleted: func(key string, p *corev1.Pod) { c.exp.DeletionObserved(key, pods.Key(p)) },
	}
}
