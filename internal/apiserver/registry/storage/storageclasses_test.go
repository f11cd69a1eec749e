package storage

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func validClass() *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "local-path"},
		Provisioner: "rancher.io/local-path",
		Parameters:  map[string]string{"nodePath": "/data"},
	}
}

func TestStorageClassIdentity(t *testing.T) {
	t.Parallel()
	r := findResource(t, "storageclasses")
	if r.GVK.String() != "storage.k8s.io/v1, Kind=StorageClass" || r.Namespaced || r.Status || r.ShortNames[0] != "sc" || r.Singular != "storageclass" {
		t.Errorf("identity: %+v", r)
	}
}

func TestStorageClassDefaults(t *testing.T) {
	t.Parallel()
	s := findResource(t, "storageclasses").Strategy
	t.Run("an empty class gets reclaimPolicy Delete and volumeBindingMode Immediate", func(t *testing.T) {
		t.Parallel()
		sc := &storagev1.StorageClass{}
		s.Default(sc)
		if *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate {
			t.Errorf("reclaim %v mode %v", *sc.ReclaimPolicy, *sc.VolumeBindingMode)
		}
		if sc.AllowVolumeExpansion != nil {
			t.Errorf("allowVolumeExpansion defaulted to %v", *sc.AllowVolumeExpansion)
		}
	})
	t.Run("set policies are kept", func(t *testing.T) {
		t.Parallel()
		sc := &storagev1.StorageClass{ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimRetain),
			VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}
		s.Default(sc)
		if *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimRetain || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
			t.Errorf("reclaim %v mode %v", *sc.ReclaimPolicy, *sc.VolumeBindingMode)
		}
	})
}

func TestStorageClassValidation(t *testing.T) {
	t.Parallel()
	s := findResource(t, "storageclasses").Strategy
	term := func(key string, values ...string) corev1.TopologySelectorTerm {
		return corev1.TopologySelectorTerm{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: key, Values: values}}}
	}
	cases := []struct {
		name   string
		mutate func(*storagev1.StorageClass)
		want   []wantErr
	}{
		{name: "a class with a qualified provisioner is valid", mutate: func(*storagev1.StorageClass) {}},
		{name: "the provisioner is compared case-insensitively", mutate: func(sc *storagev1.StorageClass) { sc.Provisioner = "Example.COM/Disk" }},
		{name: "the provisioner is required", mutate: func(sc *storagev1.StorageClass) { sc.Provisioner = "" },
			want: []wantErr{{"provisioner", field.ErrorTypeRequired}}},
		{name: "the provisioner must be a qualified name", mutate: func(sc *storagev1.StorageClass) { sc.Provisioner = "a/b/c" },
			want: []wantErr{{"provisioner", field.ErrorTypeInvalid}}},
		{name: "parameter keys may not be empty", mutate: func(sc *storagev1.StorageClass) { sc.Parameters[""] = "x" },
			want: []wantErr{{"parameters", field.ErrorTypeInvalid}}},
		{name: "parameters are limited to 256 KiB", mutate: func(sc *storagev1.StorageClass) { sc.Parameters["big"] = strings.Repeat("x", 256<<10) },
			want: []wantErr{{"parameters", field.ErrorTypeTooLong}}},
		{name: "Recycle is not a supported reclaim policy", mutate: func(sc *storagev1.StorageClass) {
			sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRecycle)
		}, want: []wantErr{{"reclaimPolicy", field.ErrorTypeNotSupported}}},
		{name: "an unknown binding mode is not supported", mutate: func(sc *storagev1.StorageClass) {
			sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingMode("Later"))
		}, want: []wantErr{{"volumeBindingMode", field.ErrorTypeNotSupported}}},
		{name: "a topology term needs values", mutate: func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{term("topology.kubernetes.io/zone")}
		}, want: []wantErr{{"allowedTopologies[0].matchLabelExpressions[0].values", field.ErrorTypeRequired}}},
		{name: "topology terms may not repeat", mutate: func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{term("zone", "a"), term("zone", "a")}
		}, want: []wantErr{{"allowedTopologies[1].matchLabelExpressions", field.ErrorTypeDuplicate}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sc := validClass()
			s.Default(sc)
			c.mutate(sc)
			checkErrs(t, s.Validate(t.Context(), sc), c.want...)
		})
	}
}

func TestStorageClassImmutability(t *testing.T) {
	t.Parallel()
	s := findResource(t, "storageclasses").Strategy
	cases := []struct {
		name   string
		mutate func(*storagev1.StorageClass)
		want   []wantErr
	}{
		{name: "labels and allowVolumeExpansion may change", mutate: func(sc *storagev1.StorageClass) {
			sc.Labels = map[string]string{"a": "b"}
			sc.AllowVolumeExpansion = ptr.To(true)
		}},
		{name: "the provisioner may not change", mutate: func(sc *storagev1.StorageClass) { sc.Provisioner = "example.com/other" },
			want: []wantErr{{"provisioner", field.ErrorTypeForbidden}}},
		{name: "parameters may not change", mutate: func(sc *storagev1.StorageClass) { sc.Parameters["nodePath"] = "/other" },
			want: []wantErr{{"parameters", field.ErrorTypeForbidden}}},
		{name: "the reclaim policy may not change", mutate: func(sc *storagev1.StorageClass) {
			sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRetain)
		}, want: []wantErr{{"reclaimPolicy", field.ErrorTypeForbidden}}},
		{name: "the binding mode is immutable", mutate: func(sc *storagev1.StorageClass) {
			sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)
		}, want: []wantErr{{"volumeBindingMode", field.ErrorTypeInvalid}}},
		{name: "an update is validated like a create", mutate: func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: "zone"}}}}
		}, want: []wantErr{{"allowedTopologies[0].matchLabelExpressions[0].values", field.ErrorTypeRequired}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			old := validClass()
			s.Default(old)
			sc := old.DeepCopy()
			c.mutate(sc)
			checkErrs(t, s.ValidateUpdate(t.Context(), sc, old), c.want...)
		})
	}
}

func TestStorageClassTable(t *testing.T) {
	t.Parallel()
	r := findResource(t, "storageclasses")
	var names []string
	for _, col := range r.Table.Columns {
		names = append(names, col.Name)
	}
	if got := strings.Join(names, ","); got != "Name,Provisioner,ReclaimPolicy,VolumeBindingMode,AllowVolumeExpansion,Age" {
		t.Errorf("columns = %s", got)
	}
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-10 * 24 * time.Hour))
	t.Run("the default class is marked and unset policies show their defaults", func(t *testing.T) {
		t.Parallel()
		sc := validClass()
		sc.CreationTimestamp = created
		sc.Annotations = map[string]string{DefaultClassAnnotation: "true"}
		checkRow(t, r.Table.Row(sc, now), []any{"local-path (default)", "rancher.io/local-path", "Delete", "Immediate", false, "10d"})
	})
	t.Run("a class with set fields shows them", func(t *testing.T) {
		t.Parallel()
		sc := validClass()
		sc.CreationTimestamp = created
		sc.Annotations = map[string]string{BetaDefaultClassAnnotation: "false"}
		sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRetain)
		sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)
		sc.AllowVolumeExpansion = ptr.To(true)
		checkRow(t, r.Table.Row(sc, now), []any{"local-path", "rancher.io/local-path", "Retain", "WaitForFirstConsumer", true, "10d"})
	})
}
