package apiserver

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
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
