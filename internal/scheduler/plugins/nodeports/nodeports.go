// Package nodeports is the NodePorts plugin: a pod asking for host ports fits only nodes
// where no other pod holds the same port and protocol on the same (or any) host IP.
package nodeports

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// ErrReason is upstream's filter reason.
const ErrReason = "node(s) didn't have free ports for the requested pod ports"

const preFilterKey = "PreFilter" + config.NodePorts

// NodePorts filters host port conflicts.
type NodePorts struct{}

// New returns the plugin.
func New(_ any, _ framework.Handle) (framework.Plugin, error) { return NodePorts{}, nil }

// Name of the plugin.
func (NodePorts) Name() string { return config.NodePorts }

type preFilterState []corev1.ContainerPort

func (s preFilterState) Clone() framework.StateData { return s }

// PreFilter collects the pod's host ports; a pod without any skips the filter.
func (NodePorts) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	ports := framework.HostPorts(pod)
	if len(ports) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	state.Write(preFilterKey, preFilterState(ports))
	return nil, nil
}

// PreFilterExtensions: the node's used ports are updated on the NodeInfo itself.
func (NodePorts) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter rejects a node where a wanted port is taken.
func (NodePorts) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	ports, err := framework.ReadState[preFilterState](state, preFilterKey)
	if err != nil {
		ports = framework.HostPorts(pod)
	}
	if Fits(ports, ni) {
		return nil
	}
	return framework.NewStatus(framework.Unschedulable, ErrReason)
}

// Fits says whether none of ports is taken on the node.
func Fits(ports []corev1.ContainerPort, ni *framework.NodeInfo) bool {
	for _, p := range ports {
		if ni.UsedPorts.CheckConflict(p.HostIP, string(p.Protocol), p.HostPort) {
			return false
		}
	}
	return true
}

// EventsToRegister: a pod deleted (freeing ports) or a node added.
func (NodePorts) EventsToRegister() []framework.ClusterEventWithHint {
	return []framework.ClusterEventWithHint{
		{Event: framework.EventAssignedPodDelete, Hint: func(pod *corev1.Pod, oldObj, _ any) framework.QueueingHint {
			deleted, ok := oldObj.(*corev1.Pod)
			if !ok {
				return framework.Queue
			}
			want := framework.HostPorts(pod)
			for _, d := range framework.HostPorts(deleted) {
				for _, w := range want {
					if d.HostPort == w.HostPort && d.Protocol == w.Protocol {
						return framework.Queue
					}
				}
			}
			return framework.QueueSkip
		}},
		{Event: framework.EventNodeAdd},
	}
}

var (
	_ framework.PreFilterPlugin = NodePorts{}
	_ framework.FilterPlugin    = NodePorts{}
)
