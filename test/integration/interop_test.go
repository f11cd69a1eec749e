package integration

import (
	"bytes"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
)

// TestIntegrationEtcdInterop writes through Capstan and reads the raw etcd values with the
// upstream protobuf codec: keys and encoding are what an upstream kube-apiserver expects.
func TestIntegrationEtcdInterop(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "interop", Labels: map[string]string{"app": "x"}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}}}},
	}
	created, err := s.Client.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	codec := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	for _, tc := range []struct {
		key   string
		check func(t *testing.T, obj any)
	}{
		{"/registry/deployments/default/interop", func(t *testing.T, obj any) {
			got, ok := obj.(*appsv1.Deployment)
			if !ok {
				t.Fatalf("decoded a %T, want *appsv1.Deployment", obj)
			}
			if got.UID != created.UID || *got.Spec.Replicas != 3 || got.Spec.Template.Spec.Containers[0].Image != "img" {
				t.Errorf("stored deployment differs: uid %s replicas %d", got.UID, *got.Spec.Replicas)
			}
		}},
		{"/registry/services/specs/default/kubernetes", func(t *testing.T, obj any) {
			if svc, ok := obj.(*corev1.Service); !ok || svc.Spec.ClusterIP != "10.43.0.1" {
				t.Errorf("stored kubernetes service: %#v", obj)
			}
		}},
		{"/registry/namespaces/kube-system", func(t *testing.T, obj any) {
			if _, ok := obj.(*corev1.Namespace); !ok {
				t.Errorf("decoded a %T, want *corev1.Namespace", obj)
			}
		}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			resp, err := s.Etcd.Get(ctx, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Kvs) != 1 {
				t.Fatalf("%s: %d keys, want 1", tc.key, len(resp.Kvs))
			}
			value := resp.Kvs[0].Value
			if !bytes.HasPrefix(value, []byte("k8s\x00")) {
				t.Fatalf("%s: value lacks the k8s protobuf envelope: %q", tc.key, value[:min(len(value), 16)])
			}
			obj, _, err := codec.Decode(value, nil, nil)
			if err != nil {
				t.Fatalf("upstream codec cannot decode %s: %v", tc.key, err)
			}
			tc.check(t, obj)
		})
	}
}
