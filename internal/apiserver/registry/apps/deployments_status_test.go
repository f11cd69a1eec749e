package apps

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestDeploymentStatusUpdateKeepsSpecAndLabelsButTakesAnnotations(t *testing.T) {
	t.Parallel()
	old := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "1"}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1)}}
	obj := old.DeepCopy()
	obj.Labels["a"] = "2"
	obj.Annotations = map[string]string{"deployment.kubernetes.io/revision": "3"}
	obj.Spec.Replicas = ptr.To[int32](5)
	obj.Status.Replicas = 4
	deploymentStrategy{}.PrepareForStatusUpdate(t.Context(), obj, old)
	if *obj.Spec.Replicas != 1 || obj.Labels["a"] != "1" {
		t.Errorf("spec or labels changed through /status: replicas %d labels %v", *obj.Spec.Replicas, obj.Labels)
	}
	if obj.Annotations["deployment.kubernetes.io/revision"] != "3" || obj.Status.Replicas != 4 {
		t.Errorf("annotations or status lost: %v %d", obj.Annotations, obj.Status.Replicas)
	}
}
