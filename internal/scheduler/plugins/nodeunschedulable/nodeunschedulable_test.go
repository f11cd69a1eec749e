package nodeunschedulable

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func TestFilter(t *testing.T) {
	cordoned := fwt.MakeNode("cordoned").Unschedulable().Obj()
	open := fwt.MakeNode("open").Obj()
	for _, tc := range []struct {
		name    string
		tol     []corev1.Toleration
		wantFit bool
	}{
		{"a cordoned node takes no ordinary pod", nil, false},
		{"a pod tolerating the unschedulable taint fits a cordoned node", []corev1.Toleration{{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}, true},
		{"a toleration of everything covers it too", []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, true},
		{"a NoExecute toleration does not", []corev1.Toleration{{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := fwt.MakePod("p").Obj()
			pod.Spec.Tolerations = tc.tol
			pl, _ := New(nil, nil)
			got := fwt.PreFilterAndFilter(t, pl, pod, framework.NewSnapshot(nil, []*corev1.Node{cordoned, open}))
			if !got["open"].IsSuccess() {
				t.Errorf("open node rejected: %v", got["open"])
			}
			if got["cordoned"].IsSuccess() != tc.wantFit {
				t.Errorf("cordoned: %v, want fit=%v", got["cordoned"], tc.wantFit)
			}
			if !tc.wantFit && got["cordoned"].Message() != "node(s) were unschedulable" {
				t.Errorf("reason %q", got["cordoned"].Message())
			}
		})
	}
}
