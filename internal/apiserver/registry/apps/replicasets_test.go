package apps

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func testReplicaSet() *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-5d4f", Namespace: "default"},
		Spec:       appsv1.ReplicaSetSpec{Selector: testSelector(), Template: testTemplate()},
	}
	replicaSetStrategy{}.Default(rs)
	return rs
}

func TestReplicaSetDefaults(t *testing.T) {
	t.Parallel()
	t.Run("an empty replica set gets one replica", func(t *testing.T) {
		t.Parallel()
		rs := &appsv1.ReplicaSet{}
		replicaSetStrategy{}.Default(rs)
		if rs.Spec.Replicas == nil || *rs.Spec.Replicas != 1 {
			t.Errorf("replicas = %v, want 1", rs.Spec.Replicas)
		}
	})
	t.Run("zero replicas are kept", func(t *testing.T) {
		t.Parallel()
		rs := &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](0)}}
		replicaSetStrategy{}.Default(rs)
		if *rs.Spec.Replicas != 0 {
			t.Errorf("replicas = %d, want 0", *rs.Spec.Replicas)
		}
	})
}

func TestReplicaSetValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*appsv1.ReplicaSet)
		want   []wantErr
	}{
		{name: "a complete replica set is valid", mutate: func(*appsv1.ReplicaSet) {}},
		{
			name:   "a missing selector is required",
			mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = nil },
			want:   []wantErr{{field.ErrorTypeRequired, "spec.selector"}, {field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
		},
		{
			name:   "an empty selector is invalid",
			mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = &metav1.LabelSelector{} },
			want:   []wantErr{{field.ErrorTypeInvalid, "spec.selector"}},
		},
		{
			name: "a malformed selector expression is invalid",
			mutate: func(rs *appsv1.ReplicaSet) {
				rs.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}
			},
			want: []wantErr{{field.ErrorTypeInvalid, "spec.selector.matchExpressions[0].operator"}, {field.ErrorTypeInvalid, "spec.selector"}},
		},
		{
			name:   "a template the selector does not match is invalid",
			mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Labels = nil },
			want:   []wantErr{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
		},
		{
			name:   "negative replicas are invalid",
			mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = ptr.To[int32](-1) },
			want:   []wantErr{{field.ErrorTypeInvalid, "spec.replicas"}},
		},
		{
			name:   "negative minReadySeconds are invalid",
			mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.MinReadySeconds = -1 },
			want:   []wantErr{{field.ErrorTypeInvalid, "spec.minReadySeconds"}},
		},
		{
			name:   "a template that restarts Never is not supported",
			mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want:   []wantErr{{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := testReplicaSet()
			tc.mutate(rs)
			expectErrors(t, replicaSetStrategy{}.Validate(t.Context(), rs), tc.want...)
		})
	}
}

func TestReplicaSetValidateUpdate(t *testing.T) {
	t.Parallel()
	t.Run("changing the selector is rejected as immutable", func(t *testing.T) {
		t.Parallel()
		old, rs := testReplicaSet(), testReplicaSet()
		rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "x": "y"}}
		rs.Spec.Template.Labels["x"] = "y"
		errs := replicaSetStrategy{}.ValidateUpdate(t.Context(), rs, old)
		expectErrors(t, errs, wantErr{field.ErrorTypeInvalid, "spec.selector"})
		expectDetail(t, errs, "spec.selector", "field is immutable")
	})
	t.Run("scaling is allowed", func(t *testing.T) {
		t.Parallel()
		old, rs := testReplicaSet(), testReplicaSet()
		rs.Spec.Replicas = ptr.To[int32](10)
		expectErrors(t, replicaSetStrategy{}.ValidateUpdate(t.Context(), rs, old))
	})
}

func TestReplicaSetValidateStatusUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status appsv1.ReplicaSetStatus
		want   []wantErr
	}{
		{name: "consistent counters are valid", status: appsv1.ReplicaSetStatus{Replicas: 2, FullyLabeledReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 1}},
		{
			name:   "fully labeled replicas may not exceed replicas",
			status: appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 2},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.fullyLabeledReplicas"}},
		},
		{
			name:   "a negative observed generation is invalid",
			status: appsv1.ReplicaSetStatus{ObservedGeneration: -1},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.observedGeneration"}},
		},
		{
			name:   "negative terminating replicas are invalid",
			status: appsv1.ReplicaSetStatus{TerminatingReplicas: ptr.To[int32](-2)},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.terminatingReplicas"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs, old := testReplicaSet(), testReplicaSet()
			rs.Status = tc.status
			expectErrors(t, replicaSetStrategy{}.ValidateStatusUpdate(t.Context(), rs, old), tc.want...)
		})
	}
}

func TestReplicaSetTableAndFields(t *testing.T) {
	t.Parallel()
	r := resourceByPlural(t, "replicasets")
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rs := testReplicaSet()
	rs.CreationTimestamp = metav1.NewTime(now.Add(-90 * time.Second))
	rs.Spec.Replicas = ptr.To[int32](3)
	rs.Status = appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 2}

	t.Run("a row shows desired, current and ready replicas", func(t *testing.T) {
		t.Parallel()
		want := []any{"web-5d4f", int64(3), int64(3), int64(2), "90s", "web", "nginx:1.27", "app=web"}
		if got := r.Table.Row(rs, now); !reflect.DeepEqual(got, want) {
			t.Errorf("row = %#v, want %#v", got, want)
		}
	})
	t.Run("status.replicas is a field selector", func(t *testing.T) {
		t.Parallel()
		if got, want := r.Fields(rs), (fields.Set{"status.replicas": "3"}); !reflect.DeepEqual(got, want) {
			t.Errorf("fields = %v, want %v", got, want)
		}
	})
	t.Run("the resource is rs in category all with status and scale", func(t *testing.T) {
		t.Parallel()
		if !reflect.DeepEqual(r.ShortNames, []string{"rs"}) || !reflect.DeepEqual(r.Categories, []string{"all"}) || !r.Status || r.Scale == nil {
			t.Errorf("identity = %+v", r)
		}
		spec, status, sel := r.Scale.Replicas(rs)
		if spec != 3 || status != 3 || sel != "app=web" {
			t.Errorf("scale = %d %d %q", spec, status, sel)
		}
	})
}
