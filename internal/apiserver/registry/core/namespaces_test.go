package core

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func TestNamespaceCreate(t *testing.T) {
	t.Parallel()
	ns := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/cleanup"}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
	}
	s := namespaceStrategy{}
	s.Default(ns)
	s.PrepareForCreate(t.Context(), ns)
	t.Run("it is labelled with its name", func(t *testing.T) {
		t.Parallel()
		if ns.Labels[corev1.LabelMetadataName] != "team-a" {
			t.Errorf("labels = %v", ns.Labels)
		}
	})
	t.Run("it starts Active", func(t *testing.T) {
		t.Parallel()
		if ns.Status.Phase != corev1.NamespaceActive {
			t.Errorf("phase = %s", ns.Status.Phase)
		}
	})
	t.Run("it gets the kubernetes finalizer after the client's", func(t *testing.T) {
		t.Parallel()
		want := []corev1.FinalizerName{"example.com/cleanup", corev1.FinalizerKubernetes}
		if !reflect.DeepEqual(ns.Spec.Finalizers, want) {
			t.Errorf("finalizers = %v", ns.Spec.Finalizers)
		}
	})
	t.Run("names are DNS labels", func(t *testing.T) {
		t.Parallel()
		var res = findResource(t, "namespaces")
		if len(res.NameValidation("team.a", false)) == 0 || len(res.NameValidation("team-a", false)) != 0 {
			t.Errorf("name validation does not follow DNS-1123 labels")
		}
	})
	t.Run("an unqualified unknown finalizer is invalid", func(t *testing.T) {
		t.Parallel()
		bad := ns.DeepCopy()
		bad.Spec.Finalizers = append(bad.Spec.Finalizers, "cleanup")
		assertErrs(t, s.Validate(t.Context(), bad), wantErr{field.ErrorTypeInvalid, "spec.finalizers"})
	})
}

func TestNamespaceUpdates(t *testing.T) {
	t.Parallel()
	old := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{corev1.LabelMetadataName: "team-a"}},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
	s := namespaceStrategy{}
	t.Run("an update keeps finalizers, status and the name label", func(t *testing.T) {
		t.Parallel()
		ns := old.DeepCopy()
		ns.Spec.Finalizers, ns.Status.Phase, ns.Labels = nil, corev1.NamespaceTerminating, map[string]string{"team": "a"}
		s.Default(ns)
		s.PrepareForUpdate(t.Context(), ns, old)
		if len(ns.Spec.Finalizers) != 1 || ns.Status.Phase != corev1.NamespaceActive || ns.Labels[corev1.LabelMetadataName] != "team-a" {
			t.Errorf("namespace = %+v", ns)
		}
	})
	t.Run("a status update keeps the spec", func(t *testing.T) {
		t.Parallel()
		ns := old.DeepCopy()
		ns.Spec.Finalizers = nil
		s.PrepareForStatusUpdate(t.Context(), ns, old)
		if len(ns.Spec.Finalizers) != 1 {
			t.Errorf("finalizers = %v", ns.Spec.Finalizers)
		}
	})
	phases := []struct {
		name     string
		deleting bool
		phase    corev1.NamespacePhase
		want     []wantErr
	}{
		{"Active while not deleted is valid", false, corev1.NamespaceActive, nil},
		{"Terminating while not deleted is invalid", false, corev1.NamespaceTerminating, []wantErr{{field.ErrorTypeInvalid, "status.Phase"}}},
		{"Terminating while deleted is valid", true, corev1.NamespaceTerminating, nil},
		{"Active while deleted is invalid", true, corev1.NamespaceActive, []wantErr{{field.ErrorTypeInvalid, "status.Phase"}}},
	}
	for _, tc := range phases {
		t.Run("a status of "+tc.name, func(t *testing.T) {
			t.Parallel()
			ns := old.DeepCopy()
			ns.Status.Phase = tc.phase
			if tc.deleting {
				ns.DeletionTimestamp = ptr.To(metav1.Now())
			}
			assertErrs(t, s.ValidateStatusUpdate(t.Context(), ns, old), tc.want...)
		})
	}
}

func TestNamespaceFinalize(t *testing.T) {
	t.Parallel()
	old := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"a": "b"}},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
	}
	t.Run("removing the finalizer is valid", func(t *testing.T) {
		t.Parallel()
		ns := old.DeepCopy()
		ns.Spec.Finalizers = nil
		assertErrs(t, ValidateNamespaceFinalizeUpdate(ns, old))
	})
	t.Run("a bad finalizer is reported at its index", func(t *testing.T) {
		t.Parallel()
		ns := old.DeepCopy()
		ns.Spec.Finalizers = []corev1.FinalizerName{"kubernetes", "nope"}
		assertErrs(t, ValidateNamespaceFinalizeUpdate(ns, old), wantErr{field.ErrorTypeInvalid, "spec.finalizers[1]"})
	})
	t.Run("changing labels or status through finalize is forbidden", func(t *testing.T) {
		t.Parallel()
		ns := old.DeepCopy()
		ns.Labels = nil
		ns.Status.Phase = corev1.NamespaceActive
		assertErrs(t, ValidateNamespaceFinalizeUpdate(ns, old),
			wantErr{field.ErrorTypeForbidden, "metadata"}, wantErr{field.ErrorTypeForbidden, "status"})
	})
	t.Run("preparing a finalize keeps all but the finalizers", func(t *testing.T) {
		t.Parallel()
		ns := old.DeepCopy()
		ns.Labels, ns.Spec.Finalizers = nil, nil
		PrepareNamespaceFinalize(ns, old)
		if ns.Labels["a"] != "b" || len(ns.Spec.Finalizers) != 0 {
			t.Errorf("namespace = %+v", ns)
		}
	})
}

func TestNamespaceTable(t *testing.T) {
	t.Parallel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", CreationTimestamp: ago(90 * time.Second)},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	if got, want := namespaceTable.Row(ns, tableNow), []any{"team-a", "Active", "90s"}; !reflect.DeepEqual(got, want) {
		t.Errorf("row = %#v", got)
	}
	if got := namespaceFields(ns); len(got) != 1 || got["status.phase"] != "Active" {
		t.Errorf("fields = %v", got)
	}
}
