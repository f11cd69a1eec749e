package apiserver

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"

	"capstan/internal/auth/serviceaccount"
)

const (
	// tokenMountPath is where pods find their API credentials (rest.InClusterConfig).
	tokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// tokenVolumePrefix starts the name of the projected volume the plugin adds.
	tokenVolumePrefix = "kube-api-access-"
	// rootCAConfigMap is published in every namespace by the root CA publisher.
	rootCAConfigMap = "kube-root-ca.crt"
	// mirrorPodAnnotation marks the API copies of static pods, which the plugin leaves alone.
	mirrorPodAnnotation = "kubernetes.io/config.mirror"
)

// admitServiceAccountToken is the ServiceAccount plugin's token mount on pod creation:
// unless the pod or its service account opts out (automountServiceAccountToken: false),
// every container and init container without a mount of its own there gets a projected
// kube-api-access-xxxxx volume at /var/run/secrets/kubernetes.io/serviceaccount, holding a
// bound token the kubelet requests and refreshes, the cluster CA and the namespace.
//
// Unlike upstream, a service account that does not exist (yet) does not refuse the pod:
// the account controller creates "default" moments after its namespace, and the kubelet
// retries the token until the account exists.
func (s *Server) admitServiceAccountToken(ctx context.Context, pod *corev1.Pod) error {
	if _, mirror := pod.Annotations[mirrorPodAnnotation]; mirror || s.tokenIssuer == nil {
		return nil
	}
	automount := pod.Spec.AutomountServiceAccountToken
	if automount == nil {
		sa, err := storeGetter{s: s}.GetServiceAccount(ctx, pod.Namespace, pod.Spec.ServiceAccountName)
		switch {
		case err == nil:
			automount = sa.AutomountServiceAccountToken
		case !apierrors.IsNotFound(err):
			return err
		}
	}
	if automount != nil && !*automount {
		return nil
	}
	mountServiceAccountToken(pod, tokenVolumePrefix+utilrand.String(5))
	return nil
}

// mountServiceAccountToken adds the token volume (or reuses one the pod already has) and
// mounts it read-only in every container that has nothing at the token path.
func mountServiceAccountToken(pod *corev1.Pod, newName string) {
	name, exists := newName, false
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, tokenVolumePrefix) {
			name, exists = v.Name, true
			break
		}
	}
	mount := corev1.VolumeMount{Name: name, ReadOnly: true, MountPath: tokenMountPath}
	needed := false
	for _, containers := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range containers {
			if !hasMountAt(containers[i].VolumeMounts, tokenMountPath) {
				containers[i].VolumeMounts = append(containers[i].VolumeMounts, mount)
				needed = true
			}
		}
	}
	if needed && !exists {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: tokenVolumeSource()}})
	}
}

func hasMountAt(mounts []corev1.VolumeMount, path string) bool {
	for _, m := range mounts {
		if m.MountPath == path {
			return true
		}
	}
	return false
}

// tokenVolumeSource is upstream's kube-api-access volume: a token of the kubelet's
// lifetime (3607 s, extended by the server), the CA bundle and the namespace.
func tokenVolumeSource() *corev1.ProjectedVolumeSource {
	return &corev1.ProjectedVolumeSource{
		DefaultMode: ptr.To(corev1.ProjectedVolumeSourceDefaultMode),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](serviceaccount.WarnOnlyExpirationSeconds)}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: rootCAConfigMap},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}
}
