package nodelifecycle

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// evictionDecision says what to do with a pod on a node with NoExecute taints.
type evictionDecision struct {
	// Evict is false when the pod tolerates every taint forever (or there are none).
	Evict bool
	// At is when to evict; at or before now means at once.
	At time.Time
}

// decideEviction applies the taint-based eviction rules: a pod that does not tolerate a
// NoExecute taint goes at once; otherwise each taint allows the pod to stay for the
// tolerationSeconds of the first toleration matching it (no seconds: forever), counted
// from when the taint was added (seen, when it carries no time). The earliest deadline
// wins.
func decideEviction(tolerations []corev1.Toleration, taints []corev1.Taint, seen time.Time) evictionDecision {
	var d evictionDecision
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		tol := firstToleration(tolerations, t)
		if tol == nil {
			return evictionDecision{Evict: true, At: seen}
		}
		if tol.TolerationSeconds == nil {
			continue
		}
		start := seen
		if t.TimeAdded != nil {
			start = t.TimeAdded.Time
		}
		at := start.Add(time.Duration(max(*tol.TolerationSeconds, 0)) * time.Second)
		if !d.Evict || at.Before(d.At) {
			d = evictionDecision{Evict: true, At: at}
		}
	}
	return d
}

func firstToleration(tolerations []corev1.Toleration, t *corev1.Taint) *corev1.Toleration {
	for i := range tolerations {
		if tolerations[i].ToleratesTaint(klog.Background(), t, false) {
			return &tolerations[i]
		}
	}
	return nil
}

// noExecuteTaints are the node's NoExecute taints.
func noExecuteTaints(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}
