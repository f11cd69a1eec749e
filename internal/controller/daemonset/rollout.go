package daemonset

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	intstrutil "k8s.io/apimachinery/pkg/util/intstr"
)

// rollingBudget returns maxSurge and maxUnavailable scaled to the desired number of daemon
// pods (percentages round up). Both zero would stall the rollout, so maxUnavailable is then 1.
func rollingBudget(ds *appsv1.DaemonSet, desired int) (surge, unavailable int) {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType && ru != nil {
		if ru.MaxSurge != nil {
			surge, _ = intstrutil.GetScaledValueFromIntOrPercent(ru.MaxSurge, desired, true)
		}
		if ru.MaxUnavailable != nil {
			unavailable, _ = intstrutil.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, desired, true)
		}
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable
}

// allowsSurge: a RollingUpdate with a non-zero maxSurge starts new pods beside old ones.
func allowsSurge(ds *appsv1.DaemonSet) bool {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil || ru.MaxSurge == nil {
		return false
	}
	n, err := intstrutil.GetScaledValueFromIntOrPercent(ru.MaxSurge, 1, true)
	return err == nil && n > 0
}

// nodePods splits the live pods of a node into the one running the current template and the
// one running an older one; ok is false when a node has two of either (manage prunes them).
func (v *view) nodePods(node string) (cur, old *corev1.Pod, ok bool) {
	for _, pod := range v.pods[node] {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if v.updated(pod) {
			if cur != nil {
				return nil, nil, false
			}
			cur = pod
		} else {
			if old != nil {
				return nil, nil, false
			}
			old = pod
		}
	}
	return cur, old, true
}

// rolloutNodes are the nodes a rolling update looks at: every node that should run the
// pod, and every node that still has one.
func (v *view) rolloutNodes() (nodes []string, desired int) {
	seen := map[string]bool{}
	for _, n := range v.nodes {
		if v.places[n.Name].run {
			desired++
			seen[n.Name] = true
		}
	}
	for name := range v.pods {
		seen[name] = true
	}
	return sortedKeys(seen), desired
}

// rollingUpdate plans one step of a RollingUpdate. Without surge it deletes old pods (to be
// replaced by manage) while at most maxUnavailable daemon pods are unavailable, unavailable
// old pods first and free of charge. With surge it creates new pods beside old ones on at
// most maxSurge nodes at a time, and deletes an old pod once its replacement is available.
func (v *view) rollingUpdate() plan {
	nodes, desired := v.rolloutNodes()
	surge, maxUnavailable := rollingBudget(v.ds, desired)
	if surge == 0 {
		return v.replaceInPlace(nodes, maxUnavailable)
	}
	return v.surge(nodes, surge)
}

func (v *view) replaceInPlace(nodes []string, maxUnavailable int) plan {
	var p plan
	var candidates []*corev1.Pod
	unavailable := 0
	for _, node := range nodes {
		cur, old, ok := v.nodePods(node)
		switch {
		case !ok, cur == nil && old == nil:
			unavailable++ // manage is creating or pruning here
		case old == nil:
			if !v.available(cur) {
				unavailable++
			}
		case cur == nil:
			if !v.available(old) {
				// Replacing an unavailable pod costs nothing.
				p.remove = append(p.remove, old)
				unavailable++
			} else {
				candidates = append(candidates, old)
			}
		default:
			unavailable++
		}
	}
	budget := min(max(maxUnavailable-unavailable, 0), len(candidates))
	p.remove = append(p.remove, candidates[:budget]...)
	return p
}

func (v *view) surge(nodes []string, maxSurge int) plan {
	var p plan
	var candidates []string
	surging := 0
	for _, node := range nodes {
		cur, old, ok := v.nodePods(node)
		switch {
		case !ok:
			surging++
		case old == nil:
			// Nothing to replace; manage creates a missing pod.
		case cur == nil:
			if !v.available(old) {
				// The old pod is down anyway: start its replacement now, free of charge.
				p.createOn = append(p.createOn, node)
			} else {
				candidates = append(candidates, node)
			}
		case v.available(cur):
			p.remove = append(p.remove, old)
		default:
			surging++
		}
	}
	budget := min(max(maxSurge-surging, 0), len(candidates))
	p.createOn = append(p.createOn, candidates[:budget]...)
	return p
}
