// Package nodename is the NodeName plugin: a pod naming a node in spec.nodeName fits only
// that node.
package nodename

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// ErrReason is upstream's filter reason.
const ErrReason = "node(s) didn't match the requested node name"

// NodeName filters on spec.nodeName.
type NodeName struct{}

// New returns the plugin.
func New(_ any, _ framework.Handle) (framework.Plugin, error) { return NodeName{}, nil }

// Name of the plugin.
func (NodeName) Name() string { return config.NodeName }

// Filter passes only the named node.
func (NodeName) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	if pod.Spec.NodeName == "" || pod.Spec.NodeName == ni.Node().Name {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)
}

// EventsToRegister: a new node may be the named one.
func (NodeName) EventsToRegister() []framework.ClusterEventWithHint {
	return []framework.ClusterEventWithHint{{Event: framework.EventNodeAdd}}
}

var _ framework.FilterPlugin = NodeName{}
