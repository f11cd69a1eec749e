package volumezone

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func TestFilter(t *testing.T) {
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "v", Labels: map[string]string{corev1.LabelTopologyZone: "a__b"}}}
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "default"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "v"}}
	nodes := []*corev1.Node{
		fwt.MakeNode("in-a").Label(corev1.LabelTopologyZone, "a").Obj(),
		fwt.MakeNode("in-b-beta").Label(corev1.LabelFailureDomainBetaZone, "b").Obj(),
		fwt.MakeNode("in-c").Label(corev1.LabelTopologyZone, "c").Obj(),
		fwt.MakeNode("no-zone").Obj(),
	}
	pl, _ := New(nil, fwt.NewHandle(pv, claim))
	got := fwt.PreFilterAndFilter(t, pl, fwt.MakePod("p").Claim("c").Obj(), framework.NewSnapshot(nil, nodes))
	want := map[string]string{"in-a": "", "in-b-beta": "", "in-c": ErrReasonConflict, "no-zone": ""}
	for n, reason := range want {
		if got[n].Message() != reason {
			t.Errorf("node %s: %v, want %q", n, got[n], reason)
		}
	}
}
