package volumebinding

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func pv(name, class, node, size string) *corev1.PersistentVolume {
	v := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: corev1.PersistentVolumeSpec{
		StorageClassName: class, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
	}}
	if node != "" {
		v.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}}}}}
	}
	return v
}

func pvc(name, class, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: corev1.PersistentVolumeClaimSpec{
		StorageClassName: &class, VolumeName: volume, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
	}}
}

func class(name, provisioner string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner, VolumeBindingMode: &mode}
}

func TestFilter(t *testing.T) {
	nodes := []*corev1.Node{fwt.MakeNode("n1").Obj(), fwt.MakeNode("n2").Obj()}
	wffc, immediate := storagev1.VolumeBindingWaitForFirstConsumer, storagev1.VolumeBindingImmediate
	for _, tc := range []struct {
		name  string
		objs  []any
		claim string
		want  map[string]string
	}{
		{"a claim bound to a local volume: its node only",
			[]any{pv("v", "local", "n2", "1Gi"), pvc("c", "local", "v")}, "c",
			map[string]string{"n1": ErrReasonNodeConflict, "n2": ""}},
		{"a delayed claim: nodes with an available volume",
			[]any{class("local", noProvisioner, wffc), pv("v", "local", "n1", "5Gi"), pvc("c", "local", "")}, "c",
			map[string]string{"n1": "", "n2": ErrReasonBindConflict}},
		{"a delayed claim: volumes too small do not count",
			[]any{class("local", noProvisioner, wffc), pv("v", "local", "n1", "500Mi"), pvc("c", "local", "")}, "c",
			map[string]string{"n1": ErrReasonBindConflict, "n2": ErrReasonBindConflict}},
		{"a delayed claim with a provisioner: any node",
			[]any{class("fast", "csi.example.com", wffc), pvc("c", "fast", "")}, "c",
			map[string]string{"n1": "", "n2": ""}},
		{"an unbound immediate claim waits for the binder",
			[]any{class("std", "csi.example.com", immediate), pvc("c", "std", "")}, "c",
			map[string]string{"n1": ErrReasonUnboundImmediatePV, "n2": ErrReasonUnboundImmediatePV}},
		{"a missing claim", nil, "gone",
			map[string]string{"n1": `persistentvolumeclaim "gone" not found`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl, _ := New(nil, fwt.NewHandle(tc.objs...))
			got := fwt.PreFilterAndFilter(t, pl, fwt.MakePod("p").Claim(tc.claim).Obj(), framework.NewSnapshot(nil, nodes))
			for n, reason := range tc.want {
				if got[n].Message() != reason {
					t.Errorf("node %s: %v, want %q", n, got[n], reason)
				}
			}
		})
	}
}

func TestClaimsToProvision(t *testing.T) {
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	h := fwt.NewHandle(class("fast", "csi.example.com", wffc), pvc("c", "fast", ""))
	pl, _ := New(nil, h)
	vb := pl.(*VolumeBinding)
	state := framework.NewCycleState()
	node := fwt.MakeNode("n1").Obj()
	if _, s := vb.PreFilter(t.Context(), state, fwt.MakePod("p").Claim("c").Obj(), framework.NewSnapshot(nil, []*corev1.Node{node})); !s.IsSuccess() {
		t.Fatal(s)
	}
	if got := vb.ClaimsToProvision(state, node); len(got) != 1 || got[0].Name != "c" {
		t.Errorf("claims to provision %v, want c", got)
	}
}
