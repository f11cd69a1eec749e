// Package nodeaffinity is the NodeAffinity plugin: spec.nodeSelector and required node
// affinity (In, NotIn, Exists, DoesNotExist, Gt, Lt; matchFields on metadata.name) filter
// nodes; preferred node affinity scores them by the summed weights of matching terms. A
// profile may add affinity of its own (addedAffinity) that every pod must also satisfy.
package nodeaffinity

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// Filter reasons, upstream's.
const (
	ErrReasonPod      = "node(s) didn't match Pod's node affinity/selector"
	ErrReasonEnforced = "node(s) didn't match scheduler-enforced node affinity"
)

const (
	preFilterKey = "PreFilter" + config.NodeAffinity
	preScoreKey  = "PreScore" + config.NodeAffinity
)

// NodeAffinity filters and scores node affinity.
type NodeAffinity struct {
	addedRequired  *framework.NodeSelector
	addedPreferred []weighted
}

type weighted struct {
	sel    *framework.NodeSelector
	weight int64
}

// New builds the plugin from *config.NodeAffinityArgs (or nil).
func New(args any, _ framework.Handle) (framework.Plugin, error) {
	p := &NodeAffinity{}
	a, _ := args.(*config.NodeAffinityArgs)
	if a == nil || a.AddedAffinity == nil {
		return p, nil
	}
	if r := a.AddedAffinity.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
		p.addedRequired = framework.NewNodeSelector(r)
	}
	p.addedPreferred = preferred(a.AddedAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	return p, nil
}

func preferred(terms []corev1.PreferredSchedulingTerm) []weighted {
	var out []weighted
	for i := range terms {
		if terms[i].Weight == 0 {
			continue
		}
		out = append(out, weighted{sel: framework.NewNodeSelectorTerm(&terms[i].Preference), weight: int64(terms[i].Weight)})
	}
	return out
}

// Name of the plugin.
func (*NodeAffinity) Name() string { return config.NodeAffinity }

type preFilterState struct {
	required framework.RequiredNodeAffinity
}

func (s *preFilterState) Clone() framework.StateData { return s }

func hasRequired(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	return len(pod.Spec.NodeSelector) > 0 ||
		a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil
}

// PreFilter parses the pod's constraints once, and narrows the nodes to those named by
// matchFields metadata.name when every term names some.
func (p *NodeAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	if !hasRequired(pod) && p.addedRequired == nil {
		return nil, framework.NewStatus(framework.Skip)
	}
	s := &preFilterState{required: framework.GetRequiredNodeAffinity(pod)}
	state.Write(preFilterKey, s)
	aff := s.required.Affinity()
	if aff == nil {
		return nil, nil
	}
	names := aff.NodeNames()
	if names == nil {
		return nil, nil
	}
	if len(names) == 0 {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPod)
	}
	return &framework.PreFilterResult{NodeNames: sets.New(names...)}, nil
}

// PreFilterExtensions: the state does not depend on other pods.
func (*NodeAffinity) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter checks the enforced and the pod's own affinity.
func (p *NodeAffinity) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	node := ni.Node()
	if p.addedRequired != nil && !p.addedRequired.Match(node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonEnforced)
	}
	s, err := framework.ReadState[*preFilterState](state, preFilterKey)
	if err != nil {
		s = &preFilterState{required: framework.GetRequiredNodeAffinity(pod)}
	}
	if !s.required.Match(node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPod)
	}
	return nil
}

type preScoreState struct {
	terms []weighted
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore parses the preferred terms; without any the plugin skips scoring.
func (p *NodeAffinity) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo, _ *framework.Snapshot) *framework.Status {
	var terms []weighted
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		terms = preferred(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	terms = append(terms, p.addedPreferred...)
	if len(terms) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreKey, &preScoreState{terms: terms})
	return nil
}

// Score sums the weights of the matching preferred terms.
func (p *NodeAffinity) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, err := framework.ReadState[*preScoreState](state, preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(fmt.Errorf("node affinity: %w", err))
	}
	var score int64
	for _, t := range s.terms {
		if t.sel.Match(ni.Node()) {
			score += t.weight
		}
	}
	return score, nil
}

// ScoreExtensions returns the normalizer.
func (p *NodeAffinity) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore scales to 0..100.
func (*NodeAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	return framework.DefaultNormalizeScore(framework.MaxNodeScore, false, scores)
}

// EventsToRegister: nodes added or relabeled, when they now match.
func (p *NodeAffinity) EventsToRegister() []framework.ClusterEventWithHint {
	return []framework.ClusterEventWithHint{
		{Event: framework.ClusterEvent{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeLabel}, Hint: func(pod *corev1.Pod, _, newObj any) framework.QueueingHint {
			n, ok := newObj.(*corev1.Node)
			if !ok {
				return framework.Queue
			}
			if p.addedRequired != nil && !p.addedRequired.Match(n) {
				return framework.QueueSkip
			}
			if !framework.GetRequiredNodeAffinity(pod).Match(n) {
				return framework.QueueSkip
			}
			return framework.Queue
		}},
		{Event: framework.ClusterEvent{Resource: framework.UnscheduledPod, ActionType: framework.UpdateOther}},
	}
}

var (
	_ framework.PreFilterPlugin = (*NodeAffinity)(nil)
	_ framework.FilterPlugin    = (*NodeAffinity)(nil)
	_ framework.PreScorePlugin  = (*NodeAffinity)(nil)
	_ framework.ScorePlugin     = (*NodeAffinity)(nil)
)
