package disruption

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"capstan/internal/controller/pods"
)

// DeletionTimeout is how long an eviction recorded in disruptedPods counts before the
// pod's deletion is seen: after it the pod counts as healthy again.
const DeletionTimeout = 2 * time.Minute

// budget is what a PDB's status is computed from.
type budget struct {
	// expected pods (the owners' scale, or the matching pods for an integer
	// minAvailable) and desired healthy pods.
	expected, desired int32
}

// desiredHealthy computes expected and desired pods: an integer minAvailable needs no
// owners; a percentage or maxUnavailable scales by expected, the owners' replicas
// (rounding up, as upstream).
func desiredHealthy(pdb *policyv1.PodDisruptionBudget, matching int32, scale func() (int32, error)) (budget, error) {
	spec := pdb.Spec
	switch {
	case spec.MaxUnavailable != nil:
		expected, err := scale()
		if err != nil {
			return budget{}, err
		}
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return budget{}, err
		}
		return budget{expected: expected, desired: max(expected-int32(maxUnavailable), 0)}, nil
	case spec.MinAvailable != nil && spec.MinAvailable.Type == intstr.Int:
		return budget{expected: matching, desired: spec.MinAvailable.IntVal}, nil
	case spec.MinAvailable != nil:
		expected, err := scale()
		if err != nil {
			return budget{}, err
		}
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(spec.MinAvailable, int(expected), true)
		if err != nil {
			return budget{}, err
		}
		return budget{expected: expected, desired: int32(minAvailable)}, nil
	}
	return budget{expected: matching}, nil
}

// disruptedPods keeps the evictions still pending: the pod exists, is not being deleted
// yet and the entry is younger than DeletionTimeout. recheck is when the next entry
// expires (zero: none).
func disruptedPods(pdb *policyv1.PodDisruptionBudget, ps []*corev1.Pod, now time.Time) (map[string]metav1.Time, time.Time) {
	byName := map[string]*corev1.Pod{}
	for _, p := range ps {
		byName[p.Name] = p
	}
	var recheck time.Time
	out := map[string]metav1.Time{}
	for name, at := range pdb.Status.DisruptedPods {
		p := byName[name]
		if p == nil || p.DeletionTimestamp != nil {
			continue
		}
		expiry := at.Add(DeletionTimeout)
		if !now.Before(expiry) {
			continue
		}
		out[name] = at
		if recheck.IsZero() || expiry.Before(recheck) {
			recheck = expiry
		}
	}
	return out, recheck
}

// healthy counts the ready pods that are neither being deleted nor being evicted.
func healthy(ps []*corev1.Pod, disrupted map[string]metav1.Time) int32 {
	var n int32
	for _, p := range ps {
		if p.DeletionTimestamp != nil {
			continue
		}
		if _, evicting := disrupted[p.Name]; evicting {
			continue
		}
		if pods.IsReady(p) {
			n++
		}
	}
	return n
}

// computeStatus is the PDB's new status.
func computeStatus(pdb *policyv1.PodDisruptionBudget, b budget, current int32, disrupted map[string]metav1.Time) policyv1.PodDisruptionBudgetStatus {
	st := *pdb.Status.DeepCopy()
	allowed := current - b.desired
	if b.expected <= 0 || allowed < 0 {
		allowed = 0
	}
	st.ObservedGeneration = pdb.Generation
	st.ExpectedPods, st.DesiredHealthy, st.CurrentHealthy, st.DisruptionsAllowed = b.expected, b.desired, current, allowed
	st.DisruptedPods = disrupted
	if len(disrupted) == 0 {
		st.DisruptedPods = nil
	}
	setAllowedCondition(&st)
	return st
}

// setAllowedCondition sets DisruptionAllowed from disruptionsAllowed.
func setAllowedCondition(st *policyv1.PodDisruptionBudgetStatus) {
	c := metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
		Reason: policyv1.InsufficientPodsReason, ObservedGeneration: st.ObservedGeneration}
	if st.DisruptionsAllowed > 0 {
		c.Status, c.Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	}
	apimeta.SetStatusCondition(&st.Conditions, c)
}

// failedStatus is the fail-safe status when the budget cannot be computed: no
// disruptions allowed, and why.
func failedStatus(pdb *policyv1.PodDisruptionBudget, err error) policyv1.PodDisruptionBudgetStatus {
	st := *pdb.Status.DeepCopy()
	st.ObservedGeneration = pdb.Generation
	st.DisruptionsAllowed = 0
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: policyv1.DisruptionAllowedCondition,
		Status: metav1.ConditionFalse, Reason: policyv1.SyncFailedReason, Message: err.Error(), ObservedGeneration: pdb.Generation})
	return st
}

// unmanagedMessage is upstream's warning about pods without a controller.
func unmanagedMessage(selector *metav1.LabelSelector) string {
	return fmt.Sprintf("Pods selected by this PodDisruptionBudget (selector: %v) were found to be unmanaged. "+
		"As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "+
		"To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.", selector)
}
