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

// newRC returns a defaulted replication controller whose template runs nginx.
func newRC(mutate func(*corev1.ReplicationController)) *corev1.ReplicationController {
	rc := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: ago(time.Hour)},
		Spec: corev1.ReplicationControllerSpec{Template: &corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
		}},
	}
	if mutate != nil {
		mutate(rc)
	}
	rcStrategy{}.Default(rc)
	return rc
}

func TestReplicationControllerDefaults(t *testing.T) {
	t.Parallel()
	rc := newRC(nil)
	checks := []struct {
		name      string
		got, want any
	}{
		{"one replica", *rc.Spec.Replicas, int32(1)},
		{"the selector from the template labels", rc.Spec.Selector, map[string]string{"app": "web"}},
		{"its labels from the template labels", rc.Labels, map[string]string{"app": "web"}},
		{"the template's pod spec defaults", rc.Spec.Template.Spec.RestartPolicy, corev1.RestartPolicyAlways},
	}
	for _, c := range checks {
		t.Run("it gets "+c.name, func(t *testing.T) {
			t.Parallel()
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
	t.Run("an explicit selector is kept", func(t *testing.T) {
		t.Parallel()
		rc := newRC(func(rc *corev1.ReplicationController) { rc.Spec.Selector = map[string]string{"tier": "x"} })
		if rc.Spec.Selector["tier"] != "x" || len(rc.Spec.Selector) != 1 {
			t.Errorf("selector = %v", rc.Spec.Selector)
		}
	})
}

func TestReplicationControllerValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mutate func(*corev1.ReplicationController)
		want   []wantErr
	}{
		{"a defaulted controller", nil, nil},
		{"a selector the template does not match", func(rc *corev1.ReplicationController) { rc.Spec.Selector = map[string]string{"app": "db"} },
			[]wantErr{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}}},
		{"no template", func(rc *corev1.ReplicationController) { rc.Spec.Template = nil },
			[]wantErr{{field.ErrorTypeRequired, "spec.selector"}, {field.ErrorTypeRequired, "spec.template"}}},
		{"a template that does not restart", func(rc *corev1.ReplicationController) {
			rc.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		},
			[]wantErr{{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"}}},
		{"a negative replica count", func(rc *corev1.ReplicationController) { rc.Spec.Replicas = ptr.To[int32](-1) },
			[]wantErr{{field.ErrorTypeInvalid, "spec.replicas"}}},
		{"an active deadline", func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](5) },
			[]wantErr{{field.ErrorTypeForbidden, "spec.template.spec.activeDeadlineSeconds"}}},
		{"a template container without image", func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.Containers[0].Image = "" },
			[]wantErr{{field.ErrorTypeRequired, "spec.template.spec.containers[0].image"}}},
	}
	for _, tc := range cases {
		t.Run("validation of "+tc.name, func(t *testing.T) {
			t.Parallel()
			rc := newRC(tc.mutate)
			assertErrs(t, rcStrategy{}.Validate(t.Context(), rc), tc.want...)
			assertErrs(t, rcStrategy{}.ValidateUpdate(t.Context(), rc, newRC(nil)), tc.want...)
		})
	}
}

func TestReplicationControllerStatus(t *testing.T) {
	t.Parallel()
	t.Run("a create clears status and an update keeps it", func(t *testing.T) {
		t.Parallel()
		rc := newRC(func(rc *corev1.ReplicationController) { rc.Status.Replicas = 3 })
		s := rcStrategy{}
		s.PrepareForCreate(t.Context(), rc)
		if rc.Status.Replicas != 0 {
			t.Errorf("status kept on create")
		}
		old := rc.DeepCopy()
		old.Status.Replicas = 2
		s.PrepareForUpdate(t.Context(), rc, old)
		if rc.Status.Replicas != 2 {
			t.Errorf("status replicas = %d", rc.Status.Replicas)
		}
	})
	cases := []struct {
		name   string
		status corev1.ReplicationControllerStatus
		want   []wantErr
	}{
		{"consistent counts", corev1.ReplicationControllerStatus{Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 2}, nil},
		{"more ready than replicas", corev1.ReplicationControllerStatus{Replicas: 1, ReadyReplicas: 2},
			[]wantErr{{field.ErrorTypeInvalid, "status.readyReplicas"}}},
		{"more available than ready", corev1.ReplicationControllerStatus{Replicas: 3, ReadyReplicas: 1, AvailableReplicas: 2},
			[]wantErr{{field.ErrorTypeInvalid, "status.availableReplicas"}}},
		{"negative replicas, which the other counts then exceed", corev1.ReplicationControllerStatus{Replicas: -1},
			[]wantErr{
				{field.ErrorTypeInvalid, "status.replicas"}, {field.ErrorTypeInvalid, "status.fullyLabeledReplicas"},
				{field.ErrorTypeInvalid, "status.readyReplicas"}, {field.ErrorTypeInvalid, "status.availableReplicas"},
			}},
	}
	for _, tc := range cases {
		t.Run("a status with "+tc.name, func(t *testing.T) {
			t.Parallel()
			rc := newRC(nil)
			rc.Status = tc.status
			assertErrs(t, rcStrategy{}.ValidateStatusUpdate(t.Context(), rc, newRC(nil)), tc.want...)
		})
	}
}

func TestReplicationControllerScaleTableAndFields(t *testing.T) {
	t.Parallel()
	rc := newRC(func(rc *corev1.ReplicationController) {
		rc.Spec.Replicas = ptr.To[int32](3)
		rc.Status = corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 1}
	})
	t.Run("scale reads spec, status and the selector", func(t *testing.T) {
		t.Parallel()
		spec, status, sel := rcScale.Replicas(rc)
		if spec != 3 || status != 2 || sel != "app=web" {
			t.Errorf("scale = %d %d %q", spec, status, sel)
		}
		c := rc.DeepCopy()
		rcScale.SetReplicas(c, 5)
		if *c.Spec.Replicas != 5 {
			t.Errorf("replicas = %d", *c.Spec.Replicas)
		}
	})
	t.Run("the row shows counts, containers and selector", func(t *testing.T) {
		t.Parallel()
		want := []any{"web", int64(3), int64(2), int64(1), "60m", "app", "nginx:1.27", "app=web"}
		if got := rcTable.Row(rc, tableNow); !reflect.DeepEqual(got, want) {
			t.Errorf("row = %#v", got)
		}
	})
	t.Run("the field set holds status.replicas", func(t *testing.T) {
		t.Parallel()
		if got := rcFields(rc); len(got) != 1 || got["status.replicas"] != "2" {
			t.Errorf("fields = %v", got)
		}
	})
}

func TestPodTemplates(t *testing.T) {
	t.Parallel()
	tmpl := func() *corev1.PodTemplate {
		pt := &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: "t"}, Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
		}}
		podTemplateStrategy{}.Default(pt)
		return pt
	}
	s := podTemplateStrategy{}
	t.Run("its template is defaulted and valid", func(t *testing.T) {
		t.Parallel()
		pt := tmpl()
		if pt.Template.Spec.DNSPolicy != corev1.DNSClusterFirst {
			t.Errorf("template not defaulted")
		}
		assertErrs(t, s.Validate(t.Context(), pt))
	})
	t.Run("template errors are reported under template", func(t *testing.T) {
		t.Parallel()
		pt := tmpl()
		pt.Template.Spec.Containers = nil
		assertErrs(t, s.ValidateUpdate(t.Context(), pt, tmpl()), wantErr{field.ErrorTypeRequired, "template.spec.containers"})
	})
	t.Run("the generation starts at 1 and grows when the template changes", func(t *testing.T) {
		t.Parallel()
		old := tmpl()
		s.PrepareForCreate(t.Context(), old)
		same, changed := old.DeepCopy(), old.DeepCopy()
		changed.Template.Spec.Containers[0].Image = "nginx:1.28"
		s.PrepareForUpdate(t.Context(), same, old)
		s.PrepareForUpdate(t.Context(), changed, old)
		if old.Generation != 1 || same.Generation != 1 || changed.Generation != 2 {
			t.Errorf("generations = %d %d %d", old.Generation, same.Generation, changed.Generation)
		}
	})
}
