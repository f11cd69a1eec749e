package cronjob

import (
	"context"
	"fmt"
	"log/slog"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
)

// Name is the controller's name in --controllers.
const Name = "cronjob-controller"

// kind is the CronJob kind, for controller references.
var kind = batchv1.SchemeGroupVersion.WithKind("CronJob")

// Options configures the controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Recorder  record.EventRecorder
	// Workers. Default 1 (upstream's --concurrent-cron-job-syncs is 5).
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
	// Clock decides when jobs are due. Default real; tests step a fake one.
	Clock clock.WithTicker
}

// Controller runs CronJobs.
type Controller struct {
	opts     Options
	cronJobs batchlisters.CronJobLister
	jobs     batchlisters.JobLister
	loop     *base.Loop
	log      *slog.Logger
}

// New registers the informers the controller needs; Run starts it.
func New(opts Options) (*Controller, error) {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Recorder == nil {
		opts.Recorder = &record.FakeRecorder{}
	}
	c := &Controller{opts: opts, log: opts.Logger.With("controller", Name)}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	cjInf, jobInf := opts.Informers.Batch().V1().CronJobs(), opts.Informers.Batch().V1().Jobs()
	c.cronJobs, c.jobs = cjInf.Lister(), jobInf.Lister()
	if _, err := cjInf.Informer().AddEventHandler(c.loop.Handler()); err != nil {
		return nil, err
	}
	onJob := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		j, ok := obj.(*batchv1.Job)
		if !ok {
			return
		}
		if ref := metav1.GetControllerOf(j); ref != nil && ref.Kind == kind.Kind && ref.APIVersion == kind.GroupVersion().String() {
			c.loop.EnqueueKey(j.Namespace + "/" + ref.Name)
		}
	}
	if _, err := jobInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onJob, UpdateFunc: func(_, obj any) { onJob(obj) }, DeleteFunc: onJob,
	}); err != nil {
		return nil, err
	}
	c.loop.WaitFor(cjInf.Informer().HasSynced, jobInf.Informer().HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.cronJobs.CronJobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	all, err := c.jobs.Jobs(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	var children []*batchv1.Job
	for _, j := range all {
		if ref := metav1.GetControllerOf(j); ref != nil && ref.UID == cached.UID {
			children = append(children, j)
		}
	}
	cj := cached.DeepCopy()
	requeue, changed, syncErr := c.syncCronJob(ctx, cj, children)
	if c.cleanupHistory(ctx, cj, children) {
		changed = true
	}
	if changed {
		if _, err := c.opts.Client.BatchV1().CronJobs(ns).UpdateStatus(ctx, cj, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("updating status of cronjob %s: %w", key, err)
		}
	}
	if syncErr != nil {
		return syncErr
	}
	if requeue > 0 {
		return base.RequeueAfter(requeue)
	}
	return nil
}
