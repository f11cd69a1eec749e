package podgc

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/controller/pods"
)

// outOfServiceTaint marks a node an operator declared shut down for good.
const outOfServiceTaint = "node.kubernetes.io/out-of-service"

// excessTerminated returns the terminated pods beyond threshold, the ones to delete
// first: evicted pods, then the oldest. A threshold of 0 or less keeps everything.
func excessTerminated(all []*corev1.Pod, threshold int) []*corev1.Pod {
	if threshold <= 0 {
		return nil
	}
	var done []*corev1.Pod
	for _, p := range all {
		if pods.IsTerminal(p) {
			done = append(done, p)
		}
	}
	n := len(done) - threshold
	if n <= 0 {
		return nil
	}
	slices.SortStableFunc(done, func(a, b *corev1.Pod) int {
		if ea, eb := a.Status.Reason == "Evicted", b.Status.Reason == "Evicted"; ea != eb {
			if ea {
				return -1
			}
			return 1
		}
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return compareKeys(a, b)
	})
	return done[:n]
}

func compareKeys(a, b *corev1.Pod) int {
	if a.Namespace != b.Namespace {
		if a.Namespace < b.Namespace {
			return -1
		}
		return 1
	}
	switch {
	case a.Name < b.Name:
		return -1
	case a.Name > b.Name:
		return 1
	}
	return 0
}

// missingNodes returns the nodes pods are bound to that are not among known.
func missingNodes(pods []*corev1.Pod, known map[string]bool) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range pods {
		n := p.Spec.NodeName
		if n != "" && !known[n] && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// onNodes returns the pods bound to one of nodes.
func onNodes(pods []*corev1.Pod, nodes map[string]bool) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.Spec.NodeName != "" && nodes[p.Spec.NodeName] {
			out = append(out, p)
		}
	}
	return out
}

// unscheduledTerminating returns the pods being deleted that were never bound to a node:
// no kubelet will ever finish them.
func unscheduledTerminating(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp != nil && p.Spec.NodeName == "" {
			out = append(out, p)
		}
	}
	return out
}

// terminatingOutOfService returns the pods being deleted on nodes that are not ready and
// carry the out-of-service taint: their kubelet is gone for good.
func terminatingOutOfService(pods []*corev1.Pod, nodes map[string]*corev1.Node) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil || p.Spec.NodeName == "" {
			continue
		}
		n := nodes[p.Spec.NodeName]
		if n != nil && !nodeReady(n) && hasOutOfServiceTaint(n) {
			out = append(out, p)
		}
	}
	return out
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasOutOfServiceTaint(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == outOfServiceTaint && t.Effect == corev1.TaintEffectNoExecute {
			return true
		}
	}
	return false
}
