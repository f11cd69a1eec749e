package nodelifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
)

// TaintEvictionName is the taint eviction controller's name in --controllers.
const TaintEvictionName = "taint-eviction-controller"

// TaintEvictionOptions configures the taint eviction controller.
type TaintEvictionOptions struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder for the TaintManagerEviction events. Optional.
	Recorder record.EventRecorder
	// Workers deleting pods. Default 1.
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
	Clock   clock.WithTicker
}

// TaintEviction deletes pods from nodes with NoExecute taints they do not tolerate.
type TaintEviction struct {
	opts   TaintEvictionOptions
	nodes  corelisters.NodeLister
	pods   corelisters.PodLister
	byNode cache.Indexer
	loop   *base.Loop
	log    *slog.Logger

	mu sync.Mutex
	// seen is when a pod's eviction was first considered (the start for taints without a
	// timeAdded); scheduled marks pods waiting for their tolerationSeconds.
	seen      map[string]time.Time
	scheduled map[string]bool
}

// NewTaintEviction registers the informers; Run starts the controller.
func NewTaintEviction(opts TaintEvictionOptions) (*TaintEviction, error) {
	if opts.Recorder == nil {
		opts.Recorder = &record.FakeRecorder{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	c := &TaintEviction{opts: opts, seen: map[string]time.Time{}, scheduled: map[string]bool{},
		log: opts.Logger.With("controller", TaintEvictionName)}
	c.loop = base.New(base.Options{Name: TaintEvictionName, Sync: c.sync, Workers: opts.Workers,
		Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	nodeInf := opts.Informers.Core().V1().Nodes()
	podInf := opts.Informers.Core().V1().Pods()
	if err := addNodeNameIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	c.nodes, c.pods, c.byNode = nodeInf.Lister(), podInf.Lister(), podInf.Informer().GetIndexer()
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.podChanged,
		UpdateFunc: func(_, obj any) { c.podChanged(obj) },
		DeleteFunc: c.loop.Enqueue,
	}); err != nil {
		return nil, err
	}
	if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.nodeChanged(nil, obj) },
		UpdateFunc: c.nodeChanged,
	}); err != nil {
		return nil, err
	}
	c.loop.WaitFor(nodeInf.Informer().HasSynced, podInf.Informer().HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *TaintEviction) Run(ctx context.Context) error { return c.loop.Run(ctx) }

// podChanged queues a pod bound to a node with NoExecute taints, or one waiting already.
func (c *TaintEviction) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return
	}
	key, _ := cache.MetaNamespaceKeyFunc(pod)
	c.mu.Lock()
	waiting := c.scheduled[key]
	c.mu.Unlock()
	if node, err := c.nodes.Get(pod.Spec.NodeName); waiting || (err == nil && len(noExecuteTaints(node)) > 0) {
		c.loop.EnqueueKey(key)
	}
}

// nodeChanged queues the node's pods when its NoExecute taints changed.
func (c *TaintEviction) nodeChanged(oldObj, obj any) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	var before []corev1.Taint
	if old, ok := oldObj.(*corev1.Node); ok {
		before = noExecuteTaints(old)
	}
	after := noExecuteTaints(node)
	if apiequality.Semantic.DeepEqual(before, after) {
		return
	}
	pods, _ := c.byNode.ByIndex(nodeNameIndex, node.Name)
	for _, p := range pods {
		c.loop.Enqueue(p)
	}
}

func (c *TaintEviction) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	now := c.opts.Clock.Now()
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) || (err == nil && (pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil)) {
		c.forget(key, false)
		return nil
	}
	if err != nil {
		return err
	}
	node, err := c.nodes.Get(pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		c.forget(key, false)
		return nil
	}
	if err != nil {
		return err
	}
	d := decideEviction(pod.Spec.Tolerations, noExecuteTaints(node), c.firstSeen(key, now))
	switch {
	case !d.Evict:
		c.forget(key, true)
		return nil
	case d.At.After(now):
		c.mu.Lock()
		c.scheduled[key] = true
		c.mu.Unlock()
		return base.RequeueAfter(d.At.Sub(now))
	}
	if err := c.evict(ctx, pod); err != nil {
		return err
	}
	c.forget(key, false)
	return nil
}

// evict records the event and the DisruptionTarget condition, then deletes the pod.
func (c *TaintEviction) evict(ctx context.Context, pod *corev1.Pod) error {
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, Namespace: pod.Namespace}
	c.opts.Recorder.Eventf(ref, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s/%s", pod.Namespace, pod.Name)
	if !slices.ContainsFunc(pod.Status.Conditions, func(pc corev1.PodCondition) bool { return pc.Type == corev1.DisruptionTarget }) {
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByTaintManager",
			Message: "Taint manager: deleting due to NoExecute taint", LastTransitionTime: metav1.NewTime(c.opts.Clock.Now()),
		}}}})
		_, err := c.opts.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("marking pod %s/%s as a disruption target: %w", pod.Namespace, pod.Name, err)
		}
	}
	uid := pod.UID
	err := c.opts.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.log.Info("evicted pod from tainted node", "pod", pod.Namespace+"/"+pod.Name, "node", pod.Spec.NodeName)
	return nil
}

func (c *TaintEviction) firstSeen(key string, now time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.seen[key]
	if !ok {
		t = now
		c.seen[key] = t
	}
	return t
}

// forget drops a pod's state; cancelled says its pending eviction was called off, which
// upstream reports with an event.
func (c *TaintEviction) forget(key string, cancelled bool) {
	c.mu.Lock()
	was := c.scheduled[key]
	delete(c.seen, key)
	delete(c.scheduled, key)
	c.mu.Unlock()
	if cancelled && was {
		ns, name, _ := cache.SplitMetaNamespaceKey(key)
		ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Name: name, Namespace: ns}
		c.opts.Recorder.Eventf(ref, corev1.EventTypeNormal, "TaintManagerEviction", "Cancelling deletion of Pod %s", key)
	}
}
