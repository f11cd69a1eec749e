package daemonset

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func newDS(mutate ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "agent", UID: "ds-uid", Generation: 1,
			Annotations: map[string]string{appsv1.DeprecatedTemplateGeneration: "1"}},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "agent:1"}}},
			},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptrIntStr(1), MaxSurge: ptrIntStr(0)},
			},
		},
	}
	for _, m := range mutate {
		m(ds)
	}
	return ds
}

func newNode(name string, mutate ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func taint(key string, effect corev1.TaintEffect) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Value: "x", Effect: effect})
	}
}

func nodeLabel(k, v string) func(*corev1.Node) { return func(n *corev1.Node) { n.Labels[k] = v } }

func TestPlaceOn(t *testing.T) {
	t.Parallel()
	requireZone := func(ds *appsv1.DaemonSet) {
		ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}}},
				{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"special"}}}},
			}},
		}}
	}
	tolerate := func(key string, effect corev1.TaintEffect) func(*appsv1.DaemonSet) {
		return func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Tolerations = append(ds.Spec.Template.Spec.Tolerations,
				corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect})
		}
	}
	for _, tc := range []struct {
		name string
		ds   *appsv1.DaemonSet
		node *corev1.Node
		want placement
	}{
		{"a plain node runs the pod", newDS(), newNode("n1"), placement{run: true, keep: true}},
		{"a node missing the nodeSelector's label does not", newDS(func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
		}), newNode("n1"), placement{}},
		{"a node with the nodeSelector's label does", newDS(func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
		}), newNode("n1", nodeLabel("disk", "ssd")), placement{run: true, keep: true}},
		{"required affinity: a matching expression term", newDS(requireZone), newNode("n1", nodeLabel("zone", "b")), placement{run: true, keep: true}},
		{"required affinity: a matching field term", newDS(requireZone), newNode("special"), placement{run: true, keep: true}},
		{"required affinity: no term matches", newDS(requireZone), newNode("n1", nodeLabel("zone", "c")), placement{}},
		{"a template nodeName elsewhere rules the node out", newDS(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeName = "n2" }), newNode("n1"), placement{}},
		{"an untolerated NoSchedule taint keeps new pods off but lets old ones stay",
			newDS(), newNode("n1", taint("dedicated", corev1.TaintEffectNoSchedule)), placement{keep: true}},
		{"an untolerated NoExecute taint evicts", newDS(), newNode("n1", taint("dedicated", corev1.TaintEffectNoExecute)), placement{}},
		{"a PreferNoSchedule taint does not matter", newDS(), newNode("n1", taint("dedicated", corev1.TaintEffectPreferNoSchedule)), placement{run: true, keep: true}},
		{"a tolerated taint does not matter", newDS(tolerate("dedicated", "")), newNode("n1", taint("dedicated", corev1.TaintEffectNoExecute)), placement{run: true, keep: true}},
		{"daemon pods tolerate an unschedulable node", newDS(), newNode("n1", taint(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)), placement{run: true, keep: true}},
		{"daemon pods tolerate a not-ready node", newDS(), newNode("n1", taint(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute)), placement{run: true, keep: true}},
		{"daemon pods tolerate an unreachable node", newDS(), newNode("n1", taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)), placement{run: true, keep: true}},
		{"daemon pods tolerate memory pressure", newDS(), newNode("n1", taint(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule)), placement{run: true, keep: true}},
		{"but not a missing network, off the host network", newDS(), newNode("n1", taint(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)), placement{keep: true}},
		{"on the host network they tolerate it", newDS(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.HostNetwork = true }),
			newNode("n1", taint(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)), placement{run: true, keep: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := placeOn(tc.ds, tc.node); got != tc.want {
				t.Errorf("placeOn = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestAddDaemonTolerationsReplacesSameTolerationWithoutSeconds(t *testing.T) {
	t.Parallel()
	spec := &corev1.PodSpec{Tolerations: []corev1.Toleration{
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
		{Key: "mine", Operator: corev1.TolerationOpExists},
	}}
	addDaemonTolerations(spec)
	if len(spec.Tolerations) != 7 {
		t.Fatalf("tolerations %+v, want the user's, plus the six daemon ones", spec.Tolerations)
	}
	if spec.Tolerations[0].TolerationSeconds != nil {
		t.Error("the not-ready toleration kept its tolerationSeconds")
	}
	addDaemonTolerations(spec)
	if len(spec.Tolerations) != 7 {
		t.Errorf("adding twice duplicated tolerations: %d", len(spec.Tolerations))
	}
}

func TestPinToNodeAndTargetNode(t *testing.T) {
	t.Parallel()
	aff := &corev1.Affinity{
		NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution:  &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpExists}}}}},
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 1}},
		},
		PodAntiAffinity: &corev1.PodAntiAffinity{},
	}
	got := pinToNode(aff, "n7")
	req := got.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	if len(req.NodeSelectorTerms) != 1 || len(req.NodeSelectorTerms[0].MatchExpressions) != 0 || req.NodeSelectorTerms[0].MatchFields[0].Values[0] != "n7" {
		t.Errorf("required terms %+v, want only metadata.name In [n7]", req.NodeSelectorTerms)
	}
	if len(got.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 || got.PodAntiAffinity == nil {
		t.Error("pinToNode dropped the rest of the affinity")
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Affinity: pinToNode(nil, "n3")}}
	if targetNode(pod) != "n3" {
		t.Errorf("target of an unbound pinned pod = %q", targetNode(pod))
	}
	pod.Spec.NodeName = "n4"
	if targetNode(pod) != "n4" {
		t.Errorf("target of a bound pod = %q", targetNode(pod))
	}
	if targetNode(&corev1.Pod{}) != "" {
		t.Error("a pod pinned nowhere has a target")
	}
}
