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

func testDeployment() *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       appsv1.DeploymentSpec{Selector: testSelector(), Template: testTemplate()},
	}
	deploymentStrategy{}.Default(d)
	return d
}

func TestDeploymentDefaults(t *testing.T) {
	t.Parallel()
	t.Run("an empty deployment gets one replica, a 25% rolling update, 10 revisions and a 600s deadline", func(t *testing.T) {
		t.Parallel()
		d := &appsv1.Deployment{}
		deploymentStrategy{}.Default(d)
		d.Spec.Template = corev1.PodTemplateSpec{} // pod defaults belong to package core
		want := appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromString("25%")),
					MaxSurge:       ptr.To(intstr.FromString("25%")),
				},
			},
			RevisionHistoryLimit:    ptr.To[int32](10),
			ProgressDeadlineSeconds: ptr.To[int32](600),
		}
		if !reflect.DeepEqual(d.Spec, want) {
			t.Errorf("defaulted spec = %+v, want %+v", d.Spec, want)
		}
	})
	t.Run("a Recreate deployment gets no rolling update parameters", func(t *testing.T) {
		t.Parallel()
		d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
		deploymentStrategy{}.Default(d)
		if d.Spec.Strategy.RollingUpdate != nil {
			t.Errorf("rollingUpdate = %+v, want nil", d.Spec.Strategy.RollingUpdate)
		}
	})
	t.Run("explicit values are kept", func(t *testing.T) {
		t.Parallel()
		d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Strategy: appsv1.DeploymentStrategy{RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ptr.To(intstr.FromInt32(2))}},
		}}
		deploymentStrategy{}.Default(d)
		if *d.Spec.Replicas != 0 || d.Spec.Strategy.RollingUpdate.MaxSurge.IntValue() != 2 {
			t.Errorf("explicit values overwritten: %+v", d.Spec)
		}
		if d.Spec.Strategy.RollingUpdate.MaxUnavailable.StrVal != "25%" {
			t.Errorf("maxUnavailable = %v, want 25%%", d.Spec.Strategy.RollingUpdate.MaxUnavailable)
		}
	})
}

var deploymentValidateCases = []struct {
	name   string
	mutate func(*appsv1.Deployment)
	want   []wantErr
}{
	{name: "a complete deployment is valid", mutate: func(*appsv1.Deployment) {}},
	{
		name:   "a missing selector is required and matches no template",
		mutate: func(d *appsv1.Deployment) { d.Spec.Selector = nil },
		want:   []wantErr{{field.ErrorTypeRequired, "spec.selector"}, {field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
	},
	{
		name:   "an empty selector is invalid",
		mutate: func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.selector"}},
	},
	{
		name:   "a selector that does not match the template labels is invalid",
		mutate: func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "db"} },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
	},
	{
		name:   "negative replicas are invalid",
		mutate: func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](-1) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.replicas"}},
	},
	{
		name:   "a template that does not restart Always is not supported",
		mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
		want:   []wantErr{{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"}},
	},
	{
		name:   "a template with activeDeadlineSeconds is forbidden",
		mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](10) },
		want:   []wantErr{{field.ErrorTypeForbidden, "spec.template.spec.activeDeadlineSeconds"}},
	},
	{
		name: "maxSurge and maxUnavailable may not both be zero",
		mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromInt32(0))
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromString("0%"))
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.strategy.rollingUpdate.maxUnavailable"}},
	},
	{
		name: "maxUnavailable above 100% is invalid",
		mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromString("150%"))
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.strategy.rollingUpdate.maxUnavailable"}},
	},
	{
		name:   "a malformed percentage is invalid",
		mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromString("lots")) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.strategy.rollingUpdate.maxSurge"}},
	},
	{
		name:   "a negative maxSurge is invalid",
		mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromInt32(-1)) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.strategy.rollingUpdate.maxSurge"}},
	},
	{
		name:   "Recreate forbids rolling update parameters",
		mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType },
		want:   []wantErr{{field.ErrorTypeForbidden, "spec.strategy.rollingUpdate"}},
	},
	{
		name:   "an unknown strategy type is not supported",
		mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" },
		want:   []wantErr{{field.ErrorTypeNotSupported, "spec.strategy"}},
	},
	{
		name:   "negative minReadySeconds are invalid",
		mutate: func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = -5 },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.minReadySeconds"}},
	},
	{
		name: "progressDeadlineSeconds must exceed minReadySeconds",
		mutate: func(d *appsv1.Deployment) {
			d.Spec.MinReadySeconds = 600
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.progressDeadlineSeconds"}},
	},
	{
		name:   "a negative revisionHistoryLimit is invalid",
		mutate: func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = ptr.To[int32](-1) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.revisionHistoryLimit"}},
	},
}

func TestDeploymentValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range deploymentValidateCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := testDeployment()
			tc.mutate(d)
			expectErrors(t, deploymentStrategy{}.Validate(t.Context(), d), tc.want...)
		})
	}
}

func TestDeploymentMessages(t *testing.T) {
	t.Parallel()
	t.Run("the empty selector message names deployments", func(t *testing.T) {
		t.Parallel()
		d := testDeployment()
		d.Spec.Selector = &metav1.LabelSelector{}
		expectDetail(t, deploymentStrategy{}.Validate(t.Context(), d), "spec.selector", "empty selector is invalid for deployment")
	})
	t.Run("the zero rollout message points at maxSurge", func(t *testing.T) {
		t.Parallel()
		d := testDeployment()
		d.Spec.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromInt32(0))
		d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(0))
		expectDetail(t, deploymentStrategy{}.Validate(t.Context(), d), "spec.strategy.rollingUpdate.maxUnavailable", "may not be 0 when `maxSurge` is 0")
	})
}

func TestDeploymentValidateUpdate(t *testing.T) {
	t.Parallel()
	t.Run("changing the selector is rejected as immutable", func(t *testing.T) {
		t.Parallel()
		old := testDeployment()
		d := testDeployment()
		d.Spec.Selector.MatchLabels["tier"] = "front"
		d.Spec.Template.Labels["tier"] = "front"
		errs := deploymentStrategy{}.ValidateUpdate(t.Context(), d, old)
		expectErrors(t, errs, wantErr{field.ErrorTypeInvalid, "spec.selector"})
		expectDetail(t, errs, "spec.selector", "field is immutable")
	})
	t.Run("scaling and changing the template are allowed", func(t *testing.T) {
		t.Parallel()
		old := testDeployment()
		d := testDeployment()
		d.Spec.Replicas = ptr.To[int32](5)
		d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
		expectErrors(t, deploymentStrategy{}.ValidateUpdate(t.Context(), d, old))
	})
	t.Run("an update must still pass the create checks", func(t *testing.T) {
		t.Parallel()
		old := testDeployment()
		d := testDeployment()
		d.Spec.Replicas = ptr.To[int32](-3)
		expectErrors(t, deploymentStrategy{}.ValidateUpdate(t.Context(), d, old), wantErr{field.ErrorTypeInvalid, "spec.replicas"})
	})
}

func TestDeploymentStatusSplit(t *testing.T) {
	t.Parallel()
	t.Run("an update keeps the stored status and bumps the generation on annotation changes", func(t *testing.T) {
		t.Parallel()
		old := testDeployment()
		old.Generation = 3
		old.Status.Replicas = 2
		d := old.DeepCopy()
		d.Status.Replicas = 9
		d.Annotations = map[string]string{"note": "x"}
		deploymentStrategy{}.PrepareForUpdate(t.Context(), d, old)
		if d.Status.Replicas != 2 {
			t.Errorf("status.replicas = %d, want the stored 2", d.Status.Replicas)
		}
		if d.Generation != 4 {
			t.Errorf("generation = %d, want 4", d.Generation)
		}
	})
	t.Run("a status update keeps the stored spec", func(t *testing.T) {
		t.Parallel()
		old := testDeployment()
		d := old.DeepCopy()
		d.Spec.Replicas = ptr.To[int32](7)
		d.Status.ReadyReplicas = 1
		deploymentStrategy{}.PrepareForStatusUpdate(t.Context(), d, old)
		if *d.Spec.Replicas != 1 || d.Status.ReadyReplicas != 1 {
			t.Errorf("spec.replicas = %d status.readyReplicas = %d, want 1 and 1", *d.Spec.Replicas, d.Status.ReadyReplicas)
		}
	})
}

func TestDeploymentValidateStatusUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status, old appsv1.DeploymentStatus
		want        []wantErr
	}{
		{name: "consistent counters are valid", status: appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, UpdatedReplicas: 3}},
		{
			name:   "ready replicas may not exceed replicas",
			status: appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 2},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.readyReplicas"}},
		},
		{
			name:   "available replicas may not exceed ready replicas",
			status: appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 1, AvailableReplicas: 2},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.availableReplicas"}},
		},
		{
			name:   "negative counters are invalid",
			status: appsv1.DeploymentStatus{UnavailableReplicas: -1},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.unavailableReplicas"}},
		},
		{
			name:   "the collision count may not decrease",
			status: appsv1.DeploymentStatus{CollisionCount: ptr.To[int32](1)},
			old:    appsv1.DeploymentStatus{CollisionCount: ptr.To[int32](2)},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.collisionCount"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, old := testDeployment(), testDeployment()
			d.Status, old.Status = tc.status, tc.old
			expectErrors(t, deploymentStrategy{}.ValidateStatusUpdate(t.Context(), d, old), tc.want...)
		})
	}
}

func TestDeploymentTable(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	d := testDeployment()
	d.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Hour))
	d.Spec.Replicas = ptr.To[int32](3)
	d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "busybox"})
	d.Status = appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 1}

	table := resourceByPlural(t, "deployments").Table
	var names []string
	for _, c := range table.Columns {
		if c.Priority == 0 {
			names = append(names, c.Name)
		}
	}
	if want := []string{"Name", "Ready", "Up-to-date", "Available", "Age"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns = %v, want %v", names, want)
	}
	got := table.Row(d, now)
	want := []any{"web", "2/3", int64(3), int64(1), "3h", "web,sidecar", "nginx:1.27,busybox", "app=web"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("row = %#v, want %#v", got, want)
	}
	if len(got) != len(table.Columns) {
		t.Errorf("row has %d cells for %d columns", len(got), len(table.Columns))
	}
}

func TestDeploymentResource(t *testing.T) {
	t.Parallel()
	r := resourceByPlural(t, "deployments")
	if !reflect.DeepEqual(r.ShortNames, []string{"deploy"}) || !reflect.DeepEqual(r.Categories, []string{"all"}) || !r.Status {
		t.Errorf("identity = %+v", r)
	}
	t.Run("scale reads spec and status replicas and the selector", func(t *testing.T) {
		t.Parallel()
		d := testDeployment()
		d.Status.Replicas = 4
		spec, status, sel := r.Scale.Replicas(d)
		if spec != 1 || status != 4 || sel != "app=web" {
			t.Errorf("scale = %d %d %q", spec, status, sel)
		}
		r.Scale.SetReplicas(d, 6)
		if *d.Spec.Replicas != 6 {
			t.Errorf("replicas = %d after scaling to 6", *d.Spec.Replicas)
		}
	})
}
