package podspec

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestContainer(t *testing.T) {
	t.Parallel()
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Image: "i"}},
		Containers:     []corev1.Container{{Name: "app", Image: "a"}, {Name: "side", Image: "s"}},
	}}
	for _, tc := range []struct{ name, wantImage string }{
		{"init", "i"}, {"app", "a"}, {"side", "s"}, {"missing", ""},
	} {
		c := Container(pod, tc.name)
		switch {
		case tc.wantImage == "" && c != nil:
			t.Errorf("Container(%q) = %+v, want nil", tc.name, c)
		case tc.wantImage != "" && (c == nil || c.Image != tc.wantImage):
			t.Errorf("Container(%q) = %+v, want the one of image %q", tc.name, c, tc.wantImage)
		}
	}
	// It points into the pod, so changes through it are the pod's.
	Container(pod, "side").Image = "s2"
	if pod.Spec.Containers[1].Image != "s2" {
		t.Error("Container returned a copy")
	}
}
