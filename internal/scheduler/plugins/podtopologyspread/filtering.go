package podtopologyspread

import (
	"context"
	"math"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

const preFilterKey = "PreFilter" + config.PodTopologySpread

type preFilterState struct {
	constraints []constraint
	// counts[i] maps constraint i's domains (topology values) to matching pods.
	counts []map[string]int
	// minimum[i] is the fewest matching pods over constraint i's domains.
	minimum []int
}

func (s *preFilterState) Clone() framework.StateData {
	c := &preFilterState{constraints: s.constraints, counts: make([]map[string]int, len(s.counts)), minimum: append([]int(nil), s.minimum...)}
	for i, m := range s.counts {
		c.counts[i] = make(map[string]int, len(m))
		for k, v := range m {
			c.counts[i][k] = v
		}
	}
	return c
}

func (s *preFilterState) recomputeMin(i int) {
	m := math.MaxInt
	for _, n := range s.counts[i] {
		m = min(m, n)
	}
	if m == math.MaxInt {
		m = 0
	}
	s.minimum[i] = m
}

// PreFilter counts the matching pods of every eligible domain; a pod without hard
// constraints skips the filter.
func (p *PodTopologySpread) PreFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	cs, err := p.constraints(pod, corev1.DoNotSchedule)
	if err != nil {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, err.Error())
	}
	if len(cs) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	s := &preFilterState{constraints: cs, counts: make([]map[string]int, len(cs)), minimum: make([]int, len(cs))}
	affinity := framework.GetRequiredNodeAffinity(pod)
	nodes := snap.NodeInfoList
	perNode := make([][]int, len(nodes))
	framework.ParallelizeUntil(ctx, p.parallel, len(nodes), func(i int) {
		node := nodes[i].Node()
		if !hasAllKeys(node, cs) {
			return
		}
		row := make([]int, len(cs))
		for j := range cs {
			if !cs[j].eligible(pod, node, affinity) {
				row[j] = -1
				continue
			}
			row[j] = countMatching(nodes[i].Pods, cs[j].selector, pod.Namespace)
		}
		perNode[i] = row
	})
	for j := range cs {
		s.counts[j] = map[string]int{}
	}
	for i, row := range perNode {
		if row == nil {
			continue
		}
		for j, n := range row {
			if n >= 0 {
				s.counts[j][nodes[i].Node().Labels[cs[j].key]] += n
			}
		}
	}
	for j := range cs {
		s.recomputeMin(j)
	}
	state.Write(preFilterKey, s)
	return nil, nil
}

// PreFilterExtensions updates the counts for pods added or removed by preemption.
func (p *PodTopologySpread) PreFilterExtensions() framework.PreFilterExtensions { return p }

// AddPod counts a pod added to nodeInfo.
func (p *PodTopologySpread) AddPod(_ context.Context, state *framework.CycleState, pod *corev1.Pod, added *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.update(state, pod, added, ni, 1)
}

// RemovePod uncounts a pod removed from nodeInfo.
func (p *PodTopologySpread) RemovePod(_ context.Context, state *framework.CycleState, pod *corev1.Pod, removed *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.update(state, pod, removed, ni, -1)
}

func (p *PodTopologySpread) update(state *framework.CycleState, pod *corev1.Pod, changed *framework.PodInfo, ni *framework.NodeInfo, delta int) *framework.Status {
	s, err := framework.ReadState[*preFilterState](state, preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	node := ni.Node()
	if changed.Pod.Namespace != pod.Namespace || !hasAllKeys(node, s.constraints) {
		return nil
	}
	affinity := framework.GetRequiredNodeAffinity(pod)
	for i := range s.constraints {
		c := &s.constraints[i]
		if !c.eligible(pod, node, affinity) || !c.selector.Matches(labelsOf(changed.Pod)) {
			continue
		}
		s.counts[i][node.Labels[c.key]] += delta
		s.recomputeMin(i)
	}
	return nil
}

// Filter checks each hard constraint's skew for the node's domain.
func (p *PodTopologySpread) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	s, err := framework.ReadState[*preFilterState](state, preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	node := ni.Node()
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Labels[c.key]
		if !ok {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch)
		}
		minimum := s.minimum[i]
		if int32(len(s.counts[i])) < c.minDomains {
			minimum = 0
		}
		skew := s.counts[i][v] + c.selfMatchCount - minimum
		if skew > int(c.maxSkew) {
			return framework.NewStatus(framework.Unschedulable, ErrReasonConstraintsNotMatch)
		}
	}
	return nil
}
