package nodelifecycle

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reasons and messages upstream writes on conditions it sets to Unknown.
const (
	reasonUnknown      = "NodeStatusUnknown"
	messageUnknown     = "Kubelet stopped posting node status."
	reasonNeverUpdated = "NodeStatusNeverUpdated"
	messageNeverUpdate = "Kubelet never posted node status."
)

// watchedConditions are set to Unknown when a node goes silent.
var watchedConditions = []corev1.NodeConditionType{
	corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure,
}

// heartbeat is what the controller remembers of a node between passes. Times are the
// controller's own clock: a node is alive when its heartbeat or lease changed lately, not
// when the time it wrote is recent, so clock skew between machines does not matter.
type heartbeat struct {
	// probe is when the controller last saw a sign of life.
	probe time.Time
	// readyHeartbeat and leaseRenew are the last values seen.
	readyHeartbeat metav1.Time
	leaseRenew     *metav1.MicroTime
}

// healthTimes are the grace periods.
type healthTimes struct {
	// Monitor applies to nodes that have posted a Ready condition, Startup to the others.
	Monitor, Startup time.Duration
}

// observe updates hb (nil: first sight) from the node and its lease and returns the
// record and the time after which the node counts as silent.
func observe(hb *heartbeat, node *corev1.Node, lease *coordinationv1.Lease, now time.Time, g healthTimes) (*heartbeat, time.Time) {
	ready := condition(node.Status.Conditions, corev1.NodeReady)
	grace := g.Monitor
	switch {
	case ready == nil:
		grace = g.Startup
		if hb == nil {
			// Never posted: the startup grace runs from the node's creation.
			hb = &heartbeat{probe: node.CreationTimestamp.Time}
		}
	case hb == nil:
		// First sight (e.g. after a restart): the node gets a full grace period.
		hb = &heartbeat{probe: now, readyHeartbeat: ready.LastHeartbeatTime}
	case !ready.LastHeartbeatTime.Equal(&hb.readyHeartbeat):
		hb.probe, hb.readyHeartbeat = now, ready.LastHeartbeatTime
	}
	if lease != nil && lease.Spec.RenewTime != nil && (hb.leaseRenew == nil || hb.leaseRenew.Before(lease.Spec.RenewTime)) {
		hb.leaseRenew = lease.Spec.RenewTime.DeepCopy()
		hb.probe = now
	}
	return hb, hb.probe.Add(grace)
}

// markUnknown sets the watched conditions of a silent node to Unknown (adding the ones
// it never posted) and reports whether anything changed.
func markUnknown(status *corev1.NodeStatus, created metav1.Time, now metav1.Time) bool {
	changed := false
	for _, t := range watchedConditions {
		c := condition(status.Conditions, t)
		switch {
		case c == nil:
			status.Conditions = append(status.Conditions, corev1.NodeCondition{
				Type: t, Status: corev1.ConditionUnknown, Reason: reasonNeverUpdated, Message: messageNeverUpdate,
				LastHeartbeatTime: created, LastTransitionTime: now,
			})
			changed = true
		case c.Status != corev1.ConditionUnknown:
			c.Status, c.Reason, c.Message, c.LastTransitionTime = corev1.ConditionUnknown, reasonUnknown, messageUnknown, now
			changed = true
		}
	}
	return changed
}

func condition(conds []corev1.NodeCondition, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// readyStatus is the node's Ready status; Unknown when it has none.
func readyStatus(node *corev1.Node) corev1.ConditionStatus {
	if c := condition(node.Status.Conditions, corev1.NodeReady); c != nil {
		return c.Status
	}
	return corev1.ConditionUnknown
}
