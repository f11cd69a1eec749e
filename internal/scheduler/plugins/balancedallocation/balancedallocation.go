// Package balancedallocation is the NodeResourcesBalancedAllocation plugin: it prefers
// nodes whose utilization fractions of the scored resources (cpu and memory by default),
// with the pod added, are close to each other: score = (1 - standard deviation) * 100.
// Pods requesting nothing are not scored, so they do not pile onto one node.
package balancedallocation

import (
	"context"
	"math"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
	"capstan/internal/scheduler/plugins/noderesources"
)

const preScoreKey = "PreScore" + config.NodeResourcesBalancedAllocation

// BalancedAllocation scores balance.
type BalancedAllocation struct {
	resources []corev1.ResourceName
}

// New builds the plugin from *config.NodeResourcesBalancedAllocationArgs (or nil).
func New(args any, _ framework.Handle) (framework.Plugin, error) {
	p := &BalancedAllocation{resources: []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}}
	if a, ok := args.(*config.NodeResourcesBalancedAllocationArgs); ok && a != nil && len(a.Resources) > 0 {
		p.resources = nil
		for _, r := range a.Resources {
			p.resources = append(p.resources, corev1.ResourceName(r.Name))
		}
	}
	return p, nil
}

// Name of the plugin.
func (*BalancedAllocation) Name() string { return config.NodeResourcesBalancedAllocation }

type preScoreState struct {
	requests []int64
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore computes the pod's requests; a pod requesting none of the resources is skipped.
func (p *BalancedAllocation) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo, _ *framework.Snapshot) *framework.Status {
	req := framework.PodRequests(pod, false)
	s := &preScoreState{requests: make([]int64, len(p.resources))}
	any := false
	for i, r := range p.resources {
		s.requests[i] = req.Get(r)
		any = any || s.requests[i] != 0
	}
	if !any {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreKey, s)
	return nil
}

// Score is (1 - std dev of the utilization fractions) * 100.
func (p *BalancedAllocation) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, err := framework.ReadState[*preScoreState](state, preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var fractions [8]float64
	fr := fractions[:0]
	var sum float64
	for i, r := range p.resources {
		alloc, used := noderesources.AllocatableAndRequested(ni, r, s.requests[i], false)
		if alloc == 0 {
			continue
		}
		f := min(float64(used)/float64(alloc), 1)
		fr = append(fr, f)
		sum += f
	}
	return Score(fr, sum), nil
}

// Score computes the balance score of utilization fractions summing to sum.
func Score(fractions []float64, sum float64) int64 {
	var std float64
	switch {
	case len(fractions) == 2:
		std = math.Abs((fractions[0] - fractions[1]) / 2)
	case len(fractions) > 2:
		mean := sum / float64(len(fractions))
		var v float64
		for _, f := range fractions {
			v += (f - mean) * (f - mean)
		}
		std = math.Sqrt(v / float64(len(fractions)))
	}
	return int64((1 - std) * float64(framework.MaxNodeScore))
}

// ScoreExtensions: scores are already 0..100.
func (*BalancedAllocation) ScoreExtensions() framework.ScoreExtensions { return nil }

var (
	_ framework.PreScorePlugin = (*BalancedAllocation)(nil)
	_ framework.ScorePlugin    = (*BalancedAllocation)(nil)
)
