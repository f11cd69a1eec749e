package nodelifecycle

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conditionTaints maps node conditions to the NoSchedule taint the controller keeps on a
// node while the condition has that status.
var conditionTaints = []struct {
	cond   corev1.NodeConditionType
	status corev1.ConditionStatus
	key    string
}{
	{corev1.NodeReady, corev1.ConditionFalse, corev1.TaintNodeNotReady},
	{corev1.NodeReady, corev1.ConditionUnknown, corev1.TaintNodeUnreachable},
	{corev1.NodeMemoryPressure, corev1.ConditionTrue, corev1.TaintNodeMemoryPressure},
	{corev1.NodeDiskPressure, corev1.ConditionTrue, corev1.TaintNodeDiskPressure},
	{corev1.NodeNetworkUnavailable, corev1.ConditionTrue, corev1.TaintNodeNetworkUnavailable},
	{corev1.NodePIDPressure, corev1.ConditionTrue, corev1.TaintNodePIDPressure},
}

// ownsNoSchedule reports whether t is a NoSchedule taint this controller manages.
func ownsNoSchedule(t corev1.Taint) bool {
	if t.Effect != corev1.TaintEffectNoSchedule {
		return false
	}
	if t.Key == corev1.TaintNodeUnschedulable {
		return true
	}
	for _, ct := range conditionTaints {
		if ct.key == t.Key {
			return true
		}
	}
	return false
}

// ownsNoExecute reports whether t is a NoExecute taint this controller manages.
func ownsNoExecute(t corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoExecute && (t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable)
}

// wantedNoSchedule is the controller's NoSchedule taints for the node's conditions and
// spec.unschedulable.
func wantedNoSchedule(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, ct := range conditionTaints {
		if c := condition(node.Status.Conditions, ct.cond); c != nil && c.Status == ct.status {
			out = append(out, corev1.Taint{Key: ct.key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	if node.Spec.Unschedulable {
		out = append(out, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	return out
}

// wantedNoExecute is the key of the NoExecute taint a node with this Ready status should
// carry; "" when none.
func wantedNoExecute(ready corev1.ConditionStatus) string {
	switch ready {
	case corev1.ConditionFalse:
		return corev1.TaintNodeNotReady
	case corev1.ConditionUnknown:
		return corev1.TaintNodeUnreachable
	}
	return ""
}

// reconcileTaints returns current with the taints owns selects replaced by want. Taints
// kept keep their timeAdded; new NoExecute taints get now. changed reports a difference.
func reconcileTaints(current []corev1.Taint, owns func(corev1.Taint) bool, want []corev1.Taint, now metav1.Time) ([]corev1.Taint, bool) {
	var out []corev1.Taint
	changed := false
	for _, t := range current {
		if !owns(t) || slices.ContainsFunc(want, func(w corev1.Taint) bool { return w.MatchTaint(&t) }) {
			out = append(out, t)
			continue
		}
		changed = true
	}
	for _, w := range want {
		if slices.ContainsFunc(out, func(t corev1.Taint) bool { return t.MatchTaint(&w) }) {
			continue
		}
		if w.Effect == corev1.TaintEffectNoExecute && w.TimeAdded == nil {
			w.TimeAdded = &now
		}
		out = append(out, w)
		changed = true
	}
	return out, changed
}

// hasTaint reports whether the taints include key with effect.
func hasTaint(taints []corev1.Taint, key string, effect corev1.TaintEffect) bool {
	return slices.ContainsFunc(taints, func(t corev1.Taint) bool { return t.Key == key && t.Effect == effect })
}
