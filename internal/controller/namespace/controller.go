package namespace

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
)

// Name is the controller's name in --controllers.
const Name = "namespace-controller"

// Options configures the controller.
type Options struct {
	Client kubernetes.Interface
	// Metadata lists and deletes the content of every resource. Required.
	Metadata  metadata.Interface
	Informers informers.SharedInformerFactory
	// Discovery lists the resources. Default Client.Discovery().
	Discovery discovery.DiscoveryInterface
	// Workers. Default 1 (upstream's --concurrent-namespace-syncs is 10).
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
	Clock   clock.WithTicker
}

// Controller empties and finalizes deleted namespaces.
type Controller struct {
	opts Options
	loop *base.Loop
	log  *slog.Logger
}

// New registers the informers the controller needs; Run starts it.
func New(opts Options) (*Controller, error) {
	if opts.Discovery == nil {
		opts.Discovery = opts.Client.Discovery()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Controller{opts: opts, log: opts.Logger.With("controller", Name)}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	inf := opts.Informers.Core().V1().Namespaces().Informer()
	enqueue := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
			c.loop.Enqueue(ns)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	c.loop.WaitFor(inf.HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

func (c *Controller) sync(ctx context.Context, name string) error {
	namespaces := c.opts.Client.CoreV1().Namespaces()
	// The cache may lag a recreated namespace: decide on the live object.
	ns, err := namespaces.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		return nil
	}
	resources, failures, err := discover(c.opts.Discovery)
	if err != nil {
		_ = c.setConditions(ctx, name, outcome{discoveryFailures: []string{err.Error()}})
		return fmt.Errorf("discovering resources to delete in namespace %s: %w", name, err)
	}
	o := deleteContent(ctx, c.opts.Metadata, name, resources)
	o.discoveryFailures = failures
	if err := c.setConditions(ctx, name, o); err != nil {
		return err
	}
	switch {
	case o.done():
		return c.finalize(ctx, name)
	case len(o.deleteFailures) > 0 || len(o.discoveryFailures) > 0:
		return fmt.Errorf("namespace %s: deleting content: %v %v", name, o.discoveryFailures, o.deleteFailures)
	}
	c.log.Debug("content remaining", "namespace", name, "remaining", o.remaining, "estimate", o.estimate)
	return base.RequeueAfter(time.Duration(o.estimate/2+1) * time.Second)
}

// setConditions records o in the namespace's conditions and keeps it Terminating.
func (c *Controller) setConditions(ctx context.Context, name string, o outcome) error {
	namespaces := c.opts.Client.CoreV1().Namespaces()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ns, err := namespaces.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, changed := mergeConditions(ns.Status.Conditions, deletionConditions(o), c.opts.Clock.Now())
		if !changed && ns.Status.Phase == corev1.NamespaceTerminating {
			return nil
		}
		ns = ns.DeepCopy()
		ns.Status.Conditions, ns.Status.Phase = conds, corev1.NamespaceTerminating
		_, err = namespaces.UpdateStatus(ctx, ns, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("updating status of namespace %s: %w", name, err)
	}
	return nil
}

// finalize removes the kubernetes finalizer; the API server deletes the namespace when no
// finalizer is left.
func (c *Controller) finalize(ctx context.Context, name string) error {
	namespaces := c.opts.Client.CoreV1().Namespaces()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ns, err := namespaces.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
			return nil
		}
		ns = ns.DeepCopy()
		ns.Spec.Finalizers = slices.DeleteFunc(ns.Spec.Finalizers, func(f corev1.FinalizerName) bool { return f == corev1.FinalizerKubernetes })
		_, err = namespaces.Finalize(ctx, ns, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalizing namespace %s: %w", name, err)
	}
	c.log.Info("namespace emptied and finalized", "namespace", name)
	return nil
}
