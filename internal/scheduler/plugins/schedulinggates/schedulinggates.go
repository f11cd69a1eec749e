// Package schedulinggates is the SchedulingGates plugin: a pod with spec.schedulingGates
// stays out of the active queue until every gate is removed.
package schedulinggates

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// SchedulingGates gates pods.
type SchedulingGates struct{}

// New returns the plugin.
func New(_ any, _ framework.Handle) (framework.Plugin, error) { return SchedulingGates{}, nil }

// Name of the plugin.
func (SchedulingGates) Name() string { return config.SchedulingGates }

// PreEnqueue keeps gated pods waiting.
func (SchedulingGates) PreEnqueue(_ context.Context, pod *corev1.Pod) *framework.Status {
	if len(pod.Spec.SchedulingGates) == 0 {
		return nil
	}
	gates := make([]string, len(pod.Spec.SchedulingGates))
	for i, g := range pod.Spec.SchedulingGates {
		gates[i] = g.Name
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("waiting for scheduling gates: %v", gates))
}

// EventsToRegister: the pod's own update removing its gates.
func (SchedulingGates) EventsToRegister() []framework.ClusterEventWithHint {
	return []framework.ClusterEventWithHint{{Event: framework.ClusterEvent{Resource: framework.UnscheduledPod, ActionType: framework.UpdatePodSchedulingGatesEliminated}}}
}

var _ framework.PreEnqueuePlugin = SchedulingGates{}
