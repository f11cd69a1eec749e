package nodeaffinity

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func req(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func required(terms ...corev1.NodeSelectorTerm) *corev1.Affinity {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
}

func TestFilter(t *testing.T) {
	nodes := []*corev1.Node{
		fwt.MakeNode("a").Label("zone", "z1").Label("gen", "3").Obj(),
		fwt.MakeNode("b").Label("zone", "z2").Label("gen", "5").Label("gpu", "yes").Obj(),
		fwt.MakeNode("c").Obj(),
	}
	term := func(reqs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: reqs}
	}
	for _, tc := range []struct {
		name     string
		selector map[string]string
		affinity *corev1.Affinity
		want     []string
	}{
		{"no constraint fits all", nil, nil, []string{"a", "b", "c"}},
		{"nodeSelector matches labels exactly", map[string]string{"zone": "z1"}, nil, []string{"a"}},
		{"In", nil, required(term(req("zone", corev1.NodeSelectorOpIn, "z1", "z2"))), []string{"a", "b"}},
		{"NotIn includes nodes without the label", nil, required(term(req("zone", corev1.NodeSelectorOpNotIn, "z1"))), []string{"b", "c"}},
		{"Exists", nil, required(term(req("gpu", corev1.NodeSelectorOpExists))), []string{"b"}},
		{"DoesNotExist", nil, required(term(req("gpu", corev1.NodeSelectorOpDoesNotExist))), []string{"a", "c"}},
		{"Gt compares integers", nil, required(term(req("gen", corev1.NodeSelectorOpGt, "4"))), []string{"b"}},
		{"Lt compares integers", nil, required(term(req("gen", corev1.NodeSelectorOpLt, "4"))), []string{"a"}},
		{"requirements of a term are ANDed", nil, required(term(req("zone", corev1.NodeSelectorOpIn, "z1", "z2"), req("gpu", corev1.NodeSelectorOpExists))), []string{"b"}},
		{"terms are ORed", nil, required(term(req("zone", corev1.NodeSelectorOpIn, "z1")), term(req("gpu", corev1.NodeSelectorOpExists))), []string{"a", "b"}},
		{"an empty term matches nothing", nil, required(corev1.NodeSelectorTerm{}), nil},
		{"matchFields on metadata.name", nil, required(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{req("metadata.name", corev1.NodeSelectorOpIn, "c")}}), []string{"c"}},
		{"nodeSelector and affinity must both match", map[string]string{"zone": "z2"}, required(term(req("gen", corev1.NodeSelectorOpLt, "4"))), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := fwt.MakePod("p").NodeSelector(tc.selector).Obj()
			pod.Spec.Affinity = tc.affinity
			pl, _ := New(nil, nil)
			got := fwt.PreFilterAndFilter(t, pl, pod, framework.NewSnapshot(nil, nodes))
			want := map[string]bool{}
			for _, n := range tc.want {
				want[n] = true
			}
			for _, n := range nodes {
				if got[n.Name].IsSuccess() != want[n.Name] {
					t.Errorf("node %s: %v, want fit=%v", n.Name, got[n.Name], want[n.Name])
				}
				if !want[n.Name] && got[n.Name].Message() != ErrReasonPod {
					t.Errorf("node %s: reason %q", n.Name, got[n.Name].Message())
				}
			}
		})
	}
}

func TestPreFilterNarrowsByName(t *testing.T) {
	pod := fwt.MakePod("p").Obj()
	pod.Spec.Affinity = required(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{req("metadata.name", corev1.NodeSelectorOpIn, "x")}},
		corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{req("metadata.name", corev1.NodeSelectorOpIn, "y")}})
	pl, _ := New(nil, nil)
	res, s := pl.(*NodeAffinity).PreFilter(t.Context(), framework.NewCycleState(), pod, framework.NewSnapshot(nil, nil))
	if !s.IsSuccess() || res == nil || !res.NodeNames.Has("x") || !res.NodeNames.Has("y") || res.NodeNames.Len() != 2 {
		t.Errorf("PreFilter = %v, %v; want nodes x and y", res, s)
	}
}

func TestAddedAffinity(t *testing.T) {
	args := &config.NodeAffinityArgs{AddedAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{req("pool", corev1.NodeSelectorOpIn, "batch")}}}}}}
	pl, _ := New(args, nil)
	nodes := []*corev1.Node{fwt.MakeNode("batch").Label("pool", "batch").Obj(), fwt.MakeNode("web").Label("pool", "web").Obj()}
	got := fwt.PreFilterAndFilter(t, pl, fwt.MakePod("p").Obj(), framework.NewSnapshot(nil, nodes))
	if !got["batch"].IsSuccess() || got["web"].Message() != ErrReasonEnforced {
		t.Errorf("got %v", got)
	}
}

func TestScore(t *testing.T) {
	nodes := []*corev1.Node{
		fwt.MakeNode("a").Label("zone", "z1").Obj(),
		fwt.MakeNode("b").Label("zone", "z1").Label("ssd", "true").Obj(),
		fwt.MakeNode("c").Obj(),
	}
	pod := fwt.MakePod("p").Obj()
	pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
		{Weight: 10, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req("zone", corev1.NodeSelectorOpIn, "z1")}}},
		{Weight: 30, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req("ssd", corev1.NodeSelectorOpExists)}}},
	}}}
	pl, _ := New(nil, nil)
	got := fwt.Scores(t, pl, pod, framework.NewSnapshot(nil, nodes))
	if got["a"] != 25 || got["b"] != 100 || got["c"] != 0 {
		t.Errorf("scores %v, want a 25 (10 of 40), b 100, c 0", got)
	}
	if s := fwt.Scores(t, pl, fwt.MakePod("plain").Obj(), framework.NewSnapshot(nil, nodes)); s != nil {
		t.Errorf("a pod without preferences is scored: %v", s)
	}
}
