package framework

import corev1 "k8s.io/api/core/v1"

// EventResource is the kind of object a cluster event is about.
type EventResource string

// The resources the scheduler watches.
const (
	// Pod is an assigned (or assumed) pod other than the one being scheduled.
	Pod EventResource = "Pod"
	// UnscheduledPod is the pending pod itself.
	UnscheduledPod        EventResource = "UnscheduledPod"
	Node                  EventResource = "Node"
	PersistentVolume      EventResource = "PersistentVolume"
	PersistentVolumeClaim EventResource = "PersistentVolumeClaim"
	StorageClass          EventResource = "StorageClass"
	Namespace             EventResource = "Namespace"
	// WildCard matches every resource.
	WildCard EventResource = "*"
)

// ActionType is a bit set of what happened.
type ActionType uint64

// Actions.
const (
	Add ActionType = 1 << iota
	Delete
	UpdateNodeAllocatable
	UpdateNodeLabel
	UpdateNodeTaint
	UpdateNodeCondition
	UpdateNodeAnnotation
	UpdatePodLabel
	UpdatePodScaleDown
	UpdatePodTolerations
	UpdatePodSchedulingGatesEliminated
	// UpdateOther is any other update.
	UpdateOther

	Update = UpdateNodeAllocatable | UpdateNodeLabel | UpdateNodeTaint | UpdateNodeCondition | UpdateNodeAnnotation |
		UpdatePodLabel | UpdatePodScaleDown | UpdatePodTolerations | UpdatePodSchedulingGatesEliminated | UpdateOther
	All = Add | Delete | Update
)

// ClusterEvent is something that happened in the cluster.
type ClusterEvent struct {
	Resource   EventResource
	ActionType ActionType
	// Label names the event in metrics and logs.
	Label string
}

// Match says whether the registered event e covers the event o.
func (e ClusterEvent) Match(o ClusterEvent) bool {
	return (e.Resource == WildCard || e.Resource == o.Resource) && e.ActionType&o.ActionType != 0
}

// QueueingHint is a plugin's verdict on whether an event may make a pod schedulable.
type QueueingHint int

const (
	// QueueSkip: the event does not help this pod.
	QueueSkip QueueingHint = iota
	// Queue: retry the pod.
	Queue
)

// QueueingHintFn looks at an event's old and new object (either nil for add/delete) for a
// pod the plugin rejected.
type QueueingHintFn func(pod *corev1.Pod, oldObj, newObj any) QueueingHint

// ClusterEventWithHint is a registered event and its optional hint (nil: always Queue).
type ClusterEventWithHint struct {
	Event ClusterEvent
	Hint  QueueingHintFn
}

// Common events the scheduler's informer handlers emit.
var (
	EventAssignedPodAdd    = ClusterEvent{Resource: Pod, ActionType: Add, Label: "AssignedPodAdd"}
	EventAssignedPodUpdate = ClusterEvent{Resource: Pod, ActionType: Update, Label: "AssignedPodUpdate"}
	EventAssignedPodDelete = ClusterEvent{Resource: Pod, ActionType: Delete, Label: "AssignedPodDelete"}
	EventNodeAdd           = ClusterEvent{Resource: Node, ActionType: Add, Label: "NodeAdd"}
	EventNodeDelete        = ClusterEvent{Resource: Node, ActionType: Delete, Label: "NodeDelete"}
	// EventUnschedulableTimeout is the periodic flush of pods waiting too long.
	EventUnschedulableTimeout = ClusterEvent{Resource: WildCard, ActionType: All, Label: "UnschedulableTimeout"}
	// EventForceActivate moves pods regardless of their rejectors.
	EventForceActivate = ClusterEvent{Resource: WildCard, ActionType: All, Label: "ForceActivate"}
)
