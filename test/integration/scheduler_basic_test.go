package integration

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestIntegrationSchedulerBindsToTheNodeThatFits(t *testing.T) {
	s := start(t)
	c := s.Client
	schNode(t, c, schNodeSpec{name: "small", cpu: "1", memory: "1Gi"})
	schNode(t, c, schNodeSpec{name: "big", cpu: "8", memory: "16Gi"})

	schCreate(t, c, "default", schPod("needs-2-cpu", "2", "1Gi"))
	if node := schWaitBound(t, c, "default", "needs-2-cpu"); node != "big" {
		t.Errorf("needs-2-cpu on %s, want big", node)
	}
	ev := schWaitEvent(t, c, "default", "needs-2-cpu", "Scheduled", "Successfully assigned default/needs-2-cpu to big")
	t.Log(ev)
	p, err := c.CoreV1().Pods("default").Get(t.Context(), "needs-2-cpu", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var scheduled bool
	for _, cnd := range p.Status.Conditions {
		scheduled = scheduled || cnd.Type == corev1.PodScheduled && cnd.Status == corev1.ConditionTrue
	}
	if !scheduled {
		t.Errorf("conditions %+v, want PodScheduled=True", p.Status.Conditions)
	}
}

func TestIntegrationSchedulerUnschedulableMessageAndRetry(t *testing.T) {
	s := start(t)
	c := s.Client
	schNode(t, c, schNodeSpec{name: "n1", cpu: "1"})
	schNode(t, c, schNodeSpec{name: "n2", cpu: "8", taints: []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}})
	schNode(t, c, schNodeSpec{name: "n3", cpu: "8", unschedulable: true})

	schCreate(t, c, "default", schPod("huge", "4", ""))
	msg := schWaitUnschedulable(t, c, "default", "huge")
	want := "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
	wantNoPreemption := "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable."
	if msg != want && msg != wantNoPreemption {
		t.Errorf("condition message\n got %q\nwant %q", msg, want)
	}
	schWaitEvent(t, c, "default", "huge", "FailedScheduling", wantNoPreemption)

	// Uncordoning n3 is a node update that may make the pod fit: it is retried and bound.
	n3, err := c.CoreV1().Nodes().Get(t.Context(), "n3", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n3.Spec.Unschedulable = false
	if _, err := c.CoreV1().Nodes().Update(t.Context(), n3, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if node := schWaitBound(t, c, "default", "huge"); node != "n3" {
		t.Errorf("huge on %s, want n3", node)
	}
}

func TestIntegrationSchedulerSelectorsAndTaints(t *testing.T) {
	s := start(t)
	c := s.Client
	schNode(t, c, schNodeSpec{name: "ssd", labels: map[string]string{"disk": "ssd", "gen": "5"}})
	schNode(t, c, schNodeSpec{name: "hdd", labels: map[string]string{"disk": "hdd", "gen": "3"}})
	schNode(t, c, schNodeSpec{name: "tainted", labels: map[string]string{"disk": "ssd", "gen": "9"},
		taints: []corev1.Taint{{Key: "team", Value: "a", Effect: corev1.TaintEffectNoExecute}}})

	sel := schPod("selector", "", "")
	sel.Spec.NodeSelector = map[string]string{"disk": "hdd"}
	schCreate(t, c, "default", sel)

	aff := schPod("affinity", "", "")
	aff.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}},
				{Key: "gen", Operator: corev1.NodeSelectorOpGt, Values: []string{"4"}},
			},
		}}},
	}}
	schCreate(t, c, "default", aff)

	tol := schPod("tolerates", "", "")
	tol.Spec.NodeSelector = map[string]string{"gen": "9"}
	tol.Spec.Tolerations = []corev1.Toleration{{Key: "team", Operator: corev1.TolerationOpEqual, Value: "a", Effect: corev1.TaintEffectNoExecute}}
	schCreate(t, c, "default", tol)

	byName := schPod("by-field", "", "")
	byName.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"hdd"}}},
		}}},
	}}
	schCreate(t, c, "default", byName)

	for pod, want := range map[string]string{"selector": "hdd", "affinity": "ssd", "tolerates": "tainted", "by-field": "hdd"} {
		if got := schWaitBound(t, c, "default", pod); got != want {
			t.Errorf("%s on %s, want %s", pod, got, want)
		}
	}

	none := schPod("no-match", "", "")
	none.Spec.NodeSelector = map[string]string{"disk": "nvme"}
	schCreate(t, c, "default", none)
	msg := schWaitUnschedulable(t, c, "default", "no-match")
	// Filters stop at the first that fails, in upstream's order: the tainted node fails
	// TaintToleration before NodeAffinity.
	const reasons = "0/3 nodes are available: 1 node(s) had untolerated taint {team: a}, 2 node(s) didn't match Pod's node affinity/selector."
	if want := reasons + " preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."; msg != want && msg != reasons {
		t.Errorf("message %q, want %q", msg, want)
	}
}

func TestIntegrationSchedulerResourcesAccumulate(t *testing.T) {
	s := start(t)
	c := s.Client
	schNode(t, c, schNodeSpec{name: "only", cpu: "2", memory: "4Gi", pods: "3",
		extra: corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}})
	for _, name := range []string{"a", "b"} {
		schCreate(t, c, "default", schPod(name, "900m", "1Gi"))
		schWaitBound(t, c, "default", name)
	}
	// 1.8 of 2 cpu are taken: a third 900m pod does not fit.
	schCreate(t, c, "default", schPod("c", "900m", "1Gi"))
	msg := schWaitUnschedulable(t, c, "default", "c")
	if want := "0/1 nodes are available: 1 Insufficient cpu."; len(msg) < len(want) || msg[:len(want)] != want {
		t.Errorf("message %q, want prefix %q", msg, want)
	}
	gpu := schPod("gpu", "100m", "")
	gpu.Spec.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("1")
	gpu.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}
	schCreate(t, c, "default", gpu)
	schWaitBound(t, c, "default", "gpu")
	// The node allows 3 pods: a, b and gpu. A fourth pod is "Too many pods".
	gpu2 := schPod("gpu2", "", "")
	gpu2.Spec.Containers[0].Resources.Requests = corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}
	gpu2.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}
	schCreate(t, c, "default", gpu2)
	msg = schWaitUnschedulable(t, c, "default", "gpu2")
	if want := "0/1 nodes are available: 1 Insufficient example.com/gpu, 1 Too many pods."; len(msg) < len(want) || msg[:len(want)] != want {
		t.Errorf("message %q, want prefix %q", msg, want)
	}

	// Deleting a frees room: c is retried on the pod delete event and bound.
	if err := c.CoreV1().Pods("default").Delete(t.Context(), "a", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	schWaitBound(t, c, "default", "c")
}

func TestIntegrationSchedulerHostPorts(t *testing.T) {
	s := start(t)
	c := s.Client
	schNode(t, c, schNodeSpec{name: "n1"})
	schNode(t, c, schNodeSpec{name: "n2"})
	port := func(name string) *corev1.Pod {
		p := schPod(name, "", "")
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP}}
		return p
	}
	nodes := map[string]bool{}
	for _, name := range []string{"web-1", "web-2"} {
		schCreate(t, c, "default", port(name))
		nodes[schWaitBound(t, c, "default", name)] = true
	}
	if len(nodes) != 2 {
		t.Errorf("two pods with host port 8080 on %v, want different nodes", nodes)
	}
	schCreate(t, c, "default", port("web-3"))
	msg := schWaitUnschedulable(t, c, "default", "web-3")
	if want := "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports."; len(msg) < len(want) || msg[:len(want)] != want {
		t.Errorf("message %q, want prefix %q", msg, want)
	}
	// A different protocol on the same port does not conflict.
	udp := schPod("dns", "", "")
	udp.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 53, HostPort: 8080, Protocol: corev1.ProtocolUDP}}
	schCreate(t, c, "default", udp)
	schWaitBound(t, c, "default", "dns")
}

func TestIntegrationSchedulerWaitsForANode(t *testing.T) {
	s := start(t)
	c := s.Client
	schCreate(t, c, "default", schPod("early", "", ""))
	if msg := schWaitUnschedulable(t, c, "default", "early"); msg != "no nodes available to schedule pods" {
		t.Errorf("message %q", msg)
	}
	schNode(t, c, schNodeSpec{name: "late"})
	if node := schWaitBound(t, c, "default", "early"); node != "late" {
		t.Errorf("early on %s", node)
	}
}

func TestIntegrationSchedulerFinishedPodsFreeTheirRoom(t *testing.T) {
	s := start(t)
	c := s.Client
	schNode(t, c, schNodeSpec{name: "n1", cpu: "1"})
	schCreate(t, c, "default", schPod("job", "1", ""))
	schWaitBound(t, c, "default", "job")
	schCreate(t, c, "default", schPod("next", "1", ""))
	schWaitUnschedulable(t, c, "default", "next")

	// The pod succeeds (as its kubelet would report): its cpu is free again.
	p, err := c.CoreV1().Pods("default").Get(t.Context(), "job", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodSucceeded
	if _, err := c.CoreV1().Pods("default").UpdateStatus(t.Context(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	schWaitBound(t, c, "default", "next")
}
