package core

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func testPVC(mutate ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default", CreationTimestamp: testCreated},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: resList("storage", "1Gi")},
		},
	}
	for _, m := range mutate {
		m(pvc)
	}
	return pvc
}

// boundPVC is a stored claim bound to pv-1 with the given capacity.
func boundPVC(t *testing.T, capacity string) *corev1.PersistentVolumeClaim {
	t.Helper()
	pvc := testPVC()
	if errs := createErrs(t, persistentVolumeClaimStrategy{}, pvc); len(errs) > 0 {
		t.Fatal(errs)
	}
	pvc.Spec.VolumeName = "pv-1"
	pvc.Status = corev1.PersistentVolumeClaimStatus{
		Phase:       corev1.ClaimBound,
		AccessModes: pvc.Spec.AccessModes,
		Capacity:    resList("storage", capacity),
	}
	return pvc
}

func TestPersistentVolumeClaimDefaults(t *testing.T) {
	t.Parallel()
	t.Run("a new claim is Pending with a Filesystem volume mode", func(t *testing.T) {
		t.Parallel()
		pvc := testPVC(func(p *corev1.PersistentVolumeClaim) { p.Status.Phase = corev1.ClaimBound })
		createErrs(t, persistentVolumeClaimStrategy{}, pvc)
		if pvc.Status.Phase != corev1.ClaimPending {
			t.Errorf("phase = %q", pvc.Status.Phase)
		}
		if m := pvc.Spec.VolumeMode; m == nil || *m != corev1.PersistentVolumeFilesystem {
			t.Errorf("volume mode = %v", m)
		}
	})
	t.Run("a data source is mirrored into dataSourceRef", func(t *testing.T) {
		t.Parallel()
		pvc := testPVC(func(p *corev1.PersistentVolumeClaim) {
			p.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "src"}
		})
		expectErrs(t, createErrs(t, persistentVolumeClaimStrategy{}, pvc))
		if r := pvc.Spec.DataSourceRef; r == nil || r.Kind != "PersistentVolumeClaim" || r.Name != "src" {
			t.Errorf("dataSourceRef = %+v", r)
		}
	})
}

func TestPersistentVolumeClaimValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*corev1.PersistentVolumeClaim)
		want   []string
	}{
		{"a claim with a mode and a size is valid", func(*corev1.PersistentVolumeClaim) {}, nil},
		{"a snapshot data source is valid", func(p *corev1.PersistentVolumeClaim) {
			p.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptr.To("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "s"}
		}, nil},
		{"access modes are required", func(p *corev1.PersistentVolumeClaim) { p.Spec.AccessModes = nil },
			[]string{"Required value spec.accessModes"}},
		{"a storage request is required", func(p *corev1.PersistentVolumeClaim) { p.Spec.Resources.Requests = nil },
			[]string{"Required value spec.resources[storage]"}},
		{"the storage request must be positive", func(p *corev1.PersistentVolumeClaim) { p.Spec.Resources.Requests = resList("storage", "0") },
			[]string{"Invalid value spec.resources[storage]"}},
		{"an unknown volume mode is not supported", func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeMode = ptr.To[corev1.PersistentVolumeMode]("Raw") },
			[]string{"Unsupported value spec.volumeMode"}},
		{"the selector must be valid", func(p *corev1.PersistentVolumeClaim) {
			p.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b c"}}
		}, []string{"Invalid value spec.selector.matchLabels"}},
		{"a core data source must be a claim", func(p *corev1.PersistentVolumeClaim) {
			p.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "Pod", Name: "p"}
		}, []string{"Invalid value spec.dataSource", "Invalid value spec.dataSourceRef"}},
		{"dataSource and dataSourceRef must agree", func(p *corev1.PersistentVolumeClaim) {
			p.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "a"}
			p.Spec.DataSourceRef = &corev1.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "b"}
		}, []string{"Invalid value spec"}},
		{"a storage class name must be a DNS subdomain", func(p *corev1.PersistentVolumeClaim) { p.Spec.StorageClassName = ptr.To("Fast SSD") },
			[]string{"Invalid value spec.storageClassName"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectErrs(t, createErrs(t, persistentVolumeClaimStrategy{}, testPVC(tt.mutate)), tt.want...)
		})
	}
}

func TestPersistentVolumeClaimUpdate(t *testing.T) {
	t.Parallel()
	grow := func(p *corev1.PersistentVolumeClaim) { p.Spec.Resources.Requests = resList("storage", "5Gi") }
	tests := []struct {
		name   string
		old    func(*testing.T) *corev1.PersistentVolumeClaim
		mutate func(*corev1.PersistentVolumeClaim)
		want   []string
	}{
		{"binding sets the volume name once", func(t *testing.T) *corev1.PersistentVolumeClaim {
			pvc := testPVC()
			createErrs(t, persistentVolumeClaimStrategy{}, pvc)
			return pvc
		}, func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeName = "pv-1" }, nil},
		{"the volume name may not change once set", func(t *testing.T) *corev1.PersistentVolumeClaim { return boundPVC(t, "1Gi") },
			func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeName = "pv-2" }, []string{"Forbidden spec"}},
		{"a bound claim may grow", func(t *testing.T) *corev1.PersistentVolumeClaim { return boundPVC(t, "1Gi") }, grow, nil},
		{"a pending claim may not change size", func(t *testing.T) *corev1.PersistentVolumeClaim {
			pvc := testPVC()
			createErrs(t, persistentVolumeClaimStrategy{}, pvc)
			return pvc
		}, grow, []string{"Forbidden spec"}},
		{"a bound claim may not shrink to its capacity", func(t *testing.T) *corev1.PersistentVolumeClaim {
			pvc := boundPVC(t, "5Gi")
			pvc.Spec.Resources.Requests = resList("storage", "5Gi")
			return pvc
		}, func(p *corev1.PersistentVolumeClaim) { p.Spec.Resources.Requests = resList("storage", "2Gi") },
			[]string{"Forbidden spec.resources.requests.storage"}},
		{"a failed expansion may be walked back above the capacity", func(t *testing.T) *corev1.PersistentVolumeClaim {
			pvc := boundPVC(t, "1Gi")
			pvc.Spec.Resources.Requests = resList("storage", "100Gi")
			return pvc
		}, grow, nil},
		{"access modes are immutable", func(t *testing.T) *corev1.PersistentVolumeClaim { return boundPVC(t, "1Gi") },
			func(p *corev1.PersistentVolumeClaim) {
				p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
			}, []string{"Forbidden spec"}},
		{"the volume mode is immutable", func(t *testing.T) *corev1.PersistentVolumeClaim { return boundPVC(t, "1Gi") },
			func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock) },
			[]string{"Forbidden spec", "Invalid value volumeMode"}},
		{"a missing storage class may be set", func(t *testing.T) *corev1.PersistentVolumeClaim { return boundPVC(t, "1Gi") },
			func(p *corev1.PersistentVolumeClaim) { p.Spec.StorageClassName = ptr.To("standard") }, nil},
		{"a bound claim may change its volume attributes class", func(t *testing.T) *corev1.PersistentVolumeClaim {
			pvc := boundPVC(t, "1Gi")
			pvc.Spec.VolumeAttributesClassName = ptr.To("silver")
			return pvc
		}, func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeAttributesClassName = ptr.To("gold") }, nil},
		{"a volume attributes class may not be removed", func(t *testing.T) *corev1.PersistentVolumeClaim {
			pvc := boundPVC(t, "1Gi")
			pvc.Spec.VolumeAttributesClassName = ptr.To("silver")
			return pvc
		}, func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeAttributesClassName = nil },
			[]string{"Forbidden spec", "Forbidden spec.volumeAttributesClassName"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			old := tt.old(t)
			pvc := old.DeepCopy()
			tt.mutate(pvc)
			expectErrs(t, updateErrs(t, persistentVolumeClaimStrategy{}, pvc, old), tt.want...)
		})
	}
}

func TestPersistentVolumeClaimStatusUpdate(t *testing.T) {
	t.Parallel()
	t.Run("a status update keeps the spec", func(t *testing.T) {
		t.Parallel()
		old := boundPVC(t, "1Gi")
		pvc := old.DeepCopy()
		pvc.Spec.VolumeName = "elsewhere"
		pvc.Status.Capacity = resList("storage", "2Gi")
		expectErrs(t, statusUpdateErrs(t, persistentVolumeClaimStrategy{}, pvc, old))
		if got := pvc.Status.Capacity["storage"]; pvc.Spec.VolumeName != "pv-1" || got.String() != "2Gi" {
			t.Errorf("volume = %q, capacity = %s", pvc.Spec.VolumeName, got.String())
		}
	})
	t.Run("allocated resources must be storage", func(t *testing.T) {
		t.Parallel()
		old := boundPVC(t, "1Gi")
		pvc := old.DeepCopy()
		pvc.Status.AllocatedResources = resList("cpu", "1")
		expectErrs(t, statusUpdateErrs(t, persistentVolumeClaimStrategy{}, pvc, old), "Unsupported value status.allocatedResources")
	})
}

func TestPersistentVolumeClaimTableAndFields(t *testing.T) {
	t.Parallel()
	res := persistentVolumeClaimsResource()
	wantCols := []string{"Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass",
		"Age", "VolumeMode (wide)"}
	if got := columnNames(res.Table); !slices.Equal(got, wantCols) {
		t.Fatalf("columns = %v", got)
	}
	pending := testPVC(func(p *corev1.PersistentVolumeClaim) { p.Spec.StorageClassName = ptr.To("standard") })
	createErrs(t, persistentVolumeClaimStrategy{}, pending)
	expectRow(t, res.Table, pending, testNow, "data", "Pending", "", "", "", "standard", "<unset>", "90m", "Filesystem")
	bound := boundPVC(t, "2Gi")
	bound.Spec.VolumeAttributesClassName = ptr.To("gold")
	bound.DeletionTimestamp = &pvTestClock
	expectRow(t, res.Table, bound, testNow, "data", "Terminating", "pv-1", "2Gi", "RWO", "", "gold", "90m", "Filesystem")
	if got := res.Fields(bound); len(got) != 1 || got["name"] != "data" {
		t.Errorf("fields = %v", got)
	}
}
