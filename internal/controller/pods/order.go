package pods

import (
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// DeletionCostAnnotation lets users rank pods for deletion on scale-down: lower first.
const DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// SortForDeletion orders pods so that the ones to delete first come first, as upstream's
// controllers choose them on scale-down:
//
//  1. unassigned before assigned to a node;
//  2. Pending before Unknown before Running;
//  3. not ready before ready;
//  4. lower pod-deletion-cost annotation before higher;
//  5. higher rank before lower (rank, when given, counts pods of the same owner on the
//     pod's node, so doubled-up nodes shed first);
//  6. ready for less time before ready for longer;
//  7. more container restarts before fewer;
//  8. newer before older.
//
// rank may be nil.
func SortForDeletion(ps []*corev1.Pod, rank func(*corev1.Pod) int) {
	if rank == nil {
		rank = func(*corev1.Pod) int { return 0 }
	}
	slices.SortStableFunc(ps, func(a, b *corev1.Pod) int {
		if deleteFirst(a, b, rank) {
			return -1
		}
		if deleteFirst(b, a, rank) {
			return 1
		}
		return 0
	})
}

func deleteFirst(a, b *corev1.Pod, rank func(*corev1.Pod) int) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if pa, pb := phaseOrdinal(a.Status.Phase), phaseOrdinal(b.Status.Phase); pa != pb {
		return pa < pb
	}
	ra, rb := IsReady(a), IsReady(b)
	if ra != rb {
		return !ra
	}
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	if ka, kb := rank(a), rank(b); ka != kb {
		return ka > kb
	}
	if ra && rb {
		ta, tb := readySince(a), readySince(b)
		if !ta.Equal(tb) {
			return laterOrZero(ta, tb)
		}
	}
	if na, nb := restarts(a), restarts(b); na != nb {
		return na > nb
	}
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		return laterOrZero(ta, tb)
	}
	return false
}

func phaseOrdinal(p corev1.PodPhase) int {
	switch p {
	case corev1.PodPending:
		return 0
	case corev1.PodUnknown:
		return 1
	case corev1.PodRunning:
		return 2
	}
	return 0 // no phase yet: as Pending
}

func deletionCost(p *corev1.Pod) int32 {
	v, ok := p.Annotations[DeletionCostAnnotation]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

func readySince(p *corev1.Pod) time.Time {
	if c := ReadyCondition(p); c != nil {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

// laterOrZero: a zero time counts as the newest (deleted first); otherwise the later first.
func laterOrZero(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero()
	}
	return a.After(b)
}

func restarts(p *corev1.Pod) int32 {
	var most int32
	for _, s := range p.Status.ContainerStatuses {
		most = max(most, s.RestartCount)
	}
	for _, s := range p.Status.InitContainerStatuses {
		most = max(most, s.RestartCount)
	}
	return most
}
