// Package queuesort is the PrioritySort plugin: the active queue pops higher spec.priority
// first, then the pod that entered the queue earlier.
package queuesort

import (
	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// PrioritySort orders by priority, then queue timestamp.
type PrioritySort struct{}

// New returns the plugin.
func New(_ any, _ framework.Handle) (framework.Plugin, error) { return PrioritySort{}, nil }

// Name of the plugin.
func (PrioritySort) Name() string { return config.PrioritySort }

// Less says whether a pops before b.
func (PrioritySort) Less(a, b *framework.QueuedPodInfo) bool {
	pa, pb := framework.PodPriority(a.Pod), framework.PodPriority(b.Pod)
	return pa > pb || (pa == pb && a.Timestamp.Before(b.Timestamp))
}

var _ framework.QueueSortPlugin = PrioritySort{}
