// Package tainttoleration is the TaintToleration plugin: a node's NoSchedule and NoExecute
// taints keep off pods that do not tolerate them (filter), and its PreferNoSchedule taints
// make it less attractive the more of them the pod does not tolerate (score).
package tainttoleration

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

const preScoreKey = "PreScore" + config.TaintToleration

// TaintToleration filters and scores taints.
type TaintToleration struct{}

// New returns the plugin.
func New(_ any, _ framework.Handle) (framework.Plugin, error) { return TaintToleration{}, nil }

// Name of the plugin.
func (TaintToleration) Name() string { return config.TaintToleration }

func hardEffect(t *corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
}

// Filter rejects a node with an untolerated NoSchedule or NoExecute taint.
func (TaintToleration) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	taint, found := framework.FindUntoleratedTaint(ni.Node().Spec.Taints, pod.Spec.Tolerations, hardEffect)
	if !found {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable,
		fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value))
}

type preScoreState struct {
	tolerations []corev1.Toleration
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore keeps the tolerations that can tolerate PreferNoSchedule taints.
func (TaintToleration) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo, _ *framework.Snapshot) *framework.Status {
	var tols []corev1.Toleration
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	state.Write(preScoreKey, &preScoreState{tolerations: tols})
	return nil
}

// Score counts the untolerated PreferNoSchedule taints (fewer is better after normalizing).
func (TaintToleration) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, err := framework.ReadState[*preScoreState](state, preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var n int64
	taints := ni.Node().Spec.Taints
	for i := range taints {
		if taints[i].Effect == corev1.TaintEffectPreferNoSchedule && !framework.TolerationsTolerateTaint(s.tolerations, &taints[i]) {
			n++
		}
	}
	return n, nil
}

// ScoreExtensions returns the normalizer.
func (p TaintToleration) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore reverses: the node with the most untolerated taints scores 0.
func (TaintToleration) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	return framework.DefaultNormalizeScore(framework.MaxNodeScore, true, scores)
}

// EventsToRegister: a node added or its taints changed, the pod's tolerations changed.
func (TaintToleration) EventsToRegister() []framework.ClusterEventWithHint {
	return []framework.ClusterEventWithHint{
		{Event: framework.ClusterEvent{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeTaint}, Hint: func(pod *corev1.Pod, _, newObj any) framework.QueueingHint {
			n, ok := newObj.(*corev1.Node)
			if !ok {
				return framework.Queue
			}
			if _, found := framework.FindUntoleratedTaint(n.Spec.Taints, pod.Spec.Tolerations, hardEffect); found {
				return framework.QueueSkip
			}
			return framework.Queue
		}},
		{Event: framework.ClusterEvent{Resource: framework.UnscheduledPod, ActionType: framework.UpdatePodTolerations}},
	}
}

var (
	_ framework.FilterPlugin   = TaintToleration{}
	_ framework.PreScorePlugin = TaintToleration{}
	_ framework.ScorePlugin    = TaintToleration{}
)
