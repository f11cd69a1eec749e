package podgc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
	"capstan/internal/controller/pods"
)

// Name is the controller's name in --controllers.
const Name = "pod-garbage-collector-controller"

// key is the one queue key: every sync looks at all pods.
const key = "pods"

// Options configures the controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Threshold of terminated pods kept; 0 or less keeps them all. Upstream's default is
	// 12500.
	Threshold int
	// Period between collections. Default 20s.
	Period time.Duration
	// Quarantine is how long a node must stay missing from the cache before a live lookup
	// decides its pods are orphans. Default 40s.
	Quarantine time.Duration
	Metrics    *base.Metrics
	Logger     *slog.Logger
	Clock      clock.WithTicker
}

// Controller collects pods.
type Controller struct {
	opts  Options
	pods  corelisters.PodLister
	nodes corelisters.NodeLister
	loop  *base.Loop
	log   *slog.Logger
	// missingSince is when each missing node was first noticed; only the one worker
	// touches it.
	missingSince map[string]time.Time
}

// New registers the informers the controller needs; Run starts it.
func New(opts Options) *Controller {
	if opts.Period <= 0 {
		opts.Period = 20 * time.Second
	}
	if opts.Quarantine <= 0 {
		opts.Quarantine = 40 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Controller{opts: opts, missingSince: map[string]time.Time{}, log: opts.Logger.With("controller", Name)}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: 1, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	podInf, nodeInf := opts.Informers.Core().V1().Pods(), opts.Informers.Core().V1().Nodes()
	c.pods, c.nodes = podInf.Lister(), nodeInf.Lister()
	c.loop.WaitFor(podInf.Informer().HasSynced, nodeInf.Informer().HasSynced)
	return c
}

// Run collects every period until ctx is done.
func (c *Controller) Run(ctx context.Context) error {
	c.loop.EnqueueKey(key)
	return c.loop.Run(ctx)
}

func (c *Controller) sync(ctx context.Context, _ string) error {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return err
	}
	nodeList, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	nodes := make(map[string]*corev1.Node, len(nodeList))
	known := make(map[string]bool, len(nodeList))
	for _, n := range nodeList {
		nodes[n.Name], known[n.Name] = n, true
	}
	var errs []error
	collect := func(pods []*corev1.Pod, cond *corev1.PodCondition) {
		for _, p := range pods {
			if err := c.failAndDelete(ctx, p, cond); err != nil {
				errs = append(errs, err)
			}
		}
	}
	collect(excessTerminated(pods, c.opts.Threshold), nil)
	collect(terminatingOutOfService(pods, nodes), nil)
	gone, err := c.deletedNodes(ctx, missingNodes(pods, known))
	if err != nil {
		errs = append(errs, err)
	}
	collect(onNodes(pods, gone), &corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists",
	})
	collect(unscheduledTerminating(pods), nil)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return base.RequeueAfter(c.opts.Period)
}

// deletedNodes returns the missing nodes that have been missing for the quarantine and
// that a live lookup confirms are gone.
func (c *Controller) deletedNodes(ctx context.Context, missing []string) (map[string]bool, error) {
	now := c.opts.Clock.Now()
	still := map[string]bool{}
	gone := map[string]bool{}
	var errs []error
	for _, name := range missing {
		still[name] = true
		since, ok := c.missingSince[name]
		if !ok {
			c.missingSince[name] = now
			continue
		}
		if now.Sub(since) < c.opts.Quarantine {
			continue
		}
		_, err := c.opts.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			gone[name] = true
		case err != nil:
			errs = append(errs, fmt.Errorf("looking up node %s: %w", name, err))
		default:
			// The cache is behind: the node exists.
			delete(c.missingSince, name)
		}
	}
	for name := range c.missingSince {
		if !still[name] {
			delete(c.missingSince, name)
		}
	}
	return gone, errors.Join(errs...)
}

// failAndDelete marks a pod that is not yet terminal Failed (with cond, when given) so
// its controller counts it as failed, then force-deletes it.
func (c *Controller) failAndDelete(ctx context.Context, p *corev1.Pod, cond *corev1.PodCondition) error {
	podClient := c.opts.Client.CoreV1().Pods(p.Namespace)
	if !pods.IsTerminal(p) {
		p = p.DeepCopy()
		p.Status.Phase = corev1.PodFailed
		if cond != nil {
			setCondition(&p.Status, *cond, c.opts.Clock.Now())
		}
		if _, err := podClient.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("marking pod %s/%s failed: %w", p.Namespace, p.Name, err)
		}
	}
	c.log.Info("force deleting pod", "pod", p.Namespace+"/"+p.Name)
	uid := p.UID
	err := podClient.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64), Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

func setCondition(st *corev1.PodStatus, cond corev1.PodCondition, now time.Time) {
	cond.LastTransitionTime = metav1.NewTime(now)
	for i, c := range st.Conditions {
		if c.Type == cond.Type {
			if c.Status == cond.Status {
				cond.LastTransitionTime = c.LastTransitionTime
			}
			st.Conditions[i] = cond
			return
		}
	}
	st.Conditions = append(st.Conditions, cond)
}
