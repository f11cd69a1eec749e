package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
	"capstan/internal/scheduler/plugins/volumebinding"
)

// Adaptive percentageOfNodesToScore bounds (upstream's).
const (
	// noNodesRejector stands for "no node exists" among a pod's rejecting plugins, so the
	// pod waits for a node to be added instead of retrying with backoff.
	noNodesRejector = "NoNodesAvailable"

	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// scheduleResult is a cycle's decision.
type scheduleResult struct {
	host      string
	evaluated int
	feasible  int
}

// scheduleOne runs one scheduling cycle for the next pod and starts its binding.
func (s *Scheduler) scheduleOne(ctx context.Context) {
	qpi, err := s.queue.Pop(ctx)
	if err != nil {
		return
	}
	pod := qpi.Pod
	fw := s.profiles[pod.Spec.SchedulerName]
	if fw == nil || pod.DeletionTimestamp != nil || s.cache.IsAssumed(pod) {
		s.queue.Done(pod.UID)
		return
	}
	start := s.clock.Now()
	state := framework.NewCycleState()
	res, err := s.schedulePod(ctx, fw, state, qpi)
	s.metrics.algorithmDuration.Observe(s.clock.Since(start).Seconds())
	if err != nil {
		s.handleFitFailure(ctx, fw, state, qpi, err, start)
		return
	}
	assumed := *pod // shallow: only spec.nodeName differs, nothing is mutated
	assumed.Spec.NodeName = res.host
	api := *qpi.PodInfo
	api.Pod = &assumed
	if err := s.cache.AssumePod(&api); err != nil {
		s.handleFailure(ctx, fw, qpi, err, corev1.PodReasonSchedulerError, "", start)
		return
	}
	s.queue.DeleteNominatedPod(pod)
	var claims []*corev1.PersistentVolumeClaim
	if vb, ok := fw.Plugin(config.VolumeBinding).(*volumebinding.VolumeBinding); ok && !state.SkipFilter[config.VolumeBinding] {
		if ni := s.snapshot.Get(res.host); ni != nil {
			claims = vb.ClaimsToProvision(state, ni.Node())
		}
	}
	select {
	case s.bindSlots <- struct{}{}:
	case <-ctx.Done():
		_ = s.cache.ForgetPod(&assumed)
		s.queue.Done(pod.UID)
		return
	}
	s.bindings.Add(1)
	go func() {
		defer func() {
			<-s.bindSlots
			s.bindings.Done()
		}()
		s.bind(ctx, fw, qpi, &assumed, claims, start)
	}()
}

// schedulePod finds the best node for the pod on the freshly updated snapshot.
func (s *Scheduler) schedulePod(ctx context.Context, fw *framework.Framework, state *framework.CycleState, qpi *framework.QueuedPodInfo) (scheduleResult, error) {
	s.cache.UpdateSnapshot(s.snapshot)
	snap := s.snapshot
	if snap.NumNodes() == 0 {
		return scheduleResult{}, ErrNoNodesAvailable
	}
	pod := qpi.Pod
	if qpi.ParseError != nil {
		return scheduleResult{}, fmt.Errorf("parsing pod affinity: %w", qpi.ParseError)
	}
	feasible, diag, err := s.findNodesThatFit(ctx, fw, state, pod)
	if err != nil {
		return scheduleResult{}, err
	}
	if len(feasible) == 0 {
		return scheduleResult{}, &FitError{Pod: pod, NumAllNodes: snap.NumNodes(), Diagnosis: diag}
	}
	if len(feasible) == 1 {
		return scheduleResult{host: feasible[0].Node().Name, evaluated: 1 + len(diag.NodeToStatus.Statuses), feasible: 1}, nil
	}
	if st := fw.RunPreScorePlugins(ctx, state, pod, feasible, snap); !st.IsSuccess() {
		return scheduleResult{}, st.AsError()
	}
	scores, st := fw.RunScorePlugins(ctx, state, pod, feasible)
	if !st.IsSuccess() {
		return scheduleResult{}, st.AsError()
	}
	return scheduleResult{host: selectHost(scores), evaluated: len(feasible) + len(diag.NodeToStatus.Statuses), feasible: len(feasible)}, nil
}

// selectHost returns the highest score, picking uniformly among ties.
func selectHost(scores []framework.NodeScore) string {
	best, ties := scores[0], 1
	for _, ns := range scores[1:] {
		switch {
		case ns.Score > best.Score:
			best, ties = ns, 1
		case ns.Score == best.Score:
			ties++
			if rand.IntN(ties) == 0 {
				best = ns
			}
		}
	}
	return best.Name
}

// findNodesThatFit runs PreFilter and Filter. The pod's nominated node, if any, is tried
// first (preemption made room there).
func (s *Scheduler) findNodesThatFit(ctx context.Context, fw *framework.Framework, state *framework.CycleState, pod *corev1.Pod) ([]*framework.NodeInfo, Diagnosis, error) {
	diag := Diagnosis{
		NodeToStatus:         &framework.NodeToStatus{Statuses: map[string]*framework.Status{}},
		UnschedulablePlugins: sets.New[string](),
		PendingPlugins:       sets.New[string](),
	}
	snap := s.snapshot
	pre, st := fw.RunPreFilterPlugins(ctx, state, pod, snap)
	if !st.IsSuccess() {
		if !st.IsRejected() {
			return nil, diag, st.AsError()
		}
		diag.NodeToStatus.AbsentStatus = st
		diag.PreFilterMsg = st.Message()
		diag.record(st)
		return nil, diag, nil
	}
	if nn := pod.Status.NominatedNodeName; nn != "" {
		if ni := snap.Get(nn); ni != nil && ni.Node() != nil && (pre == nil || pre.NodeNames == nil || pre.NodeNames.Has(nn)) {
			st := fw.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni)
			if st.IsSuccess() {
				return []*framework.NodeInfo{ni}, diag, nil
			}
			if !st.IsRejected() {
				return nil, diag, st.AsError()
			}
		}
	}
	nodes := snap.NodeInfoList
	if pre != nil && pre.NodeNames != nil {
		nodes = make([]*framework.NodeInfo, 0, pre.NodeNames.Len())
		for name := range pre.NodeNames {
			if ni := snap.Get(name); ni != nil && ni.Node() != nil {
				nodes = append(nodes, ni)
			}
		}
		diag.NodeToStatus.AbsentStatus = framework.NewStatus(framework.UnschedulableAndUnresolvable,
			fmt.Sprintf("node(s) didn't satisfy plugin(s) %v", pre.Plugins))
		diag.UnschedulablePlugins.Insert(pre.Plugins...)
	}
	feasible, err := s.filterNodes(ctx, fw, state, pod, &diag, nodes)
	return feasible, diag, err
}

// numFeasibleNodesToFind is how many feasible nodes are enough: all below 100 nodes, else
// the percentage (adaptive when 0: 50% minus 1% per 125 nodes, at least 5%), at least 100.
func (s *Scheduler) numFeasibleNodesToFind(profilePct *int32, numAll int) int {
	if numAll < minFeasibleNodesToFind {
		return numAll
	}
	pct := s.percentageOfNodesToScore
	if profilePct != nil {
		pct = *profilePct
	}
	if pct == 0 {
		pct = int32(50 - numAll/125)
		if pct < minFeasibleNodesPercentageToFind {
			pct = minFeasibleNodesPercentageToFind
		}
	}
	n := numAll * int(pct) / 100
	return max(n, minFeasibleNodesToFind)
}

// filterNodes checks nodes in parallel, starting where the last cycle stopped (so every
// node gets its turn), until enough feasible nodes are found.
func (s *Scheduler) filterNodes(ctx context.Context, fw *framework.Framework, state *framework.CycleState, pod *corev1.Pod, diag *Diagnosis, nodes []*framework.NodeInfo) ([]*framework.NodeInfo, error) {
	numAll := len(nodes)
	want := s.numFeasibleNodesToFind(fw.PercentageOfNodesToScore(), numAll)
	if !fw.HasScorePlugins() {
		want = min(want, 1)
	}
	if cap(s.feasibleBuf) < want {
		s.feasibleBuf = make([]*framework.NodeInfo, want)
	}
	if cap(s.statusBuf) < numAll {
		s.statusBuf = make([]*framework.Status, numAll)
	}
	feasible, statuses := s.feasibleBuf[:want], s.statusBuf[:numAll]
	clear(statuses)
	var found, processed atomic.Int32
	var firstErr atomic.Pointer[framework.Status]
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := s.nextStartNodeIndex % max(numAll, 1)
	framework.ParallelizeUntil(ctx, fw.Parallelism(), numAll, func(i int) {
		idx := (start + i) % numAll
		st := fw.RunFilterPluginsWithNominatedPods(ctx, state, pod, nodes[idx])
		processed.Add(1)
		switch {
		case st.IsSuccess():
			n := found.Add(1)
			if n > int32(want) {
				cancel()
				found.Add(-1)
				processed.Add(-1)
				return
			}
			feasible[n-1] = nodes[idx]
			if n == int32(want) {
				cancel()
			}
		case st.IsRejected():
			statuses[idx] = st
		default:
			firstErr.CompareAndSwap(nil, st)
			cancel()
		}
	})
	if st := firstErr.Load(); st != nil {
		return nil, st.AsError()
	}
	s.nextStartNodeIndex = (start + int(processed.Load())) % max(numAll, 1)
	for i, st := range statuses {
		if st != nil {
			diag.NodeToStatus.Statuses[nodes[i].Node().Name] = st
			diag.record(st)
		}
	}
	return feasible[:found.Load()], nil
}

func (d *Diagnosis) record(st *framework.Status) {
	if st.Code() == framework.Pending {
		d.PendingPlugins.Insert(st.Plugin())
	} else if st.Plugin() != "" {
		d.UnschedulablePlugins.Insert(st.Plugin())
	}
}

// handleFitFailure runs PostFilter (preemption) for a pod that fits nowhere, then records
// the failure.
func (s *Scheduler) handleFitFailure(ctx context.Context, fw *framework.Framework, state *framework.CycleState, qpi *framework.QueuedPodInfo, err error, start time.Time) {
	var fitErr *FitError
	if !errors.As(err, &fitErr) {
		if errors.Is(err, ErrNoNodesAvailable) {
			qpi.UnschedulablePlugins = sets.New(noNodesRejector)
			s.metrics.attempts.WithLabelValues("unschedulable", fw.ProfileName()).Inc()
			s.metrics.attemptDuration.WithLabelValues("unschedulable", fw.ProfileName()).Observe(s.clock.Since(start).Seconds())
			s.handleFailure(ctx, fw, qpi, err, corev1.PodReasonUnschedulable, "", start)
			return
		}
		s.metrics.attempts.WithLabelValues("error", fw.ProfileName()).Inc()
		s.metrics.attemptDuration.WithLabelValues("error", fw.ProfileName()).Observe(s.clock.Since(start).Seconds())
		s.handleFailure(ctx, fw, qpi, err, corev1.PodReasonSchedulerError, "", start)
		return
	}
	qpi.UnschedulablePlugins = fitErr.Diagnosis.UnschedulablePlugins
	qpi.PendingPlugins = fitErr.Diagnosis.PendingPlugins
	nominated := ""
	result, st := fw.RunPostFilterPlugins(ctx, state, qpi.Pod, s.snapshot, fitErr.Diagnosis.NodeToStatus)
	if st.Code() == framework.Error {
		s.log.Error("preemption failed", "pod", qpi.Pod.Namespace+"/"+qpi.Pod.Name, "err", st.AsError())
	} else {
		fitErr.Diagnosis.PostFilterMsg = st.Message()
	}
	if result != nil && result.NominatedNodeName != "" && st.IsSuccess() {
		nominated = result.NominatedNodeName
		s.preempt(ctx, fw, qpi.Pod, result)
	}
	s.metrics.attempts.WithLabelValues("unschedulable", fw.ProfileName()).Inc()
	s.metrics.attemptDuration.WithLabelValues("unschedulable", fw.ProfileName()).Observe(s.clock.Since(start).Seconds())
	s.handleFailure(ctx, fw, qpi, fitErr, corev1.PodReasonUnschedulable, nominated, start)
}
