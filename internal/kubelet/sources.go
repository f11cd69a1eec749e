package kubelet

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"capstan/internal/kubelet/envvars"
)

// apiSources reads ConfigMaps and Secrets for environment variables straight from the
// API (the node authorizer only lets a kubelet read those its pods use).
type apiSources struct{ client kubernetes.Interface }

func (s apiSources) ConfigMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	return s.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
}

func (s apiSources) Secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	return s.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}

func (k *Kubelet) sources() envvars.Sources { return apiSources{k.client} }

// services lists the services the service environment variables come from.
func (k *Kubelet) services() []*corev1.Service {
	if k.serviceLister == nil {
		return nil
	}
	list, _ := k.serviceLister.List(labels.Everything())
	return list
}
