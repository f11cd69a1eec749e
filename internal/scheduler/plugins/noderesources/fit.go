// Package noderesources is the NodeResourcesFit plugin: a pod fits a node when the node's
// allocatable cpu, memory, ephemeral storage, pod count and every extended resource cover
// what its pods already request plus the pod's requests (init containers, sidecars and
// overhead counted by upstream's rules). Feasible nodes are scored by the configured
// strategy: LeastAllocated (default), MostAllocated or RequestedToCapacityRatio.
package noderesources

import (
	"context"
	"fmt"
	"math"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

const (
	preFilterKey = "PreFilter" + config.NodeResourcesFit
	preScoreKey  = "PreScore" + config.NodeResourcesFit
)

// Fit filters and scores node resources.
type Fit struct {
	ignored       map[string]bool
	ignoredGroups map[string]bool
	strategy      string
	resources     []config.ResourceSpec
	shape         []config.UtilizationShapePoint
}

// New builds the plugin from *config.NodeResourcesFitArgs (defaults when nil).
func New(args any, _ framework.Handle) (framework.Plugin, error) {
	a, _ := args.(*config.NodeResourcesFitArgs)
	if a == nil {
		a = &config.NodeResourcesFitArgs{ScoringStrategy: &config.ScoringStrategy{Type: config.LeastAllocated,
			Resources: []config.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}}}
	}
	f := &Fit{ignored: map[string]bool{}, ignoredGroups: map[string]bool{}}
	for _, r := range a.IgnoredResources {
		f.ignored[r] = true
	}
	for _, g := range a.IgnoredResourceGroups {
		f.ignoredGroups[g] = true
	}
	f.strategy = a.ScoringStrategy.Type
	f.resources = a.ScoringStrategy.Resources
	if a.ScoringStrategy.RequestedToCapacityRatio != nil {
		f.shape = a.ScoringStrategy.RequestedToCapacityRatio.Shape
	}
	switch f.strategy {
	case config.LeastAllocated, config.MostAllocated, config.RequestedToCapacityRatio:
	default:
		return nil, fmt.Errorf("scoring strategy %q is not supported", f.strategy)
	}
	return f, nil
}

// Name of the plugin.
func (*Fit) Name() string { return config.NodeResourcesFit }

type preFilterState struct {
	framework.Resource
}

func (s *preFilterState) Clone() framework.StateData { return s }

// PreFilter computes the pod's requests once.
func (f *Fit) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	state.Write(preFilterKey, &preFilterState{Resource: framework.PodRequests(pod, false)})
	return nil, nil
}

// PreFilterExtensions: node totals are updated on the NodeInfo itself.
func (*Fit) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// InsufficientResource is one resource the node lacks.
type InsufficientResource struct {
	Name      corev1.ResourceName
	Reason    string
	Requested int64
	Used      int64
	Capacity  int64
}

// Filter rejects a node short of any requested resource, with one reason per resource.
func (f *Fit) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	s, err := framework.ReadState[*preFilterState](state, preFilterKey)
	if err != nil {
		s = &preFilterState{Resource: framework.PodRequests(pod, false)}
	}
	insufficient := f.Fits(&s.Resource, ni)
	if len(insufficient) == 0 {
		return nil
	}
	reasons := make([]string, len(insufficient))
	for i, r := range insufficient {
		reasons[i] = r.Reason
	}
	return framework.NewStatus(framework.Unschedulable, reasons...)
}

// Fits lists what the node lacks for a pod requesting req.
func (f *Fit) Fits(req *framework.Resource, ni *framework.NodeInfo) []InsufficientResource {
	var out []InsufficientResource
	alloc, used := &ni.Allocatable, &ni.Requested
	if int64(len(ni.Pods))+1 > alloc.AllowedPodNumber {
		out = append(out, InsufficientResource{corev1.ResourcePods, "Too many pods", 1, int64(len(ni.Pods)), alloc.AllowedPodNumber})
	}
	if req.IsZero() {
		return out
	}
	if req.MilliCPU > 0 && alloc.MilliCPU < req.MilliCPU+used.MilliCPU {
		out = append(out, InsufficientResource{corev1.ResourceCPU, "Insufficient cpu", req.MilliCPU, used.MilliCPU, alloc.MilliCPU})
	}
	if req.Memory > 0 && alloc.Memory < req.Memory+used.Memory {
		out = append(out, InsufficientResource{corev1.ResourceMemory, "Insufficient memory", req.Memory, used.Memory, alloc.Memory})
	}
	if req.EphemeralStorage > 0 && alloc.EphemeralStorage < req.EphemeralStorage+used.EphemeralStorage {
		out = append(out, InsufficientResource{corev1.ResourceEphemeralStorage, "Insufficient ephemeral-storage", req.EphemeralStorage, used.EphemeralStorage, alloc.EphemeralStorage})
	}
	for name, q := range req.Scalar {
		if q == 0 {
			continue
		}
		if framework.IsExtendedResourceName(name) {
			if f.ignored[string(name)] {
				continue
			}
			if group, _, ok := strings.Cut(string(name), "/"); ok && f.ignoredGroups[group] {
				continue
			}
		}
		if alloc.Scalar[name] < q+used.Scalar[name] {
			out = append(out, InsufficientResource{name, fmt.Sprintf("Insufficient %v", name), q, used.Scalar[name], alloc.Scalar[name]})
		}
	}
	return out
}

type preScoreState struct {
	// requests of the pod per scored resource, with the scoring defaults for cpu/memory.
	requests []int64
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore computes the pod's requests per scored resource.
func (f *Fit) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo, _ *framework.Snapshot) *framework.Status {
	nz := framework.PodRequests(pod, true)
	req := make([]int64, len(f.resources))
	for i, r := range f.resources {
		req[i] = nz.Get(corev1.ResourceName(r.Name))
	}
	state.Write(preScoreKey, &preScoreState{requests: req})
	return nil
}

// Score applies the strategy to requested/allocatable of each scored resource. cpu and
// memory count the scoring defaults for request-less containers; an extended resource the
// pod does not request is left out, so it does not sway pods that do not use it.
func (f *Fit) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, err := framework.ReadState[*preScoreState](state, preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var total, weights int64
	for i, r := range f.resources {
		name := corev1.ResourceName(r.Name)
		alloc, used := AllocatableAndRequested(ni, name, s.requests[i], true)
		if alloc == 0 {
			continue
		}
		var rs int64
		switch f.strategy {
		case config.LeastAllocated:
			rs = leastRequested(used, alloc)
		case config.MostAllocated:
			rs = mostRequested(used, alloc)
		case config.RequestedToCapacityRatio:
			rs = f.ratioScore(used, alloc)
		}
		total += rs * r.Weight
		weights += r.Weight
	}
	if weights == 0 {
		return 0, nil
	}
	if f.strategy == config.RequestedToCapacityRatio {
		return int64(math.Round(float64(total) / float64(weights))), nil
	}
	return total / weights, nil
}

// AllocatableAndRequested returns the node's allocatable amount of a resource and what its
// pods (NonZeroRequested with nonZero, else Requested) plus podRequest would use; (0, 0)
// for a scalar resource the pod does not request.
func AllocatableAndRequested(ni *framework.NodeInfo, name corev1.ResourceName, podRequest int64, nonZero bool) (int64, int64) {
	used := &ni.Requested
	if nonZero {
		used = &ni.NonZeroRequested
	}
	switch name {
	case corev1.ResourceCPU:
		return ni.Allocatable.MilliCPU, used.MilliCPU + podRequest
	case corev1.ResourceMemory:
		return ni.Allocatable.Memory, used.Memory + podRequest
	case corev1.ResourceEphemeralStorage:
		return ni.Allocatable.EphemeralStorage, ni.Requested.EphemeralStorage + podRequest
	}
	if podRequest == 0 {
		return 0, 0
	}
	return ni.Allocatable.Scalar[name], ni.Requested.Scalar[name] + podRequest
}

func leastRequested(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}

func mostRequested(requested, capacity int64) int64 {
	if capacity == 0 {
		return 0
	}
	requested = min(requested, capacity)
	return requested * framework.MaxNodeScore / capacity
}

// ratioScore evaluates the shape (scores 0..10, scaled to 0..100) at the utilization,
// linearly between points and flat beyond the ends.
func (f *Fit) ratioScore(requested, capacity int64) int64 {
	if capacity == 0 {
		return 0
	}
	u := min(requested*100/capacity, 100)
	const scale = framework.MaxNodeScore / 10
	shape := f.shape
	if u <= int64(shape[0].Utilization) {
		return int64(shape[0].Score) * scale
	}
	for i := 1; i < len(shape); i++ {
		if u <= int64(shape[i].Utilization) {
			x0, y0 := int64(shape[i-1].Utilization), int64(shape[i-1].Score)*scale
			x1, y1 := int64(shape[i].Utilization), int64(shape[i].Score)*scale
			return y0 + (y1-y0)*(u-x0)/(x1-x0)
		}
	}
	return int64(shape[len(shape)-1].Score) * scale
}

// EventsToRegister: an assigned pod deleted or scaled down, a node added or its allocatable
// changed (when the pod now fits it), the pod's own requests lowered.
func (f *Fit) EventsToRegister() []framework.ClusterEventWithHint {
	return []framework.ClusterEventWithHint{
		{Event: framework.ClusterEvent{Resource: framework.Pod, ActionType: framework.Delete | framework.UpdatePodScaleDown}, Hint: func(_ *corev1.Pod, oldObj, _ any) framework.QueueingHint {
			if p, ok := oldObj.(*corev1.Pod); ok && p.Spec.NodeName == "" {
				return framework.QueueSkip
			}
			return framework.Queue
		}},
		{Event: framework.ClusterEvent{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeAllocatable}, Hint: func(pod *corev1.Pod, _, newObj any) framework.QueueingHint {
			n, ok := newObj.(*corev1.Node)
			if !ok {
				return framework.Queue
			}
			ni := framework.NewNodeInfo()
			ni.SetNode(n)
			req := framework.PodRequests(pod, false)
			for _, r := range f.Fits(&req, ni) {
				if r.Name != corev1.ResourcePods {
					return framework.QueueSkip
				}
			}
			return framework.Queue
		}},
		{Event: framework.ClusterEvent{Resource: framework.UnscheduledPod, ActionType: framework.UpdatePodScaleDown}},
	}
}

// ScoreExtensions: scores are already 0..100.
func (*Fit) ScoreExtensions() framework.ScoreExtensions { return nil }

var (
	_ framework.PreFilterPlugin   = (*Fit)(nil)
	_ framework.FilterPlugin      = (*Fit)(nil)
	_ framework.PreScorePlugin    = (*Fit)(nil)
	_ framework.ScorePlugin       = (*Fit)(nil)
	_ framework.EnqueueExtensions = (*Fit)(nil)
)
