package interpodaffinity

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

const zone = corev1.LabelTopologyZone
const host = corev1.LabelHostname

func zonedNodes() []*corev1.Node {
	return []*corev1.Node{
		fwt.MakeNode("a1").Label(zone, "a").Obj(),
		fwt.MakeNode("a2").Label(zone, "a").Obj(),
		fwt.MakeNode("b1").Label(zone, "b").Obj(),
		fwt.MakeNode("nozone").Obj(),
	}
}

func TestFilter(t *testing.T) {
	nodes := zonedNodes()
	for _, tc := range []struct {
		name     string
		existing []*corev1.Pod
		pod      *corev1.Pod
		want     map[string]string // node -> reason ("" fits)
	}{
		{
			name:     "affinity: only the zone running a matching pod",
			existing: []*corev1.Pod{fwt.MakePod("db").Label("app", "db").Node("b1").Obj()},
			pod:      fwt.MakePod("p").PodAffinity(zone, "db", 0, false).Obj(),
			want:     map[string]string{"a1": ErrReasonAffinityRulesNotMatch, "a2": ErrReasonAffinityRulesNotMatch, "b1": "", "nozone": ErrReasonAffinityRulesNotMatch},
		},
		{
			name: "affinity: the first pod of a self-affine group goes anywhere with the key",
			pod:  fwt.MakePod("p").Label("app", "web").PodAffinity(zone, "web", 0, false).Obj(),
			want: map[string]string{"a1": "", "a2": "", "b1": "", "nozone": ErrReasonAffinityRulesNotMatch},
		},
		{
			name:     "affinity: a pod in another namespace does not count",
			existing: []*corev1.Pod{fwt.MakePod("db").Namespace("other").Label("app", "db").Node("b1").Obj()},
			pod:      fwt.MakePod("p").PodAffinity(zone, "db", 0, false).Obj(),
			want:     map[string]string{"a1": ErrReasonAffinityRulesNotMatch, "b1": ErrReasonAffinityRulesNotMatch},
		},
		{
			name:     "anti-affinity: not in the zone running a matching pod",
			existing: []*corev1.Pod{fwt.MakePod("db").Label("app", "db").Node("a2").Obj()},
			pod:      fwt.MakePod("p").PodAffinity(zone, "db", 0, true).Obj(),
			want:     map[string]string{"a1": ErrReasonAntiAffinityRulesNotMatch, "a2": ErrReasonAntiAffinityRulesNotMatch, "b1": "", "nozone": ""},
		},
		{
			name:     "existing anti-affinity: a pod repelling the incoming pod keeps it off its host",
			existing: []*corev1.Pod{fwt.MakePod("loner").PodAffinity(host, "crowd", 0, true).Node("a1").Obj()},
			pod:      fwt.MakePod("p").Label("app", "crowd").Obj(),
			want:     map[string]string{"a1": ErrReasonExistingAntiAffinityRulesNotMatch, "a2": "", "b1": ""},
		},
		{
			name:     "existing anti-affinity ignores pods it does not select",
			existing: []*corev1.Pod{fwt.MakePod("loner").PodAffinity(host, "crowd", 0, true).Node("a1").Obj()},
			pod:      fwt.MakePod("p").Label("app", "other").Obj(),
			want:     map[string]string{"a1": "", "a2": ""},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl, _ := New(nil, fwt.NewHandle())
			got := fwt.PreFilterAndFilter(t, pl, tc.pod, framework.NewSnapshot(tc.existing, nodes))
			for n, reason := range tc.want {
				if got[n].Message() != reason {
					t.Errorf("node %s: %v, want %q", n, got[n], reason)
				}
			}
		})
	}
}

func TestFilterNamespaceSelector(t *testing.T) {
	nodes := zonedNodes()
	existing := []*corev1.Pod{fwt.MakePod("db").Namespace("prod").Label("app", "db").Node("b1").Obj()}
	pod := fwt.MakePod("p").PodAffinity(zone, "db", 0, false).Obj()
	pod.Spec.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	h := fwt.NewHandle(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod", Labels: map[string]string{"env": "prod"}}})
	pl, _ := New(nil, h)
	got := fwt.PreFilterAndFilter(t, pl, pod, framework.NewSnapshot(existing, nodes))
	if !got["b1"].IsSuccess() || got["a1"].IsSuccess() {
		t.Errorf("got %v, want only b1", got)
	}
}

func TestAddRemovePod(t *testing.T) {
	nodes := zonedNodes()
	snap := framework.NewSnapshot(nil, nodes)
	pod := fwt.MakePod("p").PodAffinity(zone, "db", 0, true).Obj()
	pl, _ := New(nil, fwt.NewHandle())
	p := pl.(*InterPodAffinity)
	state := framework.NewCycleState()
	if _, s := p.PreFilter(t.Context(), state, pod, snap); !s.IsSuccess() {
		t.Fatal(s)
	}
	db := framework.NewPodInfo(fwt.MakePod("db").Label("app", "db").Node("a1").Obj())
	a1, a2 := snap.Get("a1"), snap.Get("a2")
	p.AddPod(t.Context(), state, pod, db, a1)
	if s := p.Filter(t.Context(), state, pod, a2); s.IsSuccess() {
		t.Error("after adding a matching pod in zone a, a2 still fits")
	}
	p.RemovePod(t.Context(), state, pod, db, a1)
	if s := p.Filter(t.Context(), state, pod, a2); !s.IsSuccess() {
		t.Errorf("after removing it again: %v", s)
	}
}

func TestScore(t *testing.T) {
	nodes := zonedNodes()
	existing := []*corev1.Pod{
		fwt.MakePod("db").Label("app", "db").Node("a1").Obj(),
		fwt.MakePod("cache").Label("app", "cache").Node("b1").Obj(),
	}
	// Prefers db's zone (weight 8), avoids cache's zone (weight 2).
	pod := fwt.MakePod("p").PodAffinity(zone, "db", 8, false).PodAffinity(zone, "cache", 2, true).Obj()
	pl, _ := New(nil, fwt.NewHandle())
	got := fwt.Scores(t, pl, pod, framework.NewSnapshot(existing, nodes))
	// Raw: zone a +8, zone b -2, nozone 0 -> normalized over [-2, 8].
	if got["a1"] != 100 || got["a2"] != 100 || got["b1"] != 0 || got["nozone"] != 20 {
		t.Errorf("scores %v", got)
	}
}

func TestScoreExistingPodsTerms(t *testing.T) {
	nodes := zonedNodes()
	// An existing pod with required affinity to app=web attracts web pods to its zone
	// (hardPodAffinityWeight 1); one with a preferred anti-affinity repels them.
	existing := []*corev1.Pod{
		fwt.MakePod("fan").PodAffinity(zone, "web", 0, false).Node("a1").Obj(),
		fwt.MakePod("hater").PodAffinity(zone, "web", 5, true).Node("b1").Obj(),
	}
	pl, _ := New(nil, fwt.NewHandle())
	got := fwt.Scores(t, pl, fwt.MakePod("web").Label("app", "web").Obj(), framework.NewSnapshot(existing, nodes))
	if !(got["a1"] > got["nozone"] && got["nozone"] > got["b1"]) {
		t.Errorf("scores %v, want zone a > no zone > zone b", got)
	}
}
