package apiserver

import (
	"context"
	"net/http"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestMountServiceAccountToken(t *testing.T) {
	own := corev1.VolumeMount{Name: "mine", MountPath: tokenMountPath}
	tests := []struct {
		name string
		pod  corev1.PodSpec
		// wantVolume is the token volume's name ("" = none added); wantMounts the token
		// mounts of each init container, then each container.
		wantVolume string
		wantMounts []string
	}{
		{name: "every container mounts a new volume",
			pod:        corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i"}}, Containers: []corev1.Container{{Name: "a"}, {Name: "b"}}},
			wantVolume: "kube-api-access-new", wantMounts: []string{"kube-api-access-new", "kube-api-access-new", "kube-api-access-new"}},
		{name: "a container with its own mount there keeps it",
			pod:        corev1.PodSpec{Containers: []corev1.Container{{Name: "a", VolumeMounts: []corev1.VolumeMount{own}}, {Name: "b"}}},
			wantVolume: "kube-api-access-new", wantMounts: []string{"mine", "kube-api-access-new"}},
		{name: "no volume when no container needs it",
			pod:        corev1.PodSpec{Containers: []corev1.Container{{Name: "a", VolumeMounts: []corev1.VolumeMount{own}}}},
			wantMounts: []string{"mine"}},
		{name: "an existing token volume is reused",
			pod:        corev1.PodSpec{Volumes: []corev1.Volume{{Name: "kube-api-access-old"}}, Containers: []corev1.Container{{Name: "a"}}},
			wantMounts: []string{"kube-api-access-old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A copy: the plugin mounts into the containers the cases share.
			pod := &corev1.Pod{Spec: tt.pod}
			before := len(pod.Spec.Volumes)
			mountServiceAccountToken(pod, "kube-api-access-new")
			added := pod.Spec.Volumes[before:]
			switch {
			case tt.wantVolume == "" && len(added) != 0:
				t.Errorf("volumes added: %+v", added)
			case tt.wantVolume != "":
				if len(added) != 1 || added[0].Name != tt.wantVolume || added[0].Projected == nil || len(added[0].Projected.Sources) != 3 ||
					*added[0].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds != 3607 || *added[0].Projected.DefaultMode != 0o644 {
					t.Errorf("volumes added: %+v", added)
				}
			}
			var got []string
			for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
				for _, m := range c.VolumeMounts {
					if m.MountPath == tokenMountPath {
						got = append(got, m.Name)
						if m.Name != "mine" && !m.ReadOnly {
							t.Errorf("container %s mounts the token read-write", c.Name)
						}
					}
				}
			}
			if len(got) != len(tt.wantMounts) {
				t.Fatalf("token mounts %v, want %v", got, tt.wantMounts)
			}
			for i := range got {
				if got[i] != tt.wantMounts[i] {
					t.Errorf("token mounts %v, want %v", got, tt.wantMounts)
				}
			}
		})
	}
}

func TestAdmitPodServiceAccount(t *testing.T) {
	t.Parallel()
	accounts := map[string]*corev1.ServiceAccount{
		"ns1/default": {ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ns1"}},
		"ns1/builder": {ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: "ns1"},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry"}}},
		"ns1/quiet": {ObjectMeta: metav1.ObjectMeta{Name: "quiet", Namespace: "ns1"}, AutomountServiceAccountToken: ptr.To(false)},
	}
	mirror := map[string]string{mirrorPodAnnotation: "abc"}
	container := []corev1.Container{{Name: "c"}}
	tests := []struct {
		name        string
		annotations map[string]string
		spec        corev1.PodSpec
		mount       bool
		// wantErr is the Forbidden message ("" = admitted); wantAccount the account looked
		// up and left in the spec ("" = none); wantVolume whether a token volume is added.
		wantErr     string
		wantAccount string
		wantVolume  bool
		wantPull    []string
	}{
		{name: "a pod naming no account gets default and its token",
			spec: corev1.PodSpec{Containers: container}, mount: true, wantAccount: "default", wantVolume: true},
		{name: "a pod naming an existing account is admitted with its pull secrets",
			spec: corev1.PodSpec{ServiceAccountName: "builder", Containers: container}, mount: true,
			wantAccount: "builder", wantVolume: true, wantPull: []string{"registry"}},
		{name: "a pod's own pull secrets are kept",
			spec:  corev1.PodSpec{ServiceAccountName: "builder", Containers: container, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "mine"}}},
			mount: true, wantAccount: "builder", wantVolume: true, wantPull: []string{"mine"}},
		{name: "a pod naming a missing account is refused",
			spec: corev1.PodSpec{ServiceAccountName: "ghost", Containers: container}, mount: true,
			wantErr: `pods "web" is forbidden: error looking up service account ns1/ghost: serviceaccount "ghost" not found`},
		{name: "an account opting out of automount gets no token",
			spec: corev1.PodSpec{ServiceAccountName: "quiet", Containers: container}, mount: true, wantAccount: "quiet"},
		{name: "the pod's automount wins over its account's",
			spec: corev1.PodSpec{ServiceAccountName: "quiet", AutomountServiceAccountToken: ptr.To(true), Containers: container}, mount: true,
			wantAccount: "quiet", wantVolume: true},
		{name: "no token without a signing key, but the account must still exist",
			spec: corev1.PodSpec{Containers: container}, wantAccount: "default"},
		{name: "a mirror pod is admitted unchanged and nothing is looked up",
			annotations: mirror, spec: corev1.PodSpec{Containers: container}, mount: true},
		{name: "a mirror pod naming an account is refused",
			annotations: mirror, spec: corev1.PodSpec{ServiceAccountName: "default", Containers: container}, mount: true,
			wantErr: `pods "web" is forbidden: a mirror pod may not reference service accounts`},
		{name: "a mirror pod mounting a secret is refused",
			annotations: mirror, mount: true, spec: corev1.PodSpec{Containers: container, Volumes: []corev1.Volume{
				{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}}}},
			wantErr: `pods "web" is forbidden: a mirror pod may not reference secrets`},
		{name: "a mirror pod reading a secret into its environment is refused",
			annotations: mirror, mount: true, spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "E",
				ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}}}},
			wantErr: `pods "web" is forbidden: a mirror pod may not reference secrets`},
		{name: "a mirror pod projecting a token is refused",
			annotations: mirror, mount: true, spec: corev1.PodSpec{Containers: container, Volumes: []corev1.Volume{
				{Name: "t", VolumeSource: corev1.VolumeSource{Projected: tokenVolumeSource()}}}},
			wantErr: `pods "web" is forbidden: a mirror pod may not use ServiceAccountToken volume projections`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A copy: the plugin mounts into the containers the cases share.
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns1", Annotations: tt.annotations}, Spec: *tt.spec.DeepCopy()}
			var looked []string
			get := func(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
				looked = append(looked, name)
				if sa := accounts[ns+"/"+name]; sa != nil {
					return sa, nil
				}
				return nil, apierrors.NewNotFound(schemaGR("", "serviceaccount"), name)
			}
			err := admitPodServiceAccount(t.Context(), pod, get, tt.mount, "kube-api-access-new")
			if tt.wantErr != "" {
				if !apierrors.IsForbidden(err) || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want Forbidden %q", err, tt.wantErr)
				}
				if status := err.(apierrors.APIStatus).Status(); status.Code != http.StatusForbidden || status.Details.Kind != "pods" || status.Details.Name != "web" {
					t.Errorf("status = %+v", status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantAccount == "" && len(looked) > 0 {
				t.Errorf("looked up %v", looked)
			}
			if tt.wantAccount != "" && (len(looked) != 1 || looked[0] != tt.wantAccount) {
				t.Errorf("looked up %v, want [%s]", looked, tt.wantAccount)
			}
			if pod.Spec.ServiceAccountName != tt.wantAccount || pod.Spec.DeprecatedServiceAccount != tt.wantAccount {
				t.Errorf("serviceAccountName %q (deprecated %q), want %q", pod.Spec.ServiceAccountName, pod.Spec.DeprecatedServiceAccount, tt.wantAccount)
			}
			if got := len(pod.Spec.Volumes) > len(tt.spec.Volumes); got != tt.wantVolume {
				t.Errorf("token volume added: %v, want %v", got, tt.wantVolume)
			}
			var pull []string
			for _, r := range pod.Spec.ImagePullSecrets {
				pull = append(pull, r.Name)
			}
			if !slices.Equal(pull, tt.wantPull) {
				t.Errorf("imagePullSecrets %v, want %v", pull, tt.wantPull)
			}
		})
	}
}
