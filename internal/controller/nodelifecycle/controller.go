package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
)

// Name is the controller's name in --controllers.
const Name = "node-lifecycle-controller"

// monitorKey is the one key of the loop: every pass looks at all nodes, since zone
// health needs them all.
const monitorKey = "monitor"

// leaseNamespace holds the nodes' heartbeat Leases.
const leaseNamespace = corev1.NamespaceNodeLease

// Options configures the controller. Zero values take upstream's defaults.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder for node and pod events. Optional.
	Recorder record.EventRecorder
	// MonitorPeriod between passes. Default 5s.
	MonitorPeriod time.Duration
	// GracePeriod a node may stay silent before it is Unknown. Default 40s.
	GracePeriod time.Duration
	// StartupGracePeriod for a node that never posted a Ready condition. Default 60s.
	StartupGracePeriod time.Duration
	// EvictionRate and SecondaryEvictionRate in nodes per second. Default 0.1 and 0.01.
	EvictionRate, SecondaryEvictionRate float64
	// LargeClusterThreshold: a partly disrupted zone with more nodes keeps evicting at the
	// secondary rate. Default 50.
	LargeClusterThreshold int
	// UnhealthyZoneThreshold: fraction of not-ready nodes that makes a zone partly
	// disrupted. Default 0.55.
	UnhealthyZoneThreshold float64
	Metrics                *base.Metrics
	Logger                 *slog.Logger
	Clock                  clock.WithTicker
}

func (o *Options) complete() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.MonitorPeriod, 5*time.Second)
	def(&o.GracePeriod, 40*time.Second)
	def(&o.StartupGracePeriod, 60*time.Second)
	if o.EvictionRate <= 0 {
		o.EvictionRate = 0.1
	}
	if o.SecondaryEvictionRate <= 0 {
		o.SecondaryEvictionRate = 0.01
	}
	if o.LargeClusterThreshold <= 0 {
		o.LargeClusterThreshold = 50
	}
	if o.UnhealthyZoneThreshold <= 0 {
		o.UnhealthyZoneThreshold = 0.55
	}
	if o.Recorder == nil {
		o.Recorder = &record.FakeRecorder{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
}

// zone is the eviction state of one zone.
type zone struct {
	state  zoneState
	bucket *tokenBucket
	queue  fifo
}

// Controller is the node lifecycle controller.
type Controller struct {
	opts   Options
	nodes  corelisters.NodeLister
	leases coordinationlisters.LeaseNamespaceLister
	pods   cache.Indexer
	loop   *base.Loop
	log    *slog.Logger

	mu           sync.Mutex
	health       map[string]*heartbeat
	zones        map[string]*zone
	allDisrupted bool
}

// New registers the informers; Run starts the controller.
func New(opts Options) (*Controller, error) {
	opts.complete()
	c := &Controller{opts: opts, health: map[string]*heartbeat{}, zones: map[string]*zone{},
		log: opts.Logger.With("controller", Name)}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Metrics: opts.Metrics, Logger: opts.Logger, Clock: opts.Clock})
	nodeInf := opts.Informers.Core().V1().Nodes()
	leaseInf := opts.Informers.Coordination().V1().Leases()
	podInf := opts.Informers.Core().V1().Pods().Informer()
	if err := addNodeNameIndex(podInf); err != nil {
		return nil, err
	}
	c.nodes, c.leases, c.pods = nodeInf.Lister(), leaseInf.Lister().Leases(leaseNamespace), podInf.GetIndexer()
	// Heartbeats are read on each pass; only node changes call for an early one.
	kick := func(any) { c.loop.EnqueueKey(monitorKey) }
	if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: kick, UpdateFunc: func(_, obj any) { kick(obj) }, DeleteFunc: kick,
	}); err != nil {
		return nil, err
	}
	c.loop.WaitFor(nodeInf.Informer().HasSynced, leaseInf.Informer().HasSynced, podInf.HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Controller) Run(ctx context.Context) error {
	c.loop.EnqueueKey(monitorKey)
	return c.loop.Run(ctx)
}

// sync is one pass over every node: health, conditions, taints and the eviction queues.
func (c *Controller) sync(ctx context.Context, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Clock.Now()
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	slices.SortFunc(nodes, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	var errs []error
	counts := map[string]*[2]int{} // zone -> ready, not ready
	for i, node := range nodes {
		n, err := c.checkHealth(ctx, node, now)
		if err != nil {
			errs = append(errs, err)
		}
		cnt := counts[zoneOf(n)]
		if cnt == nil {
			cnt = &[2]int{}
			counts[zoneOf(n)] = cnt
		}
		if readyStatus(n) == corev1.ConditionTrue {
			cnt[0]++
		} else {
			cnt[1]++
		}
		if n, err = c.updateTaints(ctx, n, ownsNoSchedule, wantedNoSchedule(n), now); err != nil {
			errs = append(errs, err)
		}
		nodes[i] = n
	}
	c.forgetDeleted(nodes)
	c.updateZones(counts, now)
	for _, n := range nodes {
		if err := c.syncNoExecute(ctx, n, now); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, c.drainQueues(ctx, nodes, now)...)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return base.RequeueAfter(c.nextPass(now))
}

// checkHealth records the node's heartbeat and marks a silent node Unknown; it returns
// the node as it is now.
func (c *Controller) checkHealth(ctx context.Context, node *corev1.Node, now time.Time) (*corev1.Node, error) {
	lease, err := c.leases.Get(node.Name)
	if err != nil {
		lease = nil
	}
	hb, known := c.health[node.Name]
	if !known {
		c.nodeEvent(node, "RegisteredNode", fmt.Sprintf("Node %s event: Registered Node %s in Controller", node.Name, node.Name))
	}
	hb, deadline := observe(hb, node, lease, now, healthTimes{Monitor: c.opts.GracePeriod, Startup: c.opts.StartupGracePeriod})
	c.health[node.Name] = hb
	if now.After(deadline) {
		n := node.DeepCopy()
		if markUnknown(&n.Status, node.CreationTimestamp, metav1.NewTime(now)) {
			updated, err := c.opts.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
			if err != nil {
				return node, fmt.Errorf("marking node %s unknown: %w", node.Name, err)
			}
			c.log.Info("node stopped posting status", "node", node.Name, "silentFor", now.Sub(hb.probe).Round(time.Second))
			if readyStatus(node) == corev1.ConditionTrue {
				c.nodeEvent(node, "NodeNotReady", fmt.Sprintf("Node %s status is now: %s", node.Name, "NodeNotReady"))
			}
			node = updated
		}
	}
	if r := condition(node.Status.Conditions, corev1.NodeReady); r != nil && r.Status == corev1.ConditionUnknown && r.Reason == reasonUnknown {
		return node, c.markPodsNotReady(ctx, node.Name)
	}
	return node, nil
}

// markPodsNotReady sets Ready=False on the pods of a node the controller found silent:
// nobody else will, and services must stop sending them traffic.
func (c *Controller) markPodsNotReady(ctx context.Context, nodeName string) error {
	objs, err := c.pods.ByIndex(nodeNameIndex, nodeName)
	if err != nil {
		return err
	}
	var errs []error
	for _, obj := range objs {
		pod := obj.(*corev1.Pod)
		i := slices.IndexFunc(pod.Status.Conditions, func(pc corev1.PodCondition) bool { return pc.Type == corev1.PodReady })
		if i < 0 || pod.Status.Conditions[i].Status == corev1.ConditionFalse {
			continue
		}
		pod = pod.DeepCopy()
		pod.Status.Conditions[i].Status = corev1.ConditionFalse
		pod.Status.Conditions[i].LastTransitionTime = metav1.NewTime(c.opts.Clock.Now())
		if _, err := c.opts.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("marking pod %s/%s not ready: %w", pod.Namespace, pod.Name, err))
			}
			continue
		}
		c.opts.Recorder.Event(pod, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
	}
	return errors.Join(errs...)
}

// forgetDeleted drops the state of nodes that are gone.
func (c *Controller) forgetDeleted(nodes []*corev1.Node) {
	live := map[string]bool{}
	for _, n := range nodes {
		live[n.Name] = true
	}
	for name := range c.health {
		if !live[name] {
			delete(c.health, name)
			c.nodeEvent(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, "RemovingNode",
				fmt.Sprintf("Node %s event: Removing Node %s from Controller", name, name))
			for _, z := range c.zones {
				z.queue.remove(name)
			}
		}
	}
}

// updateZones recomputes each zone's state and eviction rate. When every zone is fully
// disrupted the controller stops evicting: the likelier fault is its own connectivity.
// On the way out every node gets a fresh grace period.
func (c *Controller) updateZones(counts map[string]*[2]int, now time.Time) {
	all := len(counts) > 0
	states := map[string]zoneState{}
	for name, cnt := range counts {
		states[name] = computeZoneState(cnt[0], cnt[1], c.opts.UnhealthyZoneThreshold)
		all = all && states[name] == stateFullDisruption
	}
	switch {
	case all && !c.allDisrupted:
		c.log.Info("every node is not ready; stopping evictions until one is ready again")
	case !all && c.allDisrupted:
		c.log.Info("some nodes are ready again; resuming evictions")
		for _, hb := range c.health {
			hb.probe = now
		}
	}
	c.allDisrupted = all
	r := rates{Primary: c.opts.EvictionRate, Secondary: c.opts.SecondaryEvictionRate, LargeClusterSize: c.opts.LargeClusterThreshold}
	for name, st := range states {
		z := c.zones[name]
		if z == nil {
			z = &zone{bucket: newTokenBucket(c.opts.EvictionRate, now)}
			c.zones[name] = z
		}
		if z.state != st && z.state != "" {
			c.log.Info("zone state changed", "zone", name, "from", z.state, "to", st)
		}
		z.state = st
		rate := zoneRate(st, counts[name][0]+counts[name][1], r)
		if all {
			rate = 0
		}
		z.bucket.setRate(rate, now)
	}
	for name := range c.zones {
		if _, ok := states[name]; !ok {
			delete(c.zones, name)
		}
	}
}

// syncNoExecute removes the NoExecute taints of healthy nodes at once, swaps
// unreachable for not-ready (or back) at once, and queues new taints for the limiter.
func (c *Controller) syncNoExecute(ctx context.Context, n *corev1.Node, now time.Time) error {
	key := wantedNoExecute(readyStatus(n))
	z := c.zones[zoneOf(n)]
	hasOwned := slices.ContainsFunc(n.Spec.Taints, ownsNoExecute)
	switch {
	case key == "" || c.allDisrupted:
		z.queue.remove(n.Name)
		if hasOwned {
			_, err := c.updateTaints(ctx, n, ownsNoExecute, nil, now)
			return err
		}
	case hasOwned:
		// Already tainted: keep it, or swap unreachable and not-ready without waiting.
		z.queue.remove(n.Name)
		_, err := c.updateTaints(ctx, n, ownsNoExecute, noExecute(key), now)
		return err
	default:
		z.queue.push(n.Name)
	}
	return nil
}

func noExecute(key string) []corev1.Taint {
	return []corev1.Taint{{Key: key, Effect: corev1.TaintEffectNoExecute}}
}

// drainQueues taints queued nodes as far as each zone's limiter allows. nodes are the
// nodes as this pass left them.
func (c *Controller) drainQueues(ctx context.Context, nodes []*corev1.Node, now time.Time) []error {
	latest := map[string]*corev1.Node{}
	for _, n := range nodes {
		latest[n.Name] = n
	}
	var errs []error
	for _, name := range sortedKeys(c.zones) {
		z := c.zones[name]
		for z.queue.len() > 0 && z.bucket.take(now) {
			nodeName, _ := z.queue.pop()
			n := latest[nodeName]
			key := ""
			if n != nil {
				key = wantedNoExecute(readyStatus(n))
			}
			if key == "" {
				continue
			}
			if _, err := c.updateTaints(ctx, n, ownsNoExecute, noExecute(key), now); err != nil {
				z.queue.push(nodeName)
				errs = append(errs, err)
				break
			}
			c.log.Info("tainted node for eviction", "node", nodeName, "taint", key, "zone", name)
		}
	}
	return errs
}

// nextPass is when to look again: the monitor period, or sooner when a zone queue waits
// for its next token.
func (c *Controller) nextPass(now time.Time) time.Duration {
	next := c.opts.MonitorPeriod
	for _, z := range c.zones {
		if z.queue.len() == 0 {
			continue
		}
		if d, ok := z.bucket.wait(now); ok && d < next {
			next = max(d, 10*time.Millisecond)
		}
	}
	return next
}

// updateTaints makes the taints owns selects on node equal want and returns the node as
// stored, rereading it on a conflict. It never changes node, which may be a cached object.
func (c *Controller) updateTaints(ctx context.Context, node *corev1.Node, owns func(corev1.Taint) bool, want []corev1.Taint, now time.Time) (*corev1.Node, error) {
	for attempt := 0; ; attempt++ {
		taints, changed := reconcileTaints(node.Spec.Taints, owns, want, metav1.NewTime(now))
		if !changed {
			return node, nil
		}
		n := node.DeepCopy()
		n.Spec.Taints = taints
		updated, err := c.opts.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		switch {
		case err == nil:
			return updated, nil
		case apierrors.IsNotFound(err):
			return node, nil
		case !apierrors.IsConflict(err) || attempt >= 4:
			return node, fmt.Errorf("updating taints of node %s: %w", node.Name, err)
		}
		fresh, err := c.opts.Client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil {
			return node, err
		}
		node = fresh
	}
}

func (c *Controller) nodeEvent(node *corev1.Node, reason, message string) {
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}
	c.opts.Recorder.Event(ref, corev1.EventTypeNormal, reason, message)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
