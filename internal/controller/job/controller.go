package job

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
	"capstan/internal/controller/pods"
)

// Name is the controller's name in --controllers.
const Name = "job-controller"

// kind is the Job kind, for controller references.
var kind = batchv1.SchemeGroupVersion.WithKind("Job")

// maxPodChangesPerSync caps the pods created or deleted in one sync, as upstream does.
const maxPodChangesPerSync = 500

// Options configures the controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Recorder  record.EventRecorder
	// Workers. Default 1 (upstream's --concurrent-job-syncs is 5).
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
	// Clock for start times, deadlines and backoff. Default real.
	Clock clock.WithTicker
}

// Controller runs Jobs.
type Controller struct {
	opts    Options
	jobs    batchlisters.JobLister
	pods    corelisters.PodLister
	control pods.Control
	exp     *pods.Expectations
	loop    *base.Loop
	log     *slog.Logger

	mu sync.Mutex
	// backoff remembers each job's recent failures.
	backoff map[string]backoffRecord
	// released holds, per job, the pods whose finalizer this controller removed and that
	// the cache may still show with it: they must not be counted twice.
	released map[string]map[types.UID]bool
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
	c := &Controller{
		opts: opts, log: opts.Logger.With("controller", Name),
		control: pods.Control{Client: opts.Client, Recorder: opts.Recorder},
		exp:     pods.NewExpectations(opts.Clock),
		backoff: map[string]backoffRecord{}, released: map[string]map[types.UID]bool{},
	}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	jobInf, podInf := opts.Informers.Batch().V1().Jobs(), opts.Informers.Core().V1().Pods()
	c.jobs, c.pods = jobInf.Lister(), podInf.Lister()
	if _, err := jobInf.Informer().AddEventHandler(c.loop.Handler()); err != nil {
		return nil, err
	}
	events := pods.PodEvents{
		Kind: kind,
		OwnerUID: func(ns, name string) (types.UID, bool) {
			j, err := c.jobs.Jobs(ns).Get(name)
			if err != nil {
				return "", false
			}
			return j.UID, true
		},
		Matching: func(p *corev1.Pod) []string {
			jobs, err := c.jobs.Jobs(p.Namespace).List(labels.Everything())
			if err != nil {
				return nil
			}
			return pods.SelectorMatches(jobs, func(j *batchv1.Job) *metav1.LabelSelector { return j.Spec.Selector }, p.Labels)
		},
		Enqueue: c.loop.EnqueueKey,
		Created: func(key string, _ *corev1.Pod) { c.exp.CreationObserved(key) },
		Deleted: func(key string, p *corev1.Pod) { c.exp.DeletionObserved(key, pods.Key(p)) },
	}
	if _, err := podInf.Informer().AddEventHandler(events.Handler()); err != nil {
		return nil, err
	}
	// Pods still holding the tracking finalizer after their job went away are released by
	// syncing the job's (now missing) key.
	orphan := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		p, ok := obj.(*corev1.Pod)
		if !ok || !slices.Contains(p.Finalizers, finalizer) {
			return
		}
		ref := metav1.GetControllerOfNoCopy(p)
		if ref == nil || ref.Kind != kind.Kind || ref.APIVersion != kind.GroupVersion().String() {
			return
		}
		if j, err := c.jobs.Jobs(p.Namespace).Get(ref.Name); err != nil || j.UID != ref.UID {
			c.loop.EnqueueKey(p.Namespace + "/" + ref.Name)
		}
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: orphan, UpdateFunc: func(_, obj any) { orphan(obj) },
	}); err != nil {
		return nil, err
	}
	c.loop.WaitFor(jobInf.Informer().HasSynced, podInf.Informer().HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

// forget drops what the controller remembers of a job that is gone or finished.
func (c *Controller) forget(key string) {
	c.exp.Forget(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.backoff, key)
	delete(c.released, key)
}

func (c *Controller) backoffOf(key string) backoffRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.backoff[key]
}

func (c *Controller) setBackoff(key string, r backoffRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.backoff[key] = r
}

// releasedOf returns the pods of key released but maybe not yet seen released, after
// dropping those the cache now shows without the finalizer (or not at all).
func (c *Controller) releasedOf(key string, current []*corev1.Pod) map[types.UID]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	held := map[types.UID]bool{}
	for _, p := range current {
		if slices.Contains(p.Finalizers, finalizer) {
			held[p.UID] = true
		}
	}
	out := map[types.UID]bool{}
	for uid := range c.released[key] {
		if held[uid] {
			out[uid] = true
		} else {
			delete(c.released[key], uid)
		}
	}
	return out
}

func (c *Controller) markReleased(key string, uids []types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released[key] == nil {
		c.released[key] = map[types.UID]bool{}
	}
	for _, uid := range uids {
		c.released[key][uid] = true
	}
}
