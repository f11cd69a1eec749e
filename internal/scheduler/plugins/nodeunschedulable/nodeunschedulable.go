// Package nodeunschedulable is the NodeUnschedulable plugin: a cordoned node
// (spec.unschedulable) takes only pods tolerating the node.kubernetes.io/unschedulable
// NoSchedule taint.
package nodeunschedulable

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// ErrReason is upstream's filter reason.
const ErrReason = "node(s) were unschedulable"

// NodeUnschedulable filters cordoned nodes.
type NodeUnschedulable struct{}

// New returns the plugin.
func New(_ any, _ framework.Handle) (framework.Plugin, error) { return NodeUnschedulable{}, nil }

// Name of the plugin.
func (NodeUnschedulable) Name() string { return config.NodeUnschedulable }

var unschedulableTaint = corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}

// Filter rejects cordoned nodes unless the pod tolerates them.
func (NodeUnschedulable) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	if !ni.Node().Spec.Unschedulable {
		return nil
	}
	if framework.TolerationsTolerateTaint(pod.Spec.Tolerations, &unschedulableTaint) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)
}

// EventsToRegister: a node added or uncordoned.
func (NodeUnschedulable) EventsToRegister() []framework.ClusterEventWithHint {
	return []framework.ClusterEventWithHint{
		{Event: framework.ClusterEvent{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeTaint}, Hint: func(_ *corev1.Pod, _, newObj any) framework.QueueingHint {
			if n, ok := newObj.(*corev1.Node); ok && n.Spec.Unschedulable {
				return framework.QueueSkip
			}
			return framework.Queue
		}},
		{Event: framework.ClusterEvent{Resource: framework.UnscheduledPod, ActionType: framework.UpdatePodTolerations}},
	}
}

var _ framework.FilterPlugin = NodeUnschedulable{}
