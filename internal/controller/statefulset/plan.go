package statefulset

import (
	"cmp"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	intstrutil "k8s.io/apimachinery/pkg/util/intstr"

	"capstan/internal/controller/pods"
)

// op is what a step does.
type op int

const (
	// opCreate creates the step's pod, and its missing PVCs first.
	opCreate op = iota
	// opDelete deletes the step's pod.
	opDelete
	// opUpdate fixes an existing pod's identity labels, volumes and its PVCs' owners.
	opUpdate
	// opClaims creates the missing PVCs of a pending pod.
	opClaims
	// opClaimOwners fixes the owners of a pod's PVCs (a pod being scaled away).
	opClaimOwners
)

// step is one API action of a sync. Steps of one phase may run in parallel (Parallel pod
// management); each phase starts after the previous one succeeded.
type step struct {
	op    op
	pod   *corev1.Pod
	phase int
	// recreate is set on the deletion of a pod that finished (Failed or Succeeded): it is
	// deleted to be created afresh.
	recreate corev1.PodPhase
}

// Phases of a sync, in order.
const (
	phaseReplicas = iota
	phaseCondemnedClaims
	phaseCondemned
	phaseRollout
)

// planner decides a sync of one StatefulSet from the caches.
type planner struct {
	set *appsv1.StatefulSet
	// cur and upd are set with the template of its current and update revision.
	cur, upd       *appsv1.StatefulSet
	curRev, updRev string
	// pods the set controls (members by name).
	pods []*corev1.Pod
	// claim returns the PVC name from the cache, nil when there is none.
	claim func(name string) *corev1.PersistentVolumeClaim
	now   time.Time
}

func (pl *planner) runningReady(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && pods.IsReady(p)
}

func (pl *planner) available(p *corev1.Pod) bool {
	return pl.runningReady(p) && pods.IsAvailable(p, pl.set.Spec.MinReadySeconds, pl.now)
}

func (pl *planner) healthy(p *corev1.Pod) bool {
	return pl.runningReady(p) && p.DeletionTimestamp == nil
}

// created: the API server knows the pod (it defaulted its phase); a pod the planner built
// has none.
func created(p *corev1.Pod) bool { return p.Status.Phase != "" }

// counts computes the status counts from the pods.
func (pl *planner) counts() appsv1.StatefulSetStatus {
	var st appsv1.StatefulSetStatus
	for _, p := range pl.pods {
		if created(p) {
			st.Replicas++
		}
		if pl.runningReady(p) {
			st.ReadyReplicas++
			if pl.available(p) {
				st.AvailableReplicas++
			}
		}
		if created(p) && p.DeletionTimestamp == nil {
			if revisionOf(p) == pl.curRev {
				st.CurrentReplicas++
			}
			if revisionOf(p) == pl.updRev {
				st.UpdatedReplicas++
			}
		}
	}
	return st
}

// slots returns the pods of the ordinals the set keeps, indexed from the start ordinal
// (with a new pod, at the right revision, where one is missing), and the pods of other
// ordinals, highest first.
func (pl *planner) slots() (replicas, condemned []*corev1.Pod) {
	start, n := startOrdinal(pl.set), replicasOf(pl.set)
	replicas = make([]*corev1.Pod, n)
	for _, p := range pl.pods {
		switch i := ordinalOf(p) - start; {
		case i >= 0 && i < n:
			replicas[i] = p
		case ordinalOf(p) >= 0:
			condemned = append(condemned, p)
		}
	}
	for i := range replicas {
		if replicas[i] == nil {
			replicas[i] = pl.newVersionedPod(start + i)
		}
	}
	slices.SortFunc(condemned, func(a, b *corev1.Pod) int { return cmp.Compare(ordinalOf(b), ordinalOf(a)) })
	return replicas, condemned
}

// partition is the index below which RollingUpdate keeps pods at the current revision.
func (pl *planner) partition() int {
	ru := pl.set.Spec.UpdateStrategy.RollingUpdate
	if pl.set.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType || ru == nil || ru.Partition == nil {
		return 0
	}
	return int(*ru.Partition)
}

// newVersionedPod builds the missing pod of ordinal: at the current revision below the
// partition of a RollingUpdate, at the update revision otherwise.
func (pl *planner) newVersionedPod(ordinal int) *corev1.Pod {
	if pl.set.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && ordinal < startOrdinal(pl.set)+pl.partition() {
		return newPod(pl.set, pl.cur, ordinal, pl.curRev)
	}
	return newPod(pl.set, pl.upd, ordinal, pl.updRev)
}

// plan returns the steps of this sync. With OrderedReady the steps stop where the next
// one has to wait: for a pod to be created, to become Running and Ready (and available),
// or to finish terminating; scale-down and rollout wait for every kept pod to be healthy.
// With Parallel every replica is handled at once and only the rollout waits.
func (pl *planner) plan() []step {
	if pl.set.DeletionTimestamp != nil {
		return nil
	}
	ordered := pl.set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement
	replicas, condemned := pl.slots()
	var firstUnhealthy *corev1.Pod
	for _, p := range append(slices.Clone(replicas), condemned...) {
		if !pl.healthy(p) {
			firstUnhealthy = p
			break
		}
	}
	var steps []step
	for _, p := range replicas {
		s, wait := pl.replica(p, ordered)
		steps = append(steps, s...)
		if wait && ordered {
			return steps
		}
	}
	for _, p := range condemned {
		if _, change := pl.claimChanges(p); change {
			steps = append(steps, step{op: opClaimOwners, pod: p, phase: phaseCondemnedClaims})
		}
	}
	for _, p := range condemned {
		if p.DeletionTimestamp != nil {
			if ordered {
				return steps
			}
			continue
		}
		if ordered && p != firstUnhealthy && !pl.available(p) {
			return steps
		}
		steps = append(steps, step{op: opDelete, pod: p, phase: phaseCondemned})
		if ordered {
			return steps
		}
	}
	if pl.set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return steps
	}
	return append(steps, pl.rollout(replicas)...)
}

// replica plans one kept ordinal; wait is true when an ordered set must go no further.
func (pl *planner) replica(p *corev1.Pod, ordered bool) (steps []step, wait bool) {
	switch {
	case p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded:
		// Deleted now, created afresh once it is gone.
		if p.DeletionTimestamp == nil {
			steps = append(steps, step{op: opDelete, pod: p, recreate: p.Status.Phase})
		}
		return steps, true
	case !created(p):
		for _, c := range claimsFor(pl.set, ordinalOf(p)) {
			if claimIsStale(pl.claim(c.Name), p) {
				return nil, true // wait for the garbage collector to delete the old claim
			}
		}
		return []step{{op: opCreate, pod: p}}, true
	}
	if p.Status.Phase == corev1.PodPending && pl.missingClaims(p) {
		steps = append(steps, step{op: opClaims, pod: p})
	}
	if ordered && (p.DeletionTimestamp != nil || !pl.available(p)) {
		return steps, true
	}
	_, claimsChange := pl.claimChanges(p)
	if !identityMatches(pl.set, p) || !storageMatches(pl.set, p) || claimsChange {
		steps = append(steps, step{op: opUpdate, pod: p})
	}
	return steps, false
}

func (pl *planner) missingClaims(p *corev1.Pod) bool {
	for _, c := range claimsFor(pl.set, ordinalOf(p)) {
		if pl.claim(c.Name) == nil {
			return true
		}
	}
	return false
}

// claimChanges returns the names of the pod's existing PVCs whose owners do not follow the
// retention policy.
func (pl *planner) claimChanges(p *corev1.Pod) ([]string, bool) {
	var names []string
	for _, c := range claimsFor(pl.set, ordinalOf(p)) {
		have := pl.claim(c.Name)
		if have == nil {
			continue
		}
		if _, change := claimOwners(have, pl.set, p); change {
			names = append(names, c.Name)
		}
	}
	return names, len(names) > 0
}

// maxUnavailable is how many kept pods a RollingUpdate may have unavailable: the
// rollingUpdate.maxUnavailable (default 1) scaled to the replicas rounding down, at least 1.
func (pl *planner) maxUnavailable() int {
	ru := pl.set.Spec.UpdateStrategy.RollingUpdate
	if ru == nil || ru.MaxUnavailable == nil {
		return 1
	}
	n, err := intstrutil.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, replicasOf(pl.set), false)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// rollout deletes pods at or above the partition that are not at the update revision
// (they come back at it), highest ordinal first, while fewer than maxUnavailable kept pods
// are unavailable. With Parallel management an old pod that is unavailable anyway is
// replaced without counting against the budget, so a broken old revision cannot stall it.
func (pl *planner) rollout(replicas []*corev1.Pod) []step {
	unavailable, brokenOld := 0, 0
	old := func(p *corev1.Pod) bool { return revisionOf(p) != pl.updRev && p.DeletionTimestamp == nil }
	parallel := pl.set.Spec.PodManagementPolicy == appsv1.ParallelPodManagement
	for _, p := range replicas {
		if p.DeletionTimestamp != nil || !pl.available(p) {
			unavailable++
			if parallel && old(p) {
				brokenOld++
			}
		}
	}
	budget := pl.maxUnavailable() - unavailable
	if budget <= 0 && brokenOld == 0 {
		return nil
	}
	var steps []step
	remove := func(p *corev1.Pod) { steps = append(steps, step{op: opDelete, pod: p, phase: phaseRollout}) }
	for i := len(replicas) - 1; i >= pl.partition(); i-- {
		p := replicas[i]
		switch {
		case !old(p):
		case parallel && !pl.available(p):
			remove(p)
		case budget > 0:
			remove(p)
			budget--
		}
	}
	return steps
}

// completeRollout: a RollingUpdate whose pods are all updated and ready makes the update
// revision current.
func completeRollout(set *appsv1.StatefulSet, st *appsv1.StatefulSetStatus) {
	if set.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType &&
		st.UpdatedReplicas == st.Replicas && st.ReadyReplicas == st.Replicas {
		st.CurrentReplicas = st.UpdatedReplicas
		st.CurrentRevision = st.UpdateRevision
	}
}
