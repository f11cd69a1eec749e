package queue

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"capstan/internal/scheduler/framework"
)

// ErrClosed is returned by Pop after Close.
var ErrClosed = errors.New("scheduling queue is closed")

// Options configures a Queue.
type Options struct {
	// Clock. Default the real clock.
	Clock clock.WithTicker
	// InitialBackoff (default 1s) doubles with each attempt up to MaxBackoff (default 10s).
	InitialBackoff, MaxBackoff time.Duration
	// MaxInUnschedulable is how long a pod waits for a helpful event before it is retried
	// anyway. Default 5 minutes.
	MaxInUnschedulable time.Duration
	// Less orders the active queue (the QueueSort plugin). Required.
	Less func(a, b *framework.QueuedPodInfo) bool
	// PreEnqueue runs a profile's PreEnqueue plugins, by scheduler name (missing: none).
	PreEnqueue map[string]func(ctx context.Context, pod *corev1.Pod) *framework.Status
	// Events maps each profile to its plugins' registered events.
	Events map[string]map[string][]framework.ClusterEventWithHint
}

// Queue holds the pending pods. It is safe for concurrent use.
type Queue struct {
	opts Options
	clk  clock.WithTicker

	mu            sync.Mutex
	cond          *sync.Cond
	closed        bool
	active        *podHeap
	backoff       *podHeap
	unschedulable map[types.UID]*framework.QueuedPodInfo

	// In-flight pods (popped, attempt not finished) in pop order, and the events seen
	// while any pod was in flight.
	inFlight      map[types.UID]*list.Element
	inFlightOrder *list.List
	events        []recordedEvent
	seq           int64

	nominator *nominator
}

type inFlightPod struct {
	uid      types.UID
	startSeq int64
}

type recordedEvent struct {
	seq      int64
	event    framework.ClusterEvent
	old, new any
}

// New returns an empty queue.
func New(opts Options) *Queue {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff = time.Second
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	if opts.MaxInUnschedulable == 0 {
		opts.MaxInUnschedulable = 5 * time.Minute
	}
	q := &Queue{
		opts:          opts,
		clk:           opts.Clock,
		active:        newPodHeap(opts.Less),
		unschedulable: map[types.UID]*framework.QueuedPodInfo{},
		inFlight:      map[types.UID]*list.Element{},
		inFlightOrder: list.New(),
		nominator:     newNominator(),
	}
	q.backoff = newPodHeap(func(a, b *framework.QueuedPodInfo) bool {
		return q.backoffExpiry(a).Before(q.backoffExpiry(b))
	})
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Run flushes pods whose backoff ended (every second) and pods waiting too long in the
// unschedulable set (every 30 seconds) until ctx is done, then closes the queue.
func (q *Queue) Run(ctx context.Context) {
	backoff := q.clk.NewTicker(time.Second)
	defer backoff.Stop()
	leftover := q.clk.NewTicker(30 * time.Second)
	defer leftover.Stop()
	for {
		select {
		case <-ctx.Done():
			q.Close()
			return
		case <-backoff.C():
			q.FlushBackoffCompleted()
		case <-leftover.C():
			q.FlushUnschedulableLeftover()
		}
	}
}

// Close wakes Pop callers, which return ErrClosed.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

func (q *Queue) backoffDuration(p *framework.QueuedPodInfo) time.Duration {
	d := q.opts.InitialBackoff
	for i := 1; i < p.Attempts; i++ {
		if d > q.opts.MaxBackoff-d {
			return q.opts.MaxBackoff
		}
		d += d
	}
	return min(d, q.opts.MaxBackoff)
}

func (q *Queue) backoffExpiry(p *framework.QueuedPodInfo) time.Time {
	return p.Timestamp.Add(q.backoffDuration(p))
}

func (q *Queue) isBackingOff(p *framework.QueuedPodInfo) bool {
	return p.Attempts > 0 && q.backoffExpiry(p).After(q.clk.Now())
}

func (q *Queue) newQueued(pod *corev1.Pod) *framework.QueuedPodInfo {
	return &framework.QueuedPodInfo{PodInfo: framework.NewPodInfo(pod), Timestamp: q.clk.Now()}
}

// gate runs the PreEnqueue plugins and records the gating plugin.
func (q *Queue) gate(p *framework.QueuedPodInfo) bool {
	run := q.opts.PreEnqueue[p.Pod.Spec.SchedulerName]
	if run == nil {
		p.GatedBy = ""
		return false
	}
	s := run(context.Background(), p.Pod)
	if s.IsSuccess() {
		p.GatedBy = ""
		return false
	}
	p.GatedBy = s.Plugin()
	if p.GatedBy == "" {
		p.GatedBy = "PreEnqueue"
	}
	return true
}

// Add queues a new pending pod.
func (q *Queue) Add(pod *corev1.Pod) {
	p := q.newQueued(pod)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(p)
}

func (q *Queue) addLocked(p *framework.QueuedPodInfo) {
	uid := p.Pod.UID
	q.backoff.remove(uid)
	delete(q.unschedulable, uid)
	if q.gate(p) {
		q.unschedulable[uid] = p
	} else {
		q.active.add(p)
		q.cond.Broadcast()
	}
	q.nominator.add(p.PodInfo, "")
}

// Update replaces a pending pod. A pod waiting in the unschedulable set is retried when
// the change could help it (its rejecting plugins' hints for its own update).
func (q *Queue) Update(old, pod *corev1.Pod) {
	pi := framework.NewPodInfo(pod)
	q.mu.Lock()
	defer q.mu.Unlock()
	uid := pod.UID
	if p := q.active.get(uid); p != nil {
		p.PodInfo = pi
		q.active.add(p)
		q.nominator.add(pi, "")
		return
	}
	if p := q.backoff.get(uid); p != nil {
		p.PodInfo = pi
		q.backoff.add(p)
		q.nominator.add(pi, "")
		return
	}
	if p, ok := q.unschedulable[uid]; ok {
		p.PodInfo = pi
		q.nominator.add(pi, "")
		if p.GatedBy != "" {
			if !q.gate(p) {
				delete(q.unschedulable, uid)
				q.requeueLocked(p)
			}
			return
		}
		action := podUpdateAction(old, pod)
		if action == 0 {
			return
		}
		ev := framework.ClusterEvent{Resource: framework.UnscheduledPod, ActionType: action, Label: "UnscheduledPodUpdate"}
		if q.worthRequeuing(p, ev, old, pod) {
			delete(q.unschedulable, uid)
			q.requeueLocked(p)
		}
		return
	}
	if _, ok := q.inFlight[uid]; ok {
		if action := podUpdateAction(old, pod); action != 0 {
			q.recordLocked(framework.ClusterEvent{Resource: framework.UnscheduledPod, ActionType: action, Label: "UnscheduledPodUpdate"}, old, pod)
		}
		return
	}
	q.addLocked(&framework.QueuedPodInfo{PodInfo: pi, Timestamp: q.clk.Now()})
}

// podUpdateAction classifies a pending pod's own update; 0 when nothing the scheduler
// looks at changed (status, resource version, managed fields).
func podUpdateAction(old, pod *corev1.Pod) framework.ActionType {
	if old == nil {
		return framework.UpdateOther
	}
	var a framework.ActionType
	if !apiequality.Semantic.DeepEqual(old.Labels, pod.Labels) {
		a |= framework.UpdatePodLabel
	}
	if !apiequality.Semantic.DeepEqual(old.Spec.Tolerations, pod.Spec.Tolerations) {
		a |= framework.UpdatePodTolerations
	}
	if len(old.Spec.SchedulingGates) > 0 && len(pod.Spec.SchedulingGates) == 0 {
		a |= framework.UpdatePodSchedulingGatesEliminated
	}
	oldReq, newReq := framework.PodRequests(old, false), framework.PodRequests(pod, false)
	if newReq.MilliCPU < oldReq.MilliCPU || newReq.Memory < oldReq.Memory || newReq.EphemeralStorage < oldReq.EphemeralStorage {
		a |= framework.UpdatePodScaleDown
	}
	if a == 0 {
		o, n := old.Spec, pod.Spec
		if !apiequality.Semantic.DeepEqual(&o, &n) || !apiequality.Semantic.DeepEqual(old.Annotations, pod.Annotations) {
			a |= framework.UpdateOther
		}
	}
	return a
}

// Delete removes a pod from the queue and its nomination.
func (q *Queue) Delete(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.active.remove(pod.UID)
	q.backoff.remove(pod.UID)
	delete(q.unschedulable, pod.UID)
	q.nominator.delete(pod)
}

// Pop blocks until a pod is active and returns it; the attempt is in flight until Done or
// AddUnschedulableIfNotPresent.
func (q *Queue) Pop(ctx context.Context) (*framework.QueuedPodInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 {
		if q.closed || ctx.Err() != nil {
			return nil, ErrClosed
		}
		q.cond.Wait()
	}
	p := q.active.pop()
	p.Attempts++
	if p.InitialAttemptTimestamp.IsZero() {
		p.InitialAttemptTimestamp = q.clk.Now()
	}
	q.inFlight[p.Pod.UID] = q.inFlightOrder.PushBack(&inFlightPod{uid: p.Pod.UID, startSeq: q.seq})
	return p, nil
}

// Done ends the pod's in-flight attempt (after it was assumed, or dropped).
func (q *Queue) Done(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.doneLocked(uid)
}

func (q *Queue) doneLocked(uid types.UID) {
	e, ok := q.inFlight[uid]
	if !ok {
		return
	}
	delete(q.inFlight, uid)
	q.inFlightOrder.Remove(e)
	if q.inFlightOrder.Len() == 0 {
		clear(q.events)
		q.events = q.events[:0]
		return
	}
	oldest := q.inFlightOrder.Front().Value.(*inFlightPod).startSeq
	i := 0
	for i < len(q.events) && q.events[i].seq <= oldest {
		i++
	}
	if i > 0 {
		n := copy(q.events, q.events[i:])
		clear(q.events[n:])
		q.events = q.events[:n]
	}
}

func (q *Queue) recordLocked(ev framework.ClusterEvent, old, new any) {
	if len(q.inFlight) == 0 {
		return
	}
	q.seq++
	q.events = append(q.events, recordedEvent{seq: q.seq, event: ev, old: old, new: new})
}

// AddUnschedulableIfNotPresent returns a pod whose attempt failed. If an event seen during
// the attempt could help it, or it failed with an error (no rejecting plugin), it goes to
// the backoff (or active) queue; otherwise it waits in the unschedulable set.
func (q *Queue) AddUnschedulableIfNotPresent(p *framework.QueuedPodInfo) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	uid := p.Pod.UID
	if q.active.get(uid) != nil || q.backoff.get(uid) != nil {
		q.doneLocked(uid)
		return fmt.Errorf("pod %s/%s is already in the active or backoff queue", p.Pod.Namespace, p.Pod.Name)
	}
	if _, ok := q.unschedulable[uid]; ok {
		q.doneLocked(uid)
		return fmt.Errorf("pod %s/%s is already in the unschedulable set", p.Pod.Namespace, p.Pod.Name)
	}
	p.Timestamp = q.clk.Now()
	requeue := len(p.UnschedulablePlugins) == 0 && len(p.PendingPlugins) == 0
	if !requeue {
		if e, ok := q.inFlight[uid]; ok {
			start := e.Value.(*inFlightPod).startSeq
			for _, ev := range q.events {
				if ev.seq > start && q.worthRequeuing(p, ev.event, ev.old, ev.new) {
					requeue = true
					break
				}
			}
		}
	}
	q.doneLocked(uid)
	if requeue {
		q.requeueLocked(p)
	} else {
		q.unschedulable[uid] = p
	}
	q.nominator.add(p.PodInfo, "")
	return nil
}

// requeueLocked puts p in the backoff queue if it is still backing off, else in the
// active queue.
func (q *Queue) requeueLocked(p *framework.QueuedPodInfo) {
	if q.isBackingOff(p) {
		q.backoff.add(p)
		return
	}
	q.active.add(p)
	q.cond.Broadcast()
}

// worthRequeuing says whether the event may help a pod rejected by its plugins.
func (q *Queue) worthRequeuing(p *framework.QueuedPodInfo, ev framework.ClusterEvent, old, new any) bool {
	if ev.Resource == framework.WildCard && ev.ActionType == framework.All {
		return true
	}
	if len(p.UnschedulablePlugins) == 0 && len(p.PendingPlugins) == 0 {
		return true
	}
	registered := q.opts.Events[p.Pod.Spec.SchedulerName]
	check := func(plugin string) bool {
		for _, reg := range registered[plugin] {
			if !reg.Event.Match(ev) {
				continue
			}
			if reg.Hint == nil || reg.Hint(p.Pod, old, new) == framework.Queue {
				return true
			}
		}
		return false
	}
	for plugin := range p.UnschedulablePlugins {
		if check(plugin) {
			return true
		}
	}
	for plugin := range p.PendingPlugins {
		if check(plugin) {
			return true
		}
	}
	return false
}

// MoveAllToActiveOrBackoffQueue retries the unschedulable pods the event may help (and
// that pass preCheck, when given), and remembers the event for pods in flight.
func (q *Queue) MoveAllToActiveOrBackoffQueue(ev framework.ClusterEvent, old, new any, preCheck func(*corev1.Pod) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.recordLocked(ev, old, new)
	for uid, p := range q.unschedulable {
		if p.GatedBy != "" {
			continue
		}
		if preCheck != nil && !preCheck(p.Pod) {
			continue
		}
		if q.worthRequeuing(p, ev, old, new) {
			delete(q.unschedulable, uid)
			q.requeueLocked(p)
		}
	}
}

// HasUnschedulable says whether any pod waits for an event (event handlers skip building
// events when none does and none is in flight).
func (q *Queue) HasUnschedulable() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.unschedulable) > 0 || len(q.inFlight) > 0
}

// FlushBackoffCompleted moves pods whose backoff ended to the active queue.
func (q *Queue) FlushBackoffCompleted() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clk.Now()
	moved := false
	for {
		p := q.backoff.peek()
		if p == nil || q.backoffExpiry(p).After(now) {
			break
		}
		q.backoff.pop()
		q.active.add(p)
		moved = true
	}
	if moved {
		q.cond.Broadcast()
	}
}

// FlushUnschedulableLeftover retries pods that waited longer than MaxInUnschedulable.
func (q *Queue) FlushUnschedulableLeftover() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clk.Now()
	for uid, p := range q.unschedulable {
		if p.GatedBy == "" && now.Sub(p.Timestamp) > q.opts.MaxInUnschedulable {
			delete(q.unschedulable, uid)
			q.requeueLocked(p)
		}
	}
}

// NominatedPodsForNode returns the pods nominated to the node.
func (q *Queue) NominatedPodsForNode(node string) []*framework.PodInfo {
	return q.nominator.PodsForNode(node)
}

// AddNominatedPod nominates the pod to node.
func (q *Queue) AddNominatedPod(pi *framework.PodInfo, node string) { q.nominator.add(pi, node) }

// DeleteNominatedPod drops the pod's nomination.
func (q *Queue) DeleteNominatedPod(pod *corev1.Pod) { q.nominator.delete(pod) }

// NominatedNode returns the node the pod is nominated to, "" when none.
func (q *Queue) NominatedNode(uid types.UID) string { return q.nominator.nodeOf(uid) }

// Sizes returns the number of pods in each part of the queue.
func (q *Queue) Sizes() (active, backoff, unschedulable, gated int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, p := range q.unschedulable {
		if p.GatedBy != "" {
			gated++
		}
	}
	return q.active.Len(), q.backoff.Len(), len(q.unschedulable) - gated, gated
}

// Has says where the pod is: "active", "backoff", "unschedulable", "gated", or "".
func (q *Queue) Has(uid types.UID) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.active.get(uid) != nil:
		return "active"
	case q.backoff.get(uid) != nil:
		return "backoff"
	}
	if p, ok := q.unschedulable[uid]; ok {
		if p.GatedBy != "" {
			return "gated"
		}
		return "unschedulable"
	}
	return ""
}
