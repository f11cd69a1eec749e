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

func testStatefulSet() *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
		Spec: appsv1.StatefulSetSpec{
			Selector:    testSelector(),
			Template:    testTemplate(),
			ServiceName: "db",
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec:       corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
			}},
		},
	}
	statefulSetStrategy{}.Default(s)
	return s
}

func TestStatefulSetDefaults(t *testing.T) {
	t.Parallel()
	t.Run("an empty stateful set gets OrderedReady pods, a rolling update from partition 0 and Retain claims", func(t *testing.T) {
		t.Parallel()
		s := &appsv1.StatefulSet{}
		statefulSetStrategy{}.Default(s)
		s.Spec.Template = corev1.PodTemplateSpec{} // pod defaults belong to package core
		want := appsv1.StatefulSetSpec{
			Replicas:            ptr.To[int32](1),
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{
					Partition:      ptr.To[int32](0),
					MaxUnavailable: ptr.To(intstr.FromInt32(1)),
				},
			},
			RevisionHistoryLimit: ptr.To[int32](10),
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
		}
		if !reflect.DeepEqual(s.Spec, want) {
			t.Errorf("defaulted spec = %+v, want %+v", s.Spec, want)
		}
	})
	t.Run("claim templates get the Filesystem volume mode and the Pending phase", func(t *testing.T) {
		t.Parallel()
		pvc := testStatefulSet().Spec.VolumeClaimTemplates[0]
		if pvc.Spec.VolumeMode == nil || *pvc.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || pvc.Status.Phase != corev1.ClaimPending {
			t.Errorf("claim template = %+v", pvc)
		}
	})
	t.Run("an OnDelete stateful set gets no rolling update parameters", func(t *testing.T) {
		t.Parallel()
		s := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}}}
		statefulSetStrategy{}.Default(s)
		if s.Spec.UpdateStrategy.RollingUpdate != nil {
			t.Errorf("rollingUpdate = %+v, want nil", s.Spec.UpdateStrategy.RollingUpdate)
		}
	})
}

var statefulSetValidateCases = []struct {
	name   string
	mutate func(*appsv1.StatefulSet)
	want   []wantErr
}{
	{name: "a complete stateful set is valid", mutate: func(*appsv1.StatefulSet) {}},
	{
		name:   "an unknown pod management policy is invalid",
		mutate: func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "Sometimes" },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.podManagementPolicy"}},
	},
	{
		name:   "a missing update strategy type is required",
		mutate: func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.Type = "" },
		want:   []wantErr{{field.ErrorTypeRequired, "spec.updateStrategy"}},
	},
	{
		name:   "OnDelete does not allow rolling update parameters",
		mutate: func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate"}},
	},
	{
		name:   "a negative partition is invalid",
		mutate: func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](-1) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate.partition"}},
	},
	{
		name: "maxUnavailable may not be zero",
		mutate: func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromString("0%"))
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate.maxUnavailable"}},
	},
	{
		name: "an unknown claim retention policy is not supported",
		mutate: func(s *appsv1.StatefulSet) {
			s.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = "Archive"
		},
		want: []wantErr{{field.ErrorTypeNotSupported, "spec.persistentVolumeClaimRetentionPolicy.whenScaled"}},
	},
	{
		name:   "a negative start ordinal is invalid",
		mutate: func(s *appsv1.StatefulSet) { s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: -1} },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.ordinals.start"}},
	},
	{
		name:   "an empty selector is invalid",
		mutate: func(s *appsv1.StatefulSet) { s.Spec.Selector = &metav1.LabelSelector{} },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.selector"}},
	},
	{
		name:   "a template the selector does not match is invalid",
		mutate: func(s *appsv1.StatefulSet) { s.Spec.Template.Labels = map[string]string{"app": "other"} },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
	},
	{
		name: "invalid template labels are reported where upstream reports them",
		mutate: func(s *appsv1.StatefulSet) {
			s.Spec.Template.Labels["bad key!"] = "x"
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.template.labels"}},
	},
	{
		name:   "a template that restarts OnFailure is not supported",
		mutate: func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
		want:   []wantErr{{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"}},
	},
	{
		name:   "negative replicas are invalid",
		mutate: func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](-1) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.replicas"}},
	},
}

func TestStatefulSetValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range statefulSetValidateCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testStatefulSet()
			tc.mutate(s)
			expectErrors(t, statefulSetStrategy{}.Validate(t.Context(), s), tc.want...)
		})
	}
}

func TestStatefulSetValidateUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*appsv1.StatefulSet)
		want   []wantErr
	}{
		{
			name: "replicas, ordinals, template, update strategy, history, retention and minReadySeconds may change",
			mutate: func(s *appsv1.StatefulSet) {
				s.Spec.Replicas = ptr.To[int32](5)
				s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 3}
				s.Spec.Template.Spec.Containers[0].Image = "postgres:17"
				s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](2)
				s.Spec.RevisionHistoryLimit = ptr.To[int32](3)
				s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
				s.Spec.MinReadySeconds = 10
			},
		},
		{
			name:   "the service name may not change",
			mutate: func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "db-headless" },
			want:   []wantErr{{field.ErrorTypeForbidden, "spec"}},
		},
		{
			name:   "claim templates may not change",
			mutate: func(s *appsv1.StatefulSet) { s.Spec.VolumeClaimTemplates[0].Name = "storage" },
			want:   []wantErr{{field.ErrorTypeForbidden, "spec"}},
		},
		{
			name:   "the pod management policy may not change",
			mutate: func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement },
			want:   []wantErr{{field.ErrorTypeForbidden, "spec"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			old, s := testStatefulSet(), testStatefulSet()
			tc.mutate(s)
			expectErrors(t, statefulSetStrategy{}.ValidateUpdate(t.Context(), s, old), tc.want...)
		})
	}
	t.Run("the forbidden message lists the fields that may change", func(t *testing.T) {
		t.Parallel()
		old, s := testStatefulSet(), testStatefulSet()
		s.Spec.ServiceName = "other"
		expectDetail(t, statefulSetStrategy{}.ValidateUpdate(t.Context(), s, old), "spec",
			"updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "+
				"'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
	})
}

func TestStatefulSetValidateStatusUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status, old appsv1.StatefulSetStatus
		want        []wantErr
	}{
		{name: "consistent counters are valid", status: appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 2, CurrentReplicas: 3}},
		{
			name:   "current replicas may not exceed replicas",
			status: appsv1.StatefulSetStatus{Replicas: 1, CurrentReplicas: 2},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.currentReplicas"}},
		},
		{
			name:   "available replicas may not exceed ready replicas",
			status: appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 1, AvailableReplicas: 2},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.availableReplicas"}},
		},
		{
			name:   "the collision count may not be removed",
			status: appsv1.StatefulSetStatus{},
			old:    appsv1.StatefulSetStatus{CollisionCount: ptr.To[int32](1)},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.collisionCount"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, old := testStatefulSet(), testStatefulSet()
			s.Status, old.Status = tc.status, tc.old
			expectErrors(t, statefulSetStrategy{}.ValidateStatusUpdate(t.Context(), s, old), tc.want...)
		})
	}
}

func TestStatefulSetResource(t *testing.T) {
	t.Parallel()
	r := resourceByPlural(t, "statefulsets")
	t.Run("a row shows ready of desired pods", func(t *testing.T) {
		t.Parallel()
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		s := testStatefulSet()
		s.CreationTimestamp = metav1.NewTime(now.Add(-49 * time.Hour))
		s.Spec.Replicas = ptr.To[int32](3)
		s.Status.ReadyReplicas = 1
		want := []any{"db", "1/3", "2d1h", "web", "nginx:1.27"}
		if got := r.Table.Row(s, now); !reflect.DeepEqual(got, want) {
			t.Errorf("row = %#v, want %#v", got, want)
		}
	})
	t.Run("names must be DNS labels because pods use them as hostnames", func(t *testing.T) {
		t.Parallel()
		if len(r.NameValidation("db-0", false)) != 0 {
			t.Error("db-0 rejected")
		}
		if len(r.NameValidation("db.example", false)) == 0 {
			t.Error("db.example accepted")
		}
	})
	t.Run("the resource is sts in category all with status and scale", func(t *testing.T) {
		t.Parallel()
		if !reflect.DeepEqual(r.ShortNames, []string{"sts"}) || !reflect.DeepEqual(r.Categories, []string{"all"}) || !r.Status || r.Scale == nil {
			t.Errorf("identity = %+v", r)
		}
	})
}
