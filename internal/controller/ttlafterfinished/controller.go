package ttlafterfinished

import (
	"context"
	"fmt"
	"log/slog"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
)

// Name is the controller's name in --controllers.
const Name = "ttl-after-finished-controller"

// Options configures the controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Workers. Default 1 (upstream's --concurrent-ttl-after-finished-syncs is 5).
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
	Clock   clock.WithTicker
}

// Controller deletes expired jobs.
type Controller struct {
	opts Options
	jobs batchlisters.JobLister
	loop *base.Loop
}

// New registers the informers the controller needs; Run starts it.
func New(opts Options) (*Controller, error) {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	c := &Controller{opts: opts}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	inf := opts.Informers.Batch().V1().Jobs()
	c.jobs = inf.Lister()
	enqueue := func(obj any) {
		if j, ok := obj.(*batchv1.Job); ok && needsCleanup(j) {
			c.loop.Enqueue(j)
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	c.loop.WaitFor(inf.Informer().HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	job, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if due, err := c.due(job); !due {
		return err
	}
	// The cache may be stale: the TTL may have been changed or removed since.
	fresh, err := c.opts.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if left, ok, err := timeLeft(fresh, c.opts.Clock.Now()); err != nil || !ok || left > 0 {
		if ok && err == nil {
			return base.RequeueAfter(left)
		}
		return err
	}
	policy := metav1.DeletePropagationBackground
	err = c.opts.Client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &fresh.UID, ResourceVersion: &fresh.ResourceVersion},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting expired job %s: %w", key, err)
	}
	return nil
}

// due reports whether job has expired; when it has not yet, the error asks to look again
// when it will have.
func (c *Controller) due(job *batchv1.Job) (bool, error) {
	left, ok, err := timeLeft(job, c.opts.Clock.Now())
	switch {
	case err != nil || !ok:
		return false, err
	case left > 0:
		return false, base.RequeueAfter(left)
	}
	return true, nil
}
