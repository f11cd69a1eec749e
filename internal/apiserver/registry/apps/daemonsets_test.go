package apps

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func testDaemonSet() *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "kube-system"},
		Spec:       appsv1.DaemonSetSpec{Selector: testSelector(), Template: testTemplate()},
	}
	daemonSetStrategy{}.Default(ds)
	return ds
}

func TestDaemonSetDefaults(t *testing.T) {
	t.Parallel()
	t.Run("an empty daemon set rolls one pod at a time without surge and keeps 10 revisions", func(t *testing.T) {
		t.Parallel()
		ds := &appsv1.DaemonSet{}
		daemonSetStrategy{}.Default(ds)
		ds.Spec.Template = corev1.PodTemplateSpec{} // pod defaults belong to package core
		want := appsv1.DaemonSetSpec{
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{
					MaxUnavailable: ptr.To(intstr.FromInt32(1)),
					MaxSurge:       ptr.To(intstr.FromInt32(0)),
				},
			},
			RevisionHistoryLimit: ptr.To[int32](10),
		}
		if !reflect.DeepEqual(ds.Spec, want) {
			t.Errorf("defaulted spec = %+v, want %+v", ds.Spec, want)
		}
	})
}

func TestDaemonSetValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*appsv1.DaemonSet)
		want   []wantErr
	}{
		{name: "a complete daemon set is valid", mutate: func(*appsv1.DaemonSet) {}},
		{
			name:   "a missing selector matches no template",
			mutate: func(ds *appsv1.DaemonSet) { ds.Spec.Selector = nil },
			want:   []wantErr{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
		},
		{
			name:   "an empty selector is invalid",
			mutate: func(ds *appsv1.DaemonSet) { ds.Spec.Selector = &metav1.LabelSelector{} },
			want:   []wantErr{{field.ErrorTypeInvalid, "spec.selector"}},
		},
		{
			name:   "a template with activeDeadlineSeconds is forbidden",
			mutate: func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](1) },
			want:   []wantErr{{field.ErrorTypeForbidden, "spec.template.spec.activeDeadlineSeconds"}},
		},
		{
			name: "maxSurge may not be set when maxUnavailable is non-zero",
			mutate: func(ds *appsv1.DaemonSet) {
				ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromString("10%"))
			},
			want: []wantErr{{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate.maxSurge"}},
		},
		{
			name: "maxUnavailable and maxSurge may not both be zero",
			mutate: func(ds *appsv1.DaemonSet) {
				ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(0))
			},
			want: []wantErr{{field.ErrorTypeRequired, "spec.updateStrategy.rollingUpdate.maxUnavailable"}},
		},
		{
			name: "a surge above 100% is invalid",
			mutate: func(ds *appsv1.DaemonSet) {
				ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(0))
				ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromString("101%"))
			},
			want: []wantErr{{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate.maxSurge"}},
		},
		{
			name:   "a rolling update without parameters is required",
			mutate: func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.RollingUpdate = nil },
			want:   []wantErr{{field.ErrorTypeRequired, "spec.updateStrategy.rollingUpdate"}},
		},
		{
			name:   "an unknown update strategy is not supported",
			mutate: func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.Type = "Surge" },
			want:   []wantErr{{field.ErrorTypeNotSupported, "spec.updateStrategy"}},
		},
		{
			name:   "a negative revisionHistoryLimit is invalid",
			mutate: func(ds *appsv1.DaemonSet) { ds.Spec.RevisionHistoryLimit = ptr.To[int32](-1) },
			want:   []wantErr{{field.ErrorTypeInvalid, "spec.revisionHistoryLimit"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ds := testDaemonSet()
			tc.mutate(ds)
			expectErrors(t, daemonSetStrategy{}.Validate(t.Context(), ds), tc.want...)
		})
	}
}

func TestDaemonSetUpdate(t *testing.T) {
	t.Parallel()
	t.Run("changing the selector is rejected as immutable", func(t *testing.T) {
		t.Parallel()
		old, ds := testDaemonSet(), testDaemonSet()
		ds.Spec.Selector.MatchLabels["role"] = "node"
		ds.Spec.Template.Labels["role"] = "node"
		errs := daemonSetStrategy{}.ValidateUpdate(t.Context(), ds, old)
		expectErrors(t, errs, wantErr{field.ErrorTypeInvalid, "spec.selector"})
		expectDetail(t, errs, "spec.selector", "field is immutable")
	})
	t.Run("creation starts the template generation at 1", func(t *testing.T) {
		t.Parallel()
		ds := testDaemonSet()
		ds.Status.NumberReady = 3
		daemonSetStrategy{}.PrepareForCreate(t.Context(), ds)
		if got := ds.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "1" || ds.Status.NumberReady != 0 {
			t.Errorf("template generation = %q, status = %+v", got, ds.Status)
		}
	})
	t.Run("a template change bumps the template generation and clients cannot set it", func(t *testing.T) {
		t.Parallel()
		old := testDaemonSet()
		daemonSetStrategy{}.PrepareForCreate(t.Context(), old)
		ds := old.DeepCopy()
		ds.Annotations[appsv1.DeprecatedTemplateGeneration] = "40"
		daemonSetStrategy{}.PrepareForUpdate(t.Context(), ds, old)
		if got := ds.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "1" {
			t.Errorf("template generation = %q after an update without template change, want 1", got)
		}
		ds.Spec.Template.Spec.Containers[0].Image = "nginx:2"
		daemonSetStrategy{}.PrepareForUpdate(t.Context(), ds, old)
		if got := ds.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "2" {
			t.Errorf("template generation = %q after a template change, want 2", got)
		}
	})
	t.Run("a status update validates counters and keeps the spec", func(t *testing.T) {
		t.Parallel()
		old := testDaemonSet()
		ds := old.DeepCopy()
		ds.Spec.MinReadySeconds = 30
		ds.Status.NumberReady = -1
		daemonSetStrategy{}.PrepareForStatusUpdate(t.Context(), ds, old)
		if ds.Spec.MinReadySeconds != 0 {
			t.Errorf("spec changed by a status update: %+v", ds.Spec)
		}
		expectErrors(t, daemonSetStrategy{}.ValidateStatusUpdate(t.Context(), ds, old), wantErr{field.ErrorTypeInvalid, "status.numberReady"})
	})
}

func TestDaemonSetTable(t *testing.T) {
	t.Parallel()
	r := resourceByPlural(t, "daemonsets")
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ds := testDaemonSet()
	ds.CreationTimestamp = metav1.NewTime(now.Add(-10 * time.Minute))
	ds.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	ds.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 1, NumberAvailable: 2}

	want := []any{"agent", int64(3), int64(3), int64(2), int64(1), int64(2), "kubernetes.io/os=linux", "10m", "web", "nginx:1.27", "app=web"}
	if got := r.Table.Row(ds, now); !reflect.DeepEqual(got, want) {
		t.Errorf("row = %#v, want %#v", got, want)
	}
	ds.Spec.Template.Spec.NodeSelector = nil
	if got := r.Table.Row(ds, now)[6]; got != "<none>" {
		t.Errorf("node selector cell = %v, want <none>", got)
	}
	if r.Scale != nil || !reflect.DeepEqual(r.ShortNames, []string{"ds"}) {
		t.Errorf("identity = %+v", r)
	}
	var wide []string
	for _, c := range r.Table.Columns {
		if c.Priority == 1 {
			wide = append(wide, c.Name)
		}
	}
	if !reflect.DeepEqual(wide, []string{"Containers", "Images", "Selector"}) {
		t.Errorf("wide columns = %v", wide)
	}
}
