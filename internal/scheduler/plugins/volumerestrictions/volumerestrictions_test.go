package volumerestrictions

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func gce(pd string, ro bool) corev1.Volume {
	return corev1.Volume{Name: pd, VolumeSource: corev1.VolumeSource{GCEPersistentDisk: &corev1.GCEPersistentDiskVolumeSource{PDName: pd, ReadOnly: ro}}}
}

func TestDiskConflicts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		a, b    corev1.Volume
		wantFit bool
	}{
		{"the same disk read-write conflicts", gce("d", false), gce("d", false), false},
		{"read-only on both sides is shared", gce("d", true), gce("d", true), true},
		{"different disks", gce("d", false), gce("e", false), true},
		{"EBS is never shared", corev1.Volume{VolumeSource: corev1.VolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "v", ReadOnly: true}}},
			corev1.Volume{VolumeSource: corev1.VolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "v", ReadOnly: true}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			existing := fwt.MakePod("e").Node("n").Obj()
			existing.Spec.Volumes = []corev1.Volume{tc.a}
			pod := fwt.MakePod("p").Obj()
			pod.Spec.Volumes = []corev1.Volume{tc.b}
			pl, _ := New(nil, fwt.NewHandle())
			got := fwt.PreFilterAndFilter(t, pl, pod, framework.NewSnapshot([]*corev1.Pod{existing}, []*corev1.Node{fwt.MakeNode("n").Obj()}))["n"]
			if got.IsSuccess() != tc.wantFit {
				t.Errorf("got %v, want fit=%v", got, tc.wantFit)
			}
		})
	}
}

func TestReadWriteOncePod(t *testing.T) {
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "only", Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}}}
	nodes := []*corev1.Node{fwt.MakeNode("n1").Obj(), fwt.MakeNode("n2").Obj()}
	pl, _ := New(nil, fwt.NewHandle(claim))
	got := fwt.PreFilterAndFilter(t, pl, fwt.MakePod("p").Claim("only").Obj(),
		framework.NewSnapshot([]*corev1.Pod{fwt.MakePod("user").Claim("only").Node("n1").Obj()}, nodes))
	for _, n := range []string{"n1", "n2"} {
		if got[n].Message() != ErrReasonReadWriteOncePodConflict {
			t.Errorf("node %s: %v", n, got[n])
		}
	}
	got = fwt.PreFilterAndFilter(t, pl, fwt.MakePod("p").Claim("only").Obj(), framework.NewSnapshot(nil, nodes))
	if !got["n1"].IsSuccess() {
		t.Errorf("unused claim: %v", got["n1"])
	}
}
