package deployment

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// rolloutRolling takes one step of a rolling update: scale the new ReplicaSet up within
// maxSurge, else scale old ones down within maxUnavailable, else (when complete) prune
// the history; then report the status.
func (s *state) rolloutRolling(ctx context.Context) error {
	newRS, olds, err := s.newReplicaSet(ctx, true)
	if err != nil {
		return err
	}
	all := append(slices.Clone(olds), newRS)
	// Scale up, if we can.
	if replicas(newRS) != desired(s.d) {
		to := desired(s.d)
		if replicas(newRS) < desired(s.d) {
			to = newRSReplicas(s.d, all, newRS)
		}
		scaled, err := s.scaleRS(ctx, newRS, to, "")
		if err != nil {
			return err
		}
		if scaled {
			return s.syncRolloutStatus(ctx, newRS)
		}
	}
	// Scale down, if we can.
	scaledDown := false
	for _, r := range planOldScaleDown(s.d, newRS, active(olds)) {
		if _, err := s.scaleRS(ctx, r.rs, r.to, ""); err != nil {
			return err
		}
		scaledDown = true
	}
	if scaledDown {
		return s.syncRolloutStatus(ctx, newRS)
	}
	if st := calculateStatus(s.d, s.rss, s.current(newRS), s.now); complete(s.d, &st) {
		if err := s.cleanup(ctx, oldReplicaSets(s.rss, newRS)); err != nil {
			return err
		}
	}
	return s.syncRolloutStatus(ctx, newRS)
}

// rolloutRecreate scales every old ReplicaSet to zero, waits until their pods are gone,
// then creates (or scales up) the new one.
func (s *state) rolloutRecreate(ctx context.Context) error {
	newRS, olds, err := s.newReplicaSet(ctx, false)
	if err != nil {
		return err
	}
	scaledDown := false
	for _, rs := range active(olds) {
		if _, err := s.scaleRS(ctx, rs, 0, ""); err != nil {
			return err
		}
		scaledDown = true
	}
	if scaledDown {
		return s.syncRolloutStatus(ctx, newRS)
	}
	running, err := s.oldPodsRunning(newRS, olds)
	if err != nil {
		return err
	}
	if running {
		return s.syncRolloutStatus(ctx, newRS)
	}
	if newRS == nil {
		if newRS, olds, err = s.newReplicaSet(ctx, true); err != nil {
			return err
		}
	}
	if _, err := s.scaleRS(ctx, newRS, desired(s.d), ""); err != nil {
		return err
	}
	if st := calculateStatus(s.d, s.rss, s.current(newRS), s.now); complete(s.d, &st) {
		if err := s.cleanup(ctx, olds); err != nil {
			return err
		}
	}
	return s.syncRolloutStatus(ctx, newRS)
}

// oldPodsRunning: an old ReplicaSet still reports pods, or a pod of one (or of none of
// the new) is not terminal yet.
func (s *state) oldPodsRunning(newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) (bool, error) {
	if sumStatus(olds, func(st *appsv1.ReplicaSetStatus) int32 { return st.Replicas }) > 0 {
		return true, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(s.d.Spec.Selector)
	if err != nil {
		return false, err
	}
	ps, err := s.c.pods.Pods(s.d.Namespace).List(sel)
	if err != nil {
		return false, err
	}
	ours := map[types.UID]bool{}
	for _, rs := range olds {
		ours[rs.UID] = true
	}
	for _, p := range ps {
		ref := metav1.GetControllerOfNoCopy(p)
		if ref == nil || !ours[ref.UID] {
			continue
		}
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return true, nil
		}
	}
	return false, nil
}

// scale resizes the ReplicaSets for a change of the deployment's size: the only active
// one (or newest) takes it all; a saturated new one makes the old ones zero; otherwise a
// rolling deployment spreads the change proportionally.
func (s *state) scale(ctx context.Context, newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) error {
	if rs := activeOrLatest(newRS, olds); rs != nil {
		if replicas(rs) == desired(s.d) {
			return nil
		}
		_, err := s.scaleRS(ctx, rs, desired(s.d), "")
		return err
	}
	if isSaturated(s.d, newRS) {
		for _, rs := range active(olds) {
			if _, err := s.scaleRS(ctx, rs, 0, ""); err != nil {
				return err
			}
		}
		return nil
	}
	if !isRolling(s.d) {
		return nil
	}
	plan, op := planProportional(s.d, append(slices.Clone(olds), newRS))
	for _, r := range plan {
		if _, err := s.scaleRS(ctx, r.rs, r.to, op); err != nil {
			return err
		}
	}
	return nil
}

// scaleRS sets rs's replicas to n (and its replicas annotations to the deployment's
// size), recording ScalingReplicaSet. op ("up"/"down") overrides the direction in the
// event. It reports whether the size changed.
func (s *state) scaleRS(ctx context.Context, rs *appsv1.ReplicaSet, n int32, op string) (bool, error) {
	rs = s.current(rs)
	want, ceiling := desired(s.d), desired(s.d)+maxSurge(s.d)
	resize := replicas(rs) != n
	if !resize && !replicasAnnotationsNeedUpdate(rs, want, ceiling) {
		return false, nil
	}
	if op == "" {
		op = "down"
		if replicas(rs) < n {
			op = "up"
		}
	}
	from := replicas(rs)
	cp := rs.DeepCopy()
	cp.Spec.Replicas = ptr.To(n)
	setReplicasAnnotations(cp, want, ceiling)
	updated, err := s.c.opts.Client.AppsV1().ReplicaSets(cp.Namespace).Update(ctx, cp, metav1.UpdateOptions{})
	if err != nil {
		return false, fmt.Errorf("scaling replica set %s/%s: %w", cp.Namespace, cp.Name, err)
	}
	s.replace(updated)
	if resize {
		s.c.opts.Recorder.Eventf(s.d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", op, updated.Name, from, n)
	}
	return resize, nil
}

// cleanup deletes the oldest old ReplicaSets beyond revisionHistoryLimit, only those
// scaled to zero with no pods left and their latest spec observed.
func (s *state) cleanup(ctx context.Context, olds []*appsv1.ReplicaSet) error {
	if s.d.Spec.RevisionHistoryLimit == nil {
		return nil
	}
	var alive []*appsv1.ReplicaSet
	for _, rs := range olds {
		if rs != nil && rs.DeletionTimestamp == nil {
			alive = append(alive, s.current(rs))
		}
	}
	extra := len(alive) - int(*s.d.Spec.RevisionHistoryLimit)
	if extra <= 0 {
		return nil
	}
	slices.SortFunc(alive, byRevision)
	for _, rs := range alive[:extra] {
		if rs.Status.Replicas != 0 || replicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		err := s.c.opts.Client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting old replica set %s/%s: %w", rs.Namespace, rs.Name, err)
		}
	}
	return nil
}
