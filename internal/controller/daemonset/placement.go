package daemonset

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// daemonTolerations are added to every daemon pod so that node conditions which only keep
// ordinary pods away (not ready, unreachable, resource pressure, cordoned) do not evict or
// block it. The NoExecute ones carry no tolerationSeconds: a daemon pod stays for good.
var daemonTolerations = []corev1.Toleration{
	{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeDiskPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodePIDPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
}

// hostNetworkToleration is added to daemon pods on the host network, which do not need the
// pod network to be up.
var hostNetworkToleration = corev1.Toleration{
	Key: corev1.TaintNodeNetworkUnavailable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule,
}

// addDaemonTolerations adds the automatic daemon tolerations to spec. A toleration of the
// same key, operator, value and effect is replaced (dropping, e.g., its tolerationSeconds).
func addDaemonTolerations(spec *corev1.PodSpec) {
	add := daemonTolerations
	if spec.HostNetwork {
		add = append(append([]corev1.Toleration(nil), add...), hostNetworkToleration)
	}
	for _, t := range add {
		setToleration(spec, t)
	}
}

func setToleration(spec *corev1.PodSpec, t corev1.Toleration) {
	for i, have := range spec.Tolerations {
		if have.Key == t.Key && have.Operator == t.Operator && have.Value == t.Value && have.Effect == t.Effect {
			if !apiequality.Semantic.DeepEqual(have, t) {
				spec.Tolerations[i] = t
			}
			return
		}
	}
	spec.Tolerations = append(spec.Tolerations, t)
}

// placement says whether a DaemonSet's pod belongs on a node.
type placement struct {
	// run: a new daemon pod should be created on the node.
	run bool
	// keep: a daemon pod already on the node may stay (it tolerates the node's NoExecute
	// taints even if a NoSchedule taint keeps new pods away).
	keep bool
}

// placeOn decides whether ds's pod should run on node.
func placeOn(ds *appsv1.DaemonSet, node *corev1.Node) placement {
	spec := ds.Spec.Template.Spec.DeepCopy()
	if spec.NodeName != "" && spec.NodeName != node.Name {
		return placement{}
	}
	addDaemonTolerations(spec)
	if !matchesNodeSelector(spec, node) {
		return placement{}
	}
	scheduleOrExecute := func(t corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}
	if _, found := untoleratedTaint(node.Spec.Taints, spec.Tolerations, scheduleOrExecute); !found {
		return placement{run: true, keep: true}
	}
	execute := func(t corev1.Taint) bool { return t.Effect == corev1.TaintEffectNoExecute }
	_, evicting := untoleratedTaint(node.Spec.Taints, spec.Tolerations, execute)
	return placement{keep: !evicting}
}

// untoleratedTaint returns the first taint picked by filter that no toleration tolerates.
func untoleratedTaint(taints []corev1.Taint, tolerations []corev1.Toleration, filter func(corev1.Taint) bool) (corev1.Taint, bool) {
	for _, taint := range taints {
		if !filter(taint) {
			continue
		}
		tolerated := false
		for i := range tolerations {
			if tolerates(&tolerations[i], &taint) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return taint, true
		}
	}
	return corev1.Taint{}, false
}

// tolerates reports whether toleration t matches taint: an empty effect matches every
// effect, an empty key with Exists matches every key.
func tolerates(t *corev1.Toleration, taint *corev1.Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case "", corev1.TolerationOpEqual:
		return t.Value == taint.Value
	case corev1.TolerationOpExists:
		return true
	}
	return false
}

// matchesNodeSelector reports whether node satisfies the pod's nodeSelector and its required
// node affinity.
func matchesNodeSelector(spec *corev1.PodSpec, node *corev1.Node) bool {
	if len(spec.NodeSelector) > 0 && !labels.SelectorFromSet(spec.NodeSelector).Matches(labels.Set(node.Labels)) {
		return false
	}
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	return matchesNodeSelectorTerms(spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms, node)
}

// matchesNodeSelectorTerms: the terms are ORed; the requirements of one term are ANDed; an
// empty or invalid term matches nothing.
func matchesNodeSelectorTerms(terms []corev1.NodeSelectorTerm, node *corev1.Node) bool {
	for _, term := range terms {
		if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
			continue
		}
		exprs, ok := requirements(term.MatchExpressions, false)
		if !ok || !exprs.Matches(labels.Set(node.Labels)) {
			continue
		}
		fields, ok := requirements(term.MatchFields, true)
		if !ok || !fields.Matches(labels.Set{metav1.ObjectNameField: node.Name}) {
			continue
		}
		return true
	}
	return false
}

var nodeSelectorOps = map[corev1.NodeSelectorOperator]selection.Operator{
	corev1.NodeSelectorOpIn:           selection.In,
	corev1.NodeSelectorOpNotIn:        selection.NotIn,
	corev1.NodeSelectorOpExists:       selection.Exists,
	corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	corev1.NodeSelectorOpGt:           selection.GreaterThan,
	corev1.NodeSelectorOpLt:           selection.LessThan,
}

// requirements turns node selector requirements into a label selector. Fields support only
// metadata.name with In (one value) and NotIn.
func requirements(reqs []corev1.NodeSelectorRequirement, fields bool) (labels.Selector, bool) {
	sel := labels.NewSelector()
	for _, r := range reqs {
		op, ok := nodeSelectorOps[r.Operator]
		if !ok {
			return nil, false
		}
		if fields {
			if r.Key != metav1.ObjectNameField || (op != selection.In && op != selection.NotIn) || (op == selection.In && len(r.Values) != 1) {
				return nil, false
			}
		}
		req, err := labels.NewRequirement(r.Key, op, r.Values)
		if err != nil {
			return nil, false
		}
		sel = sel.Add(*req)
	}
	return sel, true
}

// pinToNode returns affinity with its required node affinity replaced by one term selecting
// nodeName by metadata.name, which is how a daemon pod asks the scheduler for its node. The
// rest of the affinity (preferred terms, pod affinity) is kept; the replaced terms already
// matched the node when placeOn chose it.
func pinToNode(affinity *corev1.Affinity, nodeName string) *corev1.Affinity {
	required := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchFields: []corev1.NodeSelectorRequirement{{
			Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{nodeName},
		}},
	}}}
	if affinity == nil {
		affinity = &corev1.Affinity{}
	}
	if affinity.NodeAffinity == nil {
		affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = required
	return affinity
}

// targetNode is the node a daemon pod belongs to: its spec.nodeName once bound, before that
// the node its required affinity pins it to ("" when neither says).
func targetNode(pod *corev1.Pod) string {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}
