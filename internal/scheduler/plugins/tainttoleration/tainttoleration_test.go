package tainttoleration

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		taints  []corev1.Taint
		tol     []corev1.Toleration
		wantErr string
	}{
		{"an untainted node fits", nil, nil, ""},
		{"a NoSchedule taint rejects", []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}, nil, "node(s) had untolerated taint {k: v}"},
		{"a NoExecute taint rejects", []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoExecute}}, nil, "node(s) had untolerated taint {k: }"},
		{"a PreferNoSchedule taint does not", []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectPreferNoSchedule}}, nil, ""},
		{"Equal with the same value tolerates", []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}},
			[]corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpEqual, Value: "v", Effect: corev1.TaintEffectNoSchedule}}, ""},
		{"Equal with another value does not", []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}},
			[]corev1.Toleration{{Key: "k", Value: "w"}}, "node(s) had untolerated taint {k: v}"},
		{"Exists without effect tolerates every effect", []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoExecute}},
			[]corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}, ""},
		{"a toleration for another effect does not", []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoExecute}},
			[]corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}, "node(s) had untolerated taint {k: }"},
		{"the first untolerated taint is reported", []corev1.Taint{{Key: "a", Effect: corev1.TaintEffectNoSchedule}, {Key: "b", Value: "1", Effect: corev1.TaintEffectNoSchedule}},
			[]corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists}}, "node(s) had untolerated taint {b: 1}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := fwt.MakeNode("n").Obj()
			n.Spec.Taints = tc.taints
			pod := fwt.MakePod("p").Obj()
			pod.Spec.Tolerations = tc.tol
			pl, _ := New(nil, nil)
			got := fwt.PreFilterAndFilter(t, pl, pod, framework.NewSnapshot(nil, []*corev1.Node{n}))["n"]
			if got.Message() != tc.wantErr {
				t.Errorf("got %v, want %q", got, tc.wantErr)
			}
			if tc.wantErr != "" && got.Code() != framework.UnschedulableAndUnresolvable {
				t.Errorf("code %v", got.Code())
			}
		})
	}
}

func TestScore(t *testing.T) {
	nodes := []*corev1.Node{
		fwt.MakeNode("clean").Obj(),
		fwt.MakeNode("one").Taint("a", "", corev1.TaintEffectPreferNoSchedule).Obj(),
		fwt.MakeNode("two").Taint("a", "", corev1.TaintEffectPreferNoSchedule).Taint("b", "", corev1.TaintEffectPreferNoSchedule).Obj(),
	}
	pl, _ := New(nil, nil)
	got := fwt.Scores(t, pl, fwt.MakePod("p").Obj(), framework.NewSnapshot(nil, nodes))
	if got["clean"] != 100 || got["one"] != 50 || got["two"] != 0 {
		t.Errorf("scores %v, want clean 100, one 50, two 0", got)
	}
	tolerant := fwt.MakePod("t").Toleration(corev1.Toleration{Key: "a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectPreferNoSchedule}).Obj()
	got = fwt.Scores(t, pl, tolerant, framework.NewSnapshot(nil, nodes))
	if got["clean"] != 100 || got["one"] != 100 || got["two"] != 0 {
		t.Errorf("tolerating a: scores %v, want clean 100, one 100, two 0", got)
	}
}
