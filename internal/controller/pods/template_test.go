package pods

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var rsKind = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}

func TestFromTemplateCopiesTheTemplateAndSetsTheControllerRef(t *testing.T) {
	t.Parallel()
	tmpl := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{"a": "b"},
			Finalizers:  []string{"example.com/keep"},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
	}
	owner := &metav1.ObjectMeta{Name: "web", UID: "u1"}
	pod := FromTemplate(tmpl, "web", NewControllerRef(owner, rsKind))
	if pod.GenerateName != "web-" {
		t.Errorf("generateName %q, want web-", pod.GenerateName)
	}
	if pod.Labels["app"] != "web" || pod.Annotations["a"] != "b" || pod.Finalizers[0] != "example.com/keep" {
		t.Errorf("metadata not copied: %+v", pod.ObjectMeta)
	}
	if len(pod.OwnerReferences) != 1 {
		t.Fatalf("ownerReferences %v, want one", pod.OwnerReferences)
	}
	ref := pod.OwnerReferences[0]
	if ref.APIVersion != "apps/v1" || ref.Kind != "ReplicaSet" || ref.Name != "web" || ref.UID != "u1" ||
		ref.Controller == nil || !*ref.Controller || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("ownerReference %+v, want controller and blockOwnerDeletion", ref)
	}
	pod.Labels["app"] = "changed"
	pod.Spec.Containers[0].Image = "changed"
	pod.Finalizers[0] = "changed"
	if tmpl.Labels["app"] != "web" || tmpl.Spec.Containers[0].Image != "nginx" || tmpl.Finalizers[0] != "example.com/keep" {
		t.Error("the pod shares memory with its template")
	}
}

func TestGenerateNamePrefix(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 300)
	for _, tc := range []struct{ name, want string }{
		{"web", "web-"},
		{long, long},
	} {
		if got := GenerateNamePrefix(tc.name); got != tc.want {
			t.Errorf("GenerateNamePrefix(%.10q...) = %.10q..., want %.10q...", tc.name, got, tc.want)
		}
	}
}
