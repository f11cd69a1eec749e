package apiserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
	// mirrorPodAnnotation marks the API copies of static pods, which the plugin never changes.
	mirrorPodAnnotation = "kubernetes.io/config.mirror"
	// defaultServiceAccount is the account of pods that name none.
	defaultServiceAccount = "default"
	// defaultAccountAttempts reads of the "default" account, defaultAccountRetry apart,
	// before a pod naming it is refused (upstream: 10, 100-200 ms apart).
	defaultAccountAttempts = 10
	defaultAccountRetry    = 150 * time.Millisecond
)

// admitServiceAccount is the ServiceAccount admission plugin on pod creation, as upstream:
//   - a mirror pod (the API copy of a kubelet's static pod) is never changed, and is refused
//     when it names a service account, references a secret or projects a token: the kubelet
//     runs it without the API, so it may not borrow an account's credentials;
//   - any other pod defaults spec.serviceAccountName to "default" and is refused (403) when
//     that account does not exist in its namespace: controllers record FailedCreate and
//     retry, as they do upstream, until the account controller has made it;
//   - the pod takes the account's imagePullSecrets when it has none, and unless it or the
//     account opts out (automountServiceAccountToken: false) and a signing key issues
//     tokens, every container and init container without a mount of its own there gets a
//     projected kube-api-access-xxxxx volume at /var/run/secrets/kubernetes.io/serviceaccount,
//     holding a bound token the kubelet requests and refreshes, the cluster CA and the
//     namespace.
func (s *Server) admitServiceAccount(ctx context.Context, pod *corev1.Pod) error {
	return admitPodServiceAccount(ctx, pod, s.lookupServiceAccount, s.tokenIssuer != nil, tokenVolumePrefix+utilrand.String(5))
}

// serviceAccountGetter reads the service account ns/name; a missing one is a NotFound.
type serviceAccountGetter func(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error)

// admitPodServiceAccount is admitServiceAccount with its lookup and token volume name
// given: mount says whether tokens can be issued at all.
func admitPodServiceAccount(ctx context.Context, pod *corev1.Pod, get serviceAccountGetter, mount bool, volumeName string) error {
	forbidden := func(err error) error { return apierrors.NewForbidden(schemaGR("", "pods"), pod.Name, err) }
	if _, mirror := pod.Annotations[mirrorPodAnnotation]; mirror {
		if msg := mirrorPodReference(&pod.Spec); msg != "" {
			return forbidden(errors.New(msg))
		}
		return nil
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = defaultServiceAccount
	}
	// The deprecated alias mirrors the name, as upstream's v1 conversion writes it; left
	// empty, every later update of the pod would look like a spec change.
	pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	sa, err := get(ctx, pod.Namespace, pod.Spec.ServiceAccountName)
	if err != nil {
		return forbidden(fmt.Errorf("error looking up service account %s/%s: %w", pod.Namespace, pod.Spec.ServiceAccountName, err))
	}
	if len(pod.Spec.ImagePullSecrets) == 0 {
		for _, ref := range sa.ImagePullSecrets {
			pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: ref.Name})
		}
	}
	automount := pod.Spec.AutomountServiceAccountToken
	if automount == nil {
		automount = sa.AutomountServiceAccountToken
	}
	if mount && (automount == nil || *automount) {
		mountServiceAccountToken(pod, volumeName)
	}
	return nil
}

// mirrorPodReference is upstream's reason to refuse a mirror pod, or "".
func mirrorPodReference(spec *corev1.PodSpec) string {
	if spec.ServiceAccountName != "" {
		return "a mirror pod may not reference service accounts"
	}
	if referencesSecret(spec) {
		return "a mirror pod may not reference secrets"
	}
	for _, v := range spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken != nil {
				return "a mirror pod may not use ServiceAccountToken volume projections"
			}
		}
	}
	return ""
}

// referencesSecret reports whether the pod names any secret, where upstream's
// VisitPodSecretNames looks: pull secrets, containers' env and envFrom, and volumes.
func referencesSecret(spec *corev1.PodSpec) bool {
	named := func(name string) bool { return name != "" }
	ref := func(r *corev1.LocalObjectReference) bool { return r != nil && named(r.Name) }
	for _, s := range spec.ImagePullSecrets {
		if named(s.Name) {
			return true
		}
	}
	containers := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, e := range spec.EphemeralContainers {
		containers = append(containers, corev1.Container(e.EphemeralContainerCommon))
	}
	for _, c := range containers {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil && named(e.SecretRef.Name) {
				return true
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && named(e.ValueFrom.SecretKeyRef.Name) {
				return true
			}
		}
	}
	for _, v := range spec.Volumes {
		switch src := v.VolumeSource; {
		case src.Secret != nil && named(src.Secret.SecretName),
			src.AzureFile != nil && named(src.AzureFile.SecretName),
			src.CephFS != nil && ref(src.CephFS.SecretRef),
			src.Cinder != nil && ref(src.Cinder.SecretRef),
			src.FlexVolume != nil && ref(src.FlexVolume.SecretRef),
			src.RBD != nil && ref(src.RBD.SecretRef),
			src.ScaleIO != nil && ref(src.ScaleIO.SecretRef),
			src.ISCSI != nil && ref(src.ISCSI.SecretRef),
			src.StorageOS != nil && ref(src.StorageOS.SecretRef),
			src.CSI != nil && ref(src.CSI.NodePublishSecretRef):
			return true
		case src.Projected != nil:
			for _, p := range src.Projected.Sources {
				if p.Secret != nil && named(p.Secret.Name) {
					return true
				}
			}
		}
	}
	return false
}

// lookupServiceAccount reads an account for admission: from the watch cache, then
// consistently (it may be brand new). "default" is read again every defaultAccountRetry
// up to defaultAccountAttempts times, as upstream does: the account controller creates it
// moments after its namespace. A missing account is upstream's `serviceaccount "x" not
// found`.
func (s *Server) lookupServiceAccount(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	sa, err := storeGetter{s: s}.GetServiceAccount(ctx, ns, name)
	attempts := 1
	if name == defaultServiceAccount {
		attempts = defaultAccountAttempts
	}
	for i := 1; i < attempts && apierrors.IsNotFound(err); i++ {
		t := time.NewTimer(defaultAccountRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		sa, err = storeGetter{s: s, consistent: true}.GetServiceAccount(ctx, ns, name)
	}
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(schemaGR("", "serviceaccount"), name)
	}
	return sa, err
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
