// Package defaultpreemption is the DefaultPreemption plugin: when a pod fits no node, it
// looks for a node where evicting lower-priority pods makes room, dry-running the filters
// with those pods removed. On each candidate node it removes every lower-priority pod, then
// gives back (most important first, PodDisruptionBudget-protected pods first) every pod the
// preemptor still fits beside; what is left are the victims. Among candidates it prefers the
// fewest budget violations, then the lowest highest victim priority, the lowest priority
// sum, the fewest victims, and the most recently started victims. It decides only: the
// scheduler evicts the victims and records the nomination.
package defaultpreemption

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// Messages, upstream's.
const (
	MsgNotHelpful     = "Preemption is not helpful for scheduling"
	MsgNoVictims      = "No preemption victims found for incoming pod"
	MsgPolicyNever    = "not eligible due to preemptionPolicy=Never."
	MsgTerminatingPod = "not eligible due to a terminating pod on the nominated node."
)

// DefaultPreemption selects victims.
type DefaultPreemption struct {
	args config.DefaultPreemptionArgs
	h    framework.Handle
	// now and rnd are replaceable for tests.
	now func() time.Time
	rnd func(n int) int
}

// New builds the plugin from *config.DefaultPreemptionArgs (defaults when nil).
func New(args any, h framework.Handle) (framework.Plugin, error) {
	p := &DefaultPreemption{args: config.DefaultPreemptionArgs{MinCandidateNodesPercentage: 10, MinCandidateNodesAbsolute: 100},
		h: h, now: time.Now, rnd: rand.IntN}
	if a, ok := args.(*config.DefaultPreemptionArgs); ok && a != nil {
		p.args = *a
	}
	return p, nil
}

// Name of the plugin.
func (*DefaultPreemption) Name() string { return config.DefaultPreemption }

// candidate is a node and the victims evicting which lets the pod fit.
type candidate struct {
	node       string
	victims    []*corev1.Pod
	violations int
}

// PostFilter tries to make room for the pod by preemption.
func (p *DefaultPreemption) PostFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot, statuses *framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	if ok, msg := p.eligible(pod, snap, statuses); !ok {
		return nil, framework.NewStatus(framework.Unschedulable, "preemption: "+msg)
	}
	var potential []*framework.NodeInfo
	for _, ni := range snap.NodeInfoList {
		if statuses.Get(ni.Node().Name).Code() == framework.Unschedulable {
			potential = append(potential, ni)
		}
	}
	result := &framework.NodeToStatus{Statuses: map[string]*framework.Status{},
		AbsentStatus: framework.NewStatus(framework.UnschedulableAndUnresolvable, MsgNotHelpful)}
	notFound := func() (*framework.PostFilterResult, *framework.Status) {
		return &framework.PostFilterResult{}, framework.NewStatus(framework.Unschedulable,
			"preemption: "+framework.NodesAvailableMessage(snap.NumNodes(), result))
	}
	if len(potential) == 0 {
		return notFound()
	}
	var pdbs []*policyv1.PodDisruptionBudget
	if p.h != nil && p.h.PDBs() != nil {
		pdbs, _ = p.h.PDBs().List(labels.Everything())
	}
	offset, want := p.offsetAndCount(len(potential))
	cands, nodeStatuses, errStatus := p.dryRun(ctx, state, pod, potential, pdbs, offset, want)
	if errStatus != nil && len(cands) == 0 {
		return nil, errStatus
	}
	if len(cands) == 0 {
		for name, st := range nodeStatuses {
			result.Statuses[name] = st
		}
		return notFound()
	}
	best := p.pick(cands)
	return &framework.PostFilterResult{NominatedNodeName: best.node, Victims: best.victims}, nil
}

// eligible applies preemptionPolicy and, for a pod already nominated, waits while a victim
// of an earlier preemption is still terminating on its node.
func (p *DefaultPreemption) eligible(pod *corev1.Pod, snap *framework.Snapshot, statuses *framework.NodeToStatus) (bool, string) {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return false, MsgPolicyNever
	}
	nn := pod.Status.NominatedNodeName
	if nn == "" || statuses.Get(nn).Code() == framework.UnschedulableAndUnresolvable {
		return true, ""
	}
	if ni := snap.Get(nn); ni != nil {
		prio := framework.PodPriority(pod)
		for _, pi := range ni.Pods {
			if framework.PodPriority(pi.Pod) < prio && terminatingByPreemption(pi.Pod) {
				return false, MsgTerminatingPod
			}
		}
	}
	return true, ""
}

func terminatingByPreemption(p *corev1.Pod) bool {
	if p.DeletionTimestamp == nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue && c.Reason == corev1.PodReasonPreemptionByScheduler {
			return true
		}
	}
	return false
}

// offsetAndCount picks a random starting node and how many candidates are enough: the
// configured percentage of the potential nodes, at least the absolute minimum.
func (p *DefaultPreemption) offsetAndCount(n int) (int, int) {
	want := n * int(p.args.MinCandidateNodesPercentage) / 100
	want = max(want, int(p.args.MinCandidateNodesAbsolute))
	want = max(1, min(want, n))
	return p.rnd(n), want
}

// dryRun evaluates nodes from offset on, in parallel, until want candidates are found.
func (p *DefaultPreemption) dryRun(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget, offset, want int) ([]candidate, map[string]*framework.Status, *framework.Status) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var cands []candidate
	statuses := map[string]*framework.Status{}
	var errStatus *framework.Status
	parallel := 1
	if p.h != nil {
		parallel = p.h.Parallelism()
	}
	framework.ParallelizeUntil(ctx, parallel, len(nodes), func(i int) {
		ni := nodes[(offset+i)%len(nodes)]
		victims, violations, st := p.SelectVictimsOnNode(ctx, state.Clone(), pod, ni.Snapshot(), pdbs)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case st.IsSuccess() && len(victims) > 0:
			cands = append(cands, candidate{node: ni.Node().Name, victims: victims, violations: violations})
			if len(cands) >= want {
				cancel()
			}
		case st.IsSuccess():
			statuses[ni.Node().Name] = framework.AsStatus(fmt.Errorf("expected at least one victim pod on node %q", ni.Node().Name))
		default:
			if st.Code() == framework.Error && errStatus == nil {
				errStatus = st
			}
			statuses[ni.Node().Name] = st
		}
	})
	return cands, statuses, errStatus
}

// SelectVictimsOnNode returns the fewest lower-priority pods of nodeInfo (a copy it may
// change) whose removal lets the pod fit, and how many of them a disruption budget
// protects.
func (p *DefaultPreemption) SelectVictimsOnNode(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) ([]*corev1.Pod, int, *framework.Status) {
	remove := func(pi *framework.PodInfo) *framework.Status {
		if err := ni.RemovePod(pi.Pod); err != nil {
			return framework.AsStatus(err)
		}
		return p.h.RunPreFilterExtensionRemovePod(ctx, state, pod, pi, ni)
	}
	add := func(pi *framework.PodInfo) *framework.Status {
		ni.AddPodInfo(pi)
		return p.h.RunPreFilterExtensionAddPod(ctx, state, pod, pi, ni)
	}
	prio := framework.PodPriority(pod)
	var potential []*framework.PodInfo
	for _, pi := range append([]*framework.PodInfo(nil), ni.Pods...) {
		if framework.PodPriority(pi.Pod) < prio {
			potential = append(potential, pi)
			if st := remove(pi); !st.IsSuccess() {
				return nil, 0, st
			}
		}
	}
	if len(potential) == 0 {
		return nil, 0, framework.NewStatus(framework.UnschedulableAndUnresolvable, MsgNoVictims)
	}
	if st := p.h.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni); !st.IsSuccess() {
		return nil, 0, st
	}
	now := p.now()
	sort.SliceStable(potential, func(i, j int) bool { return moreImportant(potential[i].Pod, potential[j].Pod, now) })
	violating, ok := splitByPDB(potential, pdbs)
	var victims []*corev1.Pod
	violations := 0
	reprieve := func(pi *framework.PodInfo) (bool, *framework.Status) {
		if st := add(pi); !st.IsSuccess() {
			return false, st
		}
		if p.h.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni).IsSuccess() {
			return true, nil
		}
		if st := remove(pi); !st.IsSuccess() {
			return false, st
		}
		victims = append(victims, pi.Pod)
		return false, nil
	}
	for _, pi := range violating {
		fits, st := reprieve(pi)
		if st != nil {
			return nil, 0, st
		}
		if !fits {
			violations++
		}
	}
	for _, pi := range ok {
		if _, st := reprieve(pi); st != nil {
			return nil, 0, st
		}
	}
	return victims, violations, nil
}

// startTime is the pod's status.startTime, now when it has none.
func startTime(p *corev1.Pod, now time.Time) time.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime.Time
	}
	return now
}

// moreImportant: higher priority, then started earlier.
func moreImportant(a, b *corev1.Pod, now time.Time) bool {
	pa, pb := framework.PodPriority(a), framework.PodPriority(b)
	if pa != pb {
		return pa > pb
	}
	return startTime(a, now).Before(startTime(b, now))
}

// splitByPDB separates the pods whose eviction a budget forbids (its disruptionsAllowed
// used up, counting these pods in order) from the others.
func splitByPDB(pods []*framework.PodInfo, pdbs []*policyv1.PodDisruptionBudget) (violating, ok []*framework.PodInfo) {
	allowed := make([]int32, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
	}
	for _, pi := range pods {
		pod := pi.Pod
		violates := false
		for i, pdb := range pdbs {
			if pdb.Namespace != pod.Namespace {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
				continue
			}
			if _, disrupted := pdb.Status.DisruptedPods[pod.Name]; disrupted {
				continue
			}
			allowed[i]--
			if allowed[i] < 0 {
				violates = true
			}
		}
		if violates {
			violating = append(violating, pi)
		} else {
			ok = append(ok, pi)
		}
	}
	return violating, ok
}

// pick applies upstream's tie-breakers in order.
func (p *DefaultPreemption) pick(cands []candidate) candidate {
	now := p.now()
	criteria := []func(c *candidate) int64{
		func(c *candidate) int64 { return -int64(c.violations) },
		func(c *candidate) int64 { return -int64(highestPriority(c.victims)) },
		func(c *candidate) int64 {
			var sum int64
			for _, v := range c.victims {
				sum += int64(framework.PodPriority(v)) + int64(math.MaxInt32) + 1
			}
			return -sum
		},
		func(c *candidate) int64 { return -int64(len(c.victims)) },
		func(c *candidate) int64 { return earliestStartOfHighest(c.victims, now).UnixNano() },
	}
	remaining := cands
	for _, score := range criteria {
		if len(remaining) == 1 {
			break
		}
		best := int64(math.MinInt64)
		var next []candidate
		for i := range remaining {
			s := score(&remaining[i])
			switch {
			case s > best:
				best, next = s, []candidate{remaining[i]}
			case s == best:
				next = append(next, remaining[i])
			}
		}
		remaining = next
	}
	sort.Slice(remaining, func(i, j int) bool { return remaining[i].node < remaining[j].node })
	return remaining[0]
}

func highestPriority(pods []*corev1.Pod) int32 {
	h := int32(math.MinInt32)
	for _, p := range pods {
		h = max(h, framework.PodPriority(p))
	}
	return h
}

// earliestStartOfHighest is the earliest start among the highest-priority victims: the
// node whose such victims started latest loses the least work.
func earliestStartOfHighest(pods []*corev1.Pod, now time.Time) time.Time {
	h := highestPriority(pods)
	earliest := now
	for _, p := range pods {
		if framework.PodPriority(p) == h {
			if t := startTime(p, now); t.Before(earliest) {
				earliest = t
			}
		}
	}
	return earliest
}

// EventsToRegister: preemption rejects nothing itself.
func (*DefaultPreemption) EventsToRegister() []framework.ClusterEventWithHint { return nil }

var _ framework.PostFilterPlugin = (*DefaultPreemption)(nil)
