package integration

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestIntegrationSchedulerPodAffinityAndAntiAffinity(t *testing.T) {
	s := start(t)
	c := s.Client
	for i, zone := range []string{"a", "a", "b", "b"} {
		schNode(t, c, schNodeSpec{name: fmt.Sprintf("n%d", i), labels: map[string]string{corev1.LabelTopologyZone: zone}})
	}
	sel := func(app string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
	}

	// db is pinned to n2 (zone b); web must share db's zone; cache must avoid web's zone.
	db := schPod("db", "", "")
	db.Spec.NodeSelector = map[string]string{corev1.LabelHostname: "n2"}
	schCreate(t, c, "default", db)
	schWaitBound(t, c, "default", "db")

	web := schPod("web", "", "")
	web.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{LabelSelector: sel("db"), TopologyKey: corev1.LabelTopologyZone}},
	}}
	schCreate(t, c, "default", web)
	if node := schWaitBound(t, c, "default", "web"); node != "n2" && node != "n3" {
		t.Errorf("web on %s, want zone b (n2 or n3)", node)
	}

	cache := schPod("cache", "", "")
	cache.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{LabelSelector: sel("web"), TopologyKey: corev1.LabelTopologyZone}},
	}}
	schCreate(t, c, "default", cache)
	if node := schWaitBound(t, c, "default", "cache"); node != "n0" && node != "n1" {
		t.Errorf("cache on %s, want zone a (n0 or n1)", node)
	}

	// Existing pods' anti-affinity: "loner" repels app=crowd from its node; two crowd pods
	// pinned to loner's node cannot go there.
	loner := schPod("loner", "", "")
	loner.Spec.NodeSelector = map[string]string{corev1.LabelHostname: "n1"}
	loner.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{LabelSelector: sel("crowd"), TopologyKey: corev1.LabelHostname}},
	}}
	schCreate(t, c, "default", loner)
	schWaitBound(t, c, "default", "loner")
	crowd := schPod("crowd", "", "")
	crowd.Spec.NodeSelector = map[string]string{corev1.LabelHostname: "n1"}
	schCreate(t, c, "default", crowd)
	msg := schWaitUnschedulable(t, c, "default", "crowd")
	if want := "0/4 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules, 3 node(s) didn't match Pod's node affinity/selector."; len(msg) < len(want) || msg[:len(want)] != want {
		t.Errorf("crowd: message %q, want prefix %q", msg, want)
	}

	// Self anti-affinity per host spreads a group one per node; the fifth has nowhere to go.
	for i := range 5 {
		p := schPod(fmt.Sprintf("spread-%d", i), "", "")
		p.Labels["app"] = "one-per-node"
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{LabelSelector: sel("one-per-node"), TopologyKey: corev1.LabelHostname}},
		}}
		schCreate(t, c, "default", p)
	}
	nodes := map[string]bool{}
	pending := 0
	schPoll(t, 20e9, "4 spread pods bound, 1 unschedulable", func() error {
		nodes, pending = map[string]bool{}, 0
		for i := range 5 {
			p, err := c.CoreV1().Pods("default").Get(t.Context(), fmt.Sprintf("spread-%d", i), metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.Spec.NodeName != "" {
				nodes[p.Spec.NodeName] = true
				continue
			}
			for _, cnd := range p.Status.Conditions {
				if cnd.Type == corev1.PodScheduled && cnd.Reason == corev1.PodReasonUnschedulable {
					pending++
				}
			}
		}
		if len(nodes) != 4 || pending != 1 {
			return fmt.Errorf("on %d distinct nodes, %d unschedulable", len(nodes), pending)
		}
		return nil
	})
}

func TestIntegrationSchedulerTopologySpread(t *testing.T) {
	s := start(t)
	c := s.Client
	for i, zone := range []string{"a", "a", "b", "c"} {
		schNode(t, c, schNodeSpec{name: fmt.Sprintf("n%d", i), labels: map[string]string{corev1.LabelTopologyZone: zone}})
	}
	// Six pods with maxSkew 1 across zones a, b, c land two per zone.
	for i := range 6 {
		p := schPod(fmt.Sprintf("s-%d", i), "", "")
		p.Labels["app"] = "spread"
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}},
		}}
		schCreate(t, c, "default", p)
		schWaitBound(t, c, "default", p.Name)
	}
	perZone := map[string]int{}
	zoneOf := map[string]string{"n0": "a", "n1": "a", "n2": "b", "n3": "c"}
	list, err := c.CoreV1().Pods("default").List(t.Context(), metav1.ListOptions{LabelSelector: "app=spread"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		perZone[zoneOf[p.Spec.NodeName]]++
	}
	if perZone["a"] != 2 || perZone["b"] != 2 || perZone["c"] != 2 {
		t.Errorf("pods per zone %v, want 2 each", perZone)
	}

	// A seventh pod restricted to zone a would make a's count 3 against a minimum of 2:
	// skew 1 is fine. With minDomains 4 (only 3 zones), the minimum counts as 0 and skew 3
	// exceeds 1.
	p := schPod("min-domains", "", "")
	p.Labels["app"] = "spread"
	four := int32(4)
	p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule, MinDomains: &four,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}},
	}}
	schCreate(t, c, "default", p)
	msg := schWaitUnschedulable(t, c, "default", "min-domains")
	if want := "0/4 nodes are available: 4 node(s) didn't match pod topology spread constraints."; len(msg) < len(want) || msg[:len(want)] != want {
		t.Errorf("message %q, want prefix %q", msg, want)
	}

	// nodeAffinityPolicy Honor (the default): with a selector for zones a and b only, zone c
	// is not a domain, so a and b holding 2 each allows one more in either.
	h := schPod("honor", "", "")
	h.Labels["app"] = "spread"
	h.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
			Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}}}},
	}}}
	h.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}},
	}}
	schCreate(t, c, "default", h)
	if node := schWaitBound(t, c, "default", "honor"); zoneOf[node] == "c" {
		t.Errorf("honor on %s (zone c)", node)
	}
}
