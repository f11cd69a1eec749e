package deployment

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
)

// The scaling arithmetic, free of I/O: each function says what size which ReplicaSet
// should have; the controller applies it.

// resize is one ReplicaSet scaled to a size.
type resize struct {
	rs *appsv1.ReplicaSet
	to int32
}

// newRSReplicas is the size of the new ReplicaSet this step of the rollout allows: for
// RollingUpdate as many as fit under replicas+maxSurge in total, for Recreate all of them.
func newRSReplicas(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	if !isRolling(d) {
		return desired(d)
	}
	current := sumSpec(all)
	ceiling := desired(d) + maxSurge(d)
	if current >= ceiling {
		return replicas(newRS)
	}
	up := min(ceiling-current, desired(d)-replicas(newRS))
	return replicas(newRS) + up
}

// planOldScaleDown is the rolling update's scale-down of the old ReplicaSets (active ones,
// in olds): first the replicas that are not available anyway (oldest ReplicaSet first,
// never more than the unavailability budget allows), then available ones while more than
// replicas-maxUnavailable pods stay available. It returns the ReplicaSets to resize.
func planOldScaleDown(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) []resize {
	if sumSpec(olds) == 0 {
		return nil
	}
	minAvailable := desired(d) - maxUnavailable(d)
	newUnavailable := replicas(newRS) - newRS.Status.AvailableReplicas
	budget := sumSpec(olds) + replicas(newRS) - minAvailable - newUnavailable
	if budget <= 0 {
		return nil
	}
	sorted := slices.Clone(olds)
	slices.SortFunc(sorted, byCreation)
	sizes := make([]int32, len(sorted))
	for i, rs := range sorted {
		sizes[i] = replicas(rs)
	}
	// Unhealthy replicas first: removing them costs no availability.
	var cleaned int32
	for i, rs := range sorted {
		if cleaned >= budget {
			break
		}
		unhealthy := sizes[i] - rs.Status.AvailableReplicas
		if sizes[i] == 0 || unhealthy <= 0 {
			continue
		}
		n := min(budget-cleaned, unhealthy)
		sizes[i] -= n
		cleaned += n
	}
	// Then available ones, keeping minAvailable.
	available := sumStatus(append(slices.Clone(olds), newRS), func(s *appsv1.ReplicaSetStatus) int32 { return s.AvailableReplicas })
	if excess := available - minAvailable; excess > 0 {
		var done int32
		for i := range sorted {
			if done >= excess {
				break
			}
			if sizes[i] == 0 {
				continue
			}
			n := min(sizes[i], excess-done)
			sizes[i] -= n
			done += n
		}
	}
	var out []resize
	for i, rs := range sorted {
		if sizes[i] != replicas(rs) {
			out = append(out, resize{rs: rs, to: sizes[i]})
		}
	}
	return out
}

// planProportional spreads a change of the deployment's size over its active
// ReplicaSets in proportion to the size each was last scaled for (its max-replicas
// annotation), so a scale in the middle of a rollout keeps the rollout's ratio. Leftovers
// from rounding go to the largest ReplicaSet. It returns the new size of every active one
// and whether the deployment scaled up.
func planProportional(d *appsv1.Deployment, rss []*appsv1.ReplicaSet) ([]resize, string) {
	all := active(rss)
	var allowed int32
	if desired(d) > 0 {
		allowed = desired(d) + maxSurge(d)
	}
	toAdd := allowed - sumSpec(all)
	op := ""
	switch {
	case toAdd > 0:
		slices.SortFunc(all, bySizeNewer)
		op = "up"
	case toAdd < 0:
		slices.SortFunc(all, bySizeOlder)
		op = "down"
	}
	sizes := make([]int32, len(all))
	var added int32
	for i, rs := range all {
		sizes[i] = replicas(rs)
		if toAdd != 0 {
			p := proportion(d, rs, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	if len(all) > 0 && toAdd != 0 {
		sizes[0] = max(sizes[0]+toAdd-added, 0)
	}
	out := make([]resize, len(all))
	for i, rs := range all {
		out[i] = resize{rs: rs, to: sizes[i]}
	}
	return out, op
}

// proportion is rs's share of toAdd, of which added are already given out, never more
// (in absolute value) than what remains.
func proportion(d *appsv1.Deployment, rs *appsv1.ReplicaSet, toAdd, added int32) int32 {
	if replicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	f := fraction(d, rs)
	left := toAdd - added
	if toAdd > 0 {
		return min(f, left)
	}
	return max(f, left)
}

// fraction is how much rs should grow (or shrink) to keep its share of the deployment.
func fraction(d *appsv1.Deployment, rs *appsv1.ReplicaSet) int32 {
	if desired(d) == 0 {
		return -replicas(rs)
	}
	total := desired(d) + maxSurge(d)
	was, ok := annotationInt32(rs, MaxReplicasAnnotation)
	if !ok || was == 0 {
		was = d.Status.Replicas
	}
	if was == 0 {
		return 0
	}
	size := float64(replicas(rs)) * float64(total) / float64(was)
	return int32(size+0.5) - replicas(rs)
}

// activeOrLatest is the one ReplicaSet to scale when only one has replicas (or, when
// none has, the newest); nil when several do.
func activeOrLatest(newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(olds) == 0 {
		return nil
	}
	sorted := slices.Clone(olds)
	slices.SortFunc(sorted, func(a, b *appsv1.ReplicaSet) int { return -byCreation(a, b) })
	all := active(append(sorted, newRS))
	switch len(all) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return sorted[0]
	case 1:
		return all[0]
	}
	return nil
}
