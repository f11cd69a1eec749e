package apps

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func testRevision() *appsv1.ControllerRevision {
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: "db-7f9c", Namespace: "default"},
		Data:       runtime.RawExtension{Raw: []byte(`{"spec":{}}`)},
		Revision:   2,
	}
}

func TestControllerRevisionValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*appsv1.ControllerRevision)
		want   []wantErr
	}{
		{name: "a revision with data is valid", mutate: func(*appsv1.ControllerRevision) {}},
		{
			name:   "data is required",
			mutate: func(cr *appsv1.ControllerRevision) { cr.Data = runtime.RawExtension{} },
			want:   []wantErr{{field.ErrorTypeRequired, "data"}},
		},
		{
			name:   "a negative revision is invalid",
			mutate: func(cr *appsv1.ControllerRevision) { cr.Revision = -1 },
			want:   []wantErr{{field.ErrorTypeInvalid, "revision"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cr := testRevision()
			tc.mutate(cr)
			expectErrors(t, controllerRevisionStrategy{}.Validate(t.Context(), cr), tc.want...)
		})
	}
}

func TestControllerRevisionValidateUpdate(t *testing.T) {
	t.Parallel()
	t.Run("changing data is rejected as immutable", func(t *testing.T) {
		t.Parallel()
		old, cr := testRevision(), testRevision()
		cr.Data.Raw = []byte(`{"spec":{"x":1}}`)
		errs := controllerRevisionStrategy{}.ValidateUpdate(t.Context(), cr, old)
		expectErrors(t, errs, wantErr{field.ErrorTypeInvalid, "data"})
		expectDetail(t, errs, "data", "field is immutable")
	})
	t.Run("changing the revision number is allowed", func(t *testing.T) {
		t.Parallel()
		old, cr := testRevision(), testRevision()
		cr.Revision = 5
		expectErrors(t, controllerRevisionStrategy{}.ValidateUpdate(t.Context(), cr, old))
	})
}

func TestControllerRevisionTable(t *testing.T) {
	t.Parallel()
	r := resourceByPlural(t, "controllerrevisions")
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		owners []metav1.OwnerReference
		want   string
	}{
		{name: "a revision without a controller shows <none>", want: "<none>"},
		{
			name:   "an apps controller shows kind.group/name",
			owners: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", Controller: ptr.To(true)}},
			want:   "statefulset.apps/db",
		},
		{
			name:   "a non-controller owner is ignored",
			owners: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "x"}},
			want:   "<none>",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cr := testRevision()
			cr.OwnerReferences = tc.owners
			cr.CreationTimestamp = metav1.NewTime(now.Add(-5 * time.Second))
			want := []any{"db-7f9c", tc.want, int64(2), "5s"}
			if got := r.Table.Row(cr, now); !reflect.DeepEqual(got, want) {
				t.Errorf("row = %#v, want %#v", got, want)
			}
		})
	}
}
