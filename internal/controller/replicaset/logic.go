package replicaset

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"capstan/internal/controller/pods"
)

// calculateStatus is the status of rs owning the active pods active and terminating
// terminating pods, after a manageReplicas that failed with manageErr (or nil). Only
// reportTerminating kinds fill terminatingReplicas.
func calculateStatus(rs *appsv1.ReplicaSet, active []*corev1.Pod, terminating int, reportTerminating bool, manageErr error, now time.Time) appsv1.ReplicaSetStatus {
	st := *rs.Status.DeepCopy()
	templateLabels := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	var fully, ready, available int32
	for _, p := range active {
		if templateLabels.Matches(labels.Set(p.Labels)) {
			fully++
		}
		if pods.IsReady(p) {
			ready++
			if pods.IsAvailable(p, rs.Spec.MinReadySeconds, now) {
				available++
			}
		}
	}
	st.Replicas = int32(len(active))
	st.FullyLabeledReplicas, st.ReadyReplicas, st.AvailableReplicas = fully, ready, available
	st.TerminatingReplicas = nil
	if reportTerminating {
		st.TerminatingReplicas = ptr.To(int32(terminating))
	}
	failure := condition(st.Conditions, appsv1.ReplicaSetReplicaFailure)
	switch {
	case manageErr != nil && failure == nil:
		reason := ""
		if diff := len(active) - int(ptr.Deref(rs.Spec.Replicas, 1)); diff < 0 {
			reason = "FailedCreate"
		} else if diff > 0 {
			reason = "FailedDelete"
		}
		st.Conditions = append(st.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: manageErr.Error(),
		})
	case manageErr == nil && failure != nil:
		st.Conditions = removeCondition(st.Conditions, appsv1.ReplicaSetReplicaFailure)
	}
	return st
}

func condition(cs []appsv1.ReplicaSetCondition, t appsv1.ReplicaSetConditionType) *appsv1.ReplicaSetCondition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

func removeCondition(cs []appsv1.ReplicaSetCondition, t appsv1.ReplicaSetConditionType) []appsv1.ReplicaSetCondition {
	var out []appsv1.ReplicaSetCondition
	for _, c := range cs {
		if c.Type != t {
			out = append(out, c)
		}
	}
	return out
}

// availableWait is how long until the next of the ready pods becomes available, or 0 when
// none is waiting for minReadySeconds.
func availableWait(active []*corev1.Pod, minReadySeconds int32, now time.Time) time.Duration {
	var soonest time.Duration
	for _, p := range active {
		if ok, wait := pods.AvailableIn(p, minReadySeconds, now); !ok && wait > 0 && (soonest == 0 || wait < soonest) {
			soonest = wait
		}
	}
	return soonest
}

// podsToDelete picks the diff pods of active to delete first. related are the active pods
// of every ReplicaSet of the same owner (for a Deployment, all its ReplicaSets): a pod on
// a node crowded with related pods goes first.
func podsToDelete(active, related []*corev1.Pod, diff int) []*corev1.Pod {
	if diff >= len(active) {
		return active
	}
	onNode := map[string]int{}
	for _, p := range related {
		if p.Spec.NodeName != "" {
			onNode[p.Spec.NodeName]++
		}
	}
	sorted := append([]*corev1.Pod(nil), active...)
	pods.SortForDeletion(sorted, func(p *corev1.Pod) int { return onNode[p.Spec.NodeName] })
	return sorted[:diff]
}
