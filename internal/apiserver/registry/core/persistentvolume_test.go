package core

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var pvTestClock = metav1.NewTime(testNow)

// testPVStrategy is the persistent volume strategy with a fixed clock.
var testPVStrategy = persistentVolumeStrategy{now: func() metav1.Time { return pvTestClock }}

func testPV(mutate ...func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-1", CreationTimestamp: testCreated},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               resList("storage", "10Gi"),
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/pv-1"}},
		},
	}
	for _, m := range mutate {
		m(pv)
	}
	return pv
}

func TestPersistentVolumeDefaults(t *testing.T) {
	t.Parallel()
	pv := testPV()
	if errs := createErrs(t, testPVStrategy, pv); len(errs) > 0 {
		t.Fatal(errs)
	}
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		t.Errorf("reclaim policy = %q", pv.Spec.PersistentVolumeReclaimPolicy)
	}
	if m := pv.Spec.VolumeMode; m == nil || *m != corev1.PersistentVolumeFilesystem {
		t.Errorf("volume mode = %v", m)
	}
	if tp := pv.Spec.HostPath.Type; tp == nil || *tp != corev1.HostPathUnset {
		t.Errorf("hostPath type = %v", tp)
	}
	if pv.Status.Phase != corev1.VolumePending || !pv.Status.LastPhaseTransitionTime.Equal(&pvTestClock) {
		t.Errorf("status = %+v", pv.Status)
	}
}

func TestPersistentVolumeValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*corev1.PersistentVolume)
		want   []string
	}{
		{"a hostPath volume is valid", func(*corev1.PersistentVolume) {}, nil},
		{"an NFS volume is valid", func(p *corev1.PersistentVolume) {
			p.Spec.HostPath = nil
			p.Spec.NFS = &corev1.NFSVolumeSource{Server: "nfs.example.com", Path: "/exports/a"}
		}, nil},
		{"access modes are required", func(p *corev1.PersistentVolume) { p.Spec.AccessModes = nil },
			[]string{"Required value spec.accessModes"}},
		{"unknown access modes are not supported", func(p *corev1.PersistentVolume) {
			p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadSometimes"}
		},
			[]string{"Unsupported value spec.accessModes"}},
		{"ReadWriteOncePod excludes other modes", func(p *corev1.PersistentVolume) {
			p.Spec.AccessModes = append(p.Spec.AccessModes, corev1.ReadWriteOncePod)
		}, []string{"Forbidden spec.accessModes"}},
		{"capacity is required", func(p *corev1.PersistentVolume) { p.Spec.Capacity = nil },
			[]string{"Required value spec.capacity", "Unsupported value spec.capacity"}},
		{"capacity may only hold storage", func(p *corev1.PersistentVolume) { p.Spec.Capacity["cpu"] = resList("x", "1")["x"] },
			[]string{"Unsupported value spec.capacity"}},
		{"capacity must be positive", func(p *corev1.PersistentVolume) { p.Spec.Capacity = resList("storage", "0") },
			[]string{"Invalid value spec.capacity[storage]"}},
		{"a volume source is required", func(p *corev1.PersistentVolume) { p.Spec.HostPath = nil },
			[]string{"Required value spec"}},
		{"only one volume source is allowed", func(p *corev1.PersistentVolume) {
			p.Spec.NFS = &corev1.NFSVolumeSource{Server: "nfs", Path: "/x"}
		}, []string{"Forbidden spec.nfs"}},
		{"a hostPath needs a path", func(p *corev1.PersistentVolume) { p.Spec.HostPath.Path = "" },
			[]string{"Required value spec.hostPath.path"}},
		{"a hostPath may not step up", func(p *corev1.PersistentVolume) { p.Spec.HostPath.Path = "/srv/../etc" },
			[]string{"Invalid value spec.hostPath.path"}},
		{"a hostPath type must be known", func(p *corev1.PersistentVolume) { p.Spec.HostPath.Type = ptr.To[corev1.HostPathType]("Pipe") },
			[]string{"Unsupported value spec.hostPath.type"}},
		{"an NFS path must be absolute", func(p *corev1.PersistentVolume) {
			p.Spec.HostPath = nil
			p.Spec.NFS = &corev1.NFSVolumeSource{Server: "nfs", Path: "exports"}
		}, []string{"Invalid value spec.nfs.path"}},
		{"a local volume needs node affinity", func(p *corev1.PersistentVolume) {
			p.Spec.HostPath = nil
			p.Spec.Local = &corev1.LocalVolumeSource{Path: "/mnt/disk"}
		}, []string{"Required value spec.nodeAffinity"}},
		{"node affinity needs terms", func(p *corev1.PersistentVolume) {
			p.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{}}
		}, []string{"Required value spec.nodeAffinity.required.nodeSelectorTerms"}},
		{"node affinity In needs values", func(p *corev1.PersistentVolume) {
			p.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn}},
			}}}}
		}, []string{"Required value spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values"}},
		{"a CSI volume needs a driver and a handle", func(p *corev1.PersistentVolume) {
			p.Spec.HostPath = nil
			p.Spec.CSI = &corev1.CSIPersistentVolumeSource{}
		}, []string{"Required value spec.csi.driver", "Required value spec.csi.volumeHandle"}},
		{"an unknown reclaim policy is not supported", func(p *corev1.PersistentVolume) { p.Spec.PersistentVolumeReclaimPolicy = "Keep" },
			[]string{"Unsupported value spec.persistentVolumeReclaimPolicy"}},
		{"recycling a hostPath of / is forbidden", func(p *corev1.PersistentVolume) {
			p.Spec.HostPath.Path = "/"
			p.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRecycle
		}, []string{"Forbidden spec.persistentVolumeReclaimPolicy"}},
		{"a storage class name must be a DNS subdomain", func(p *corev1.PersistentVolume) { p.Spec.StorageClassName = "Fast_SSD" },
			[]string{"Invalid value spec.storageClassName"}},
		{"a volume attributes class needs CSI", func(p *corev1.PersistentVolume) { p.Spec.VolumeAttributesClassName = ptr.To("gold") },
			[]string{"Required value spec.csi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectErrs(t, createErrs(t, testPVStrategy, testPV(tt.mutate)), tt.want...)
		})
	}
}

func TestPersistentVolumeUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*corev1.PersistentVolume)
		want   []string
	}{
		{"binding to a claim is allowed", func(p *corev1.PersistentVolume) {
			p.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
		}, nil},
		{"growing the capacity is allowed", func(p *corev1.PersistentVolume) { p.Spec.Capacity = resList("storage", "20Gi") }, nil},
		{"the volume source is immutable", func(p *corev1.PersistentVolume) { p.Spec.HostPath.Path = "/srv/other" },
			[]string{"Forbidden spec.persistentvolumesource"}},
		{"the volume mode is immutable", func(p *corev1.PersistentVolume) { p.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock) },
			[]string{"Invalid value volumeMode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			old := testPV()
			createErrs(t, testPVStrategy, old)
			pv := old.DeepCopy()
			tt.mutate(pv)
			expectErrs(t, updateErrs(t, testPVStrategy, pv, old), tt.want...)
		})
	}
}

func TestPersistentVolumeStatusSplit(t *testing.T) {
	t.Parallel()
	earlier := metav1.NewTime(testNow.Add(-time.Hour))
	stored := func() *corev1.PersistentVolume {
		pv := testPV()
		createErrs(t, testPVStrategy, pv)
		pv.Status.LastPhaseTransitionTime = &earlier
		return pv
	}
	t.Run("a spec update keeps the stored status", func(t *testing.T) {
		t.Parallel()
		old := stored()
		pv := old.DeepCopy()
		pv.Status.Phase = corev1.VolumeFailed
		updateErrs(t, testPVStrategy, pv, old)
		if pv.Status.Phase != corev1.VolumePending {
			t.Errorf("phase = %q", pv.Status.Phase)
		}
	})
	t.Run("a phase change keeps the spec and stamps the transition", func(t *testing.T) {
		t.Parallel()
		old := stored()
		pv := old.DeepCopy()
		pv.Spec.StorageClassName = "other"
		pv.Status.Phase = corev1.VolumeAvailable
		expectErrs(t, statusUpdateErrs(t, testPVStrategy, pv, old))
		if pv.Spec.StorageClassName != "" || !pv.Status.LastPhaseTransitionTime.Equal(&pvTestClock) {
			t.Errorf("spec class = %q, transition = %v", pv.Spec.StorageClassName, pv.Status.LastPhaseTransitionTime)
		}
	})
	t.Run("the same phase keeps the stored transition time", func(t *testing.T) {
		t.Parallel()
		old := stored()
		pv := old.DeepCopy()
		pv.Status.LastPhaseTransitionTime = nil
		pv.Status.Message = "still waiting"
		testPVStrategy.Default(pv)
		testPVStrategy.PrepareForStatusUpdate(context.Background(), pv, old)
		if !pv.Status.LastPhaseTransitionTime.Equal(&earlier) {
			t.Errorf("transition = %v", pv.Status.LastPhaseTransitionTime)
		}
	})
}

func TestPersistentVolumeTableAndFields(t *testing.T) {
	t.Parallel()
	res := persistentVolumesResource()
	wantCols := []string{"Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass",
		"VolumeAttributesClass", "Reason", "Age", "VolumeMode (wide)"}
	if got := columnNames(res.Table); !slices.Equal(got, wantCols) {
		t.Fatalf("columns = %v", got)
	}
	pv := testPV(func(p *corev1.PersistentVolume) {
		p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce}
		p.Spec.StorageClassName = "local"
		p.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
	})
	createErrs(t, testPVStrategy, pv)
	pv.Status.Phase = corev1.VolumeBound
	expectRow(t, res.Table, pv, testNow, "pv-1", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "local",
		"<unset>", "", "90m", "Filesystem")
	pv.DeletionTimestamp = &pvTestClock
	pv.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "legacy"}
	pv.Spec.ClaimRef = nil
	expectRow(t, res.Table, pv, testNow, "pv-1", "10Gi", "RWO,RWX", "Retain", "Terminating", "", "legacy",
		"<unset>", "", "90m", "Filesystem")
	if got := res.Fields(pv); len(got) != 1 || got["name"] != "pv-1" {
		t.Errorf("fields = %v", got)
	}
	if res.Namespaced {
		t.Error("persistentvolumes must be cluster-scoped")
	}
}
