package pods

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// IsTerminal is true for a pod that Succeeded or Failed: it will never run again.
func IsTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// IsActive is true for a pod that counts towards its controller's replicas: not terminal
// and not being deleted.
func IsActive(p *corev1.Pod) bool {
	return !IsTerminal(p) && p.DeletionTimestamp == nil
}

// FilterActive returns the active pods of ps.
func FilterActive(ps []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range ps {
		if IsActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// ReadyCondition returns the pod's Ready condition, or nil.
func ReadyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// IsReady is true when the pod's Ready condition is True.
func IsReady(p *corev1.Pod) bool {
	c := ReadyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// IsAvailable is true when the pod has been ready for at least minReadySeconds at now.
func IsAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	ok, _ := AvailableIn(p, minReadySeconds, now)
	return ok
}

// AvailableIn tells whether the pod is available at now and, when it is ready but not yet
// available, how long until it will be (for a timed requeue).
func AvailableIn(p *corev1.Pod, minReadySeconds int32, now time.Time) (bool, time.Duration) {
	c := ReadyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false, 0
	}
	if minReadySeconds == 0 {
		return true, 0
	}
	if c.LastTransitionTime.IsZero() {
		return false, 0
	}
	at := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second)
	if at.Before(now) {
		return true, 0
	}
	return false, at.Sub(now) + time.Second
}

// Key is the "namespace/name" key of a pod, as used by expectations.
func Key(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }
