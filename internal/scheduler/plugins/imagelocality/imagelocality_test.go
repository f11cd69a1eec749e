package imagelocality

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func TestScore(t *testing.T) {
	const mib = 1024 * 1024
	nodes := []*corev1.Node{
		fwt.MakeNode("big").Image(500*mib, "docker.io/library/app:1").Obj(),
		fwt.MakeNode("small").Image(10*mib, "docker.io/library/tool:latest").Obj(),
		fwt.MakeNode("none").Obj(),
	}
	pod := fwt.MakePod("p").Obj()
	pod.Spec.Containers = []corev1.Container{{Name: "a", Image: "app:1"}, {Name: "b", Image: "tool"}}
	pl, _ := New(nil, nil)
	got := fwt.Scores(t, pl, pod, framework.NewSnapshot(nil, nodes))
	// big: 500 MiB on 1 of 3 nodes -> 166.6 MiB, clamped in [23, 2000] MiB -> (166-23)/(1977)*100 = 7.
	if got["big"] != 7 || got["small"] != 0 || got["none"] != 0 {
		t.Errorf("scores %v, want big 7, small 0 (below threshold), none 0", got)
	}
}

func TestPriority(t *testing.T) {
	const mib = 1024 * 1024
	for _, tc := range []struct {
		sum  int64
		n    int
		want int64
	}{
		{0, 1, 0}, {23 * mib, 1, 0}, {1000 * mib, 1, 100}, {5000 * mib, 1, 100}, {1000 * mib, 2, 49},
	} {
		if got := Priority(tc.sum, tc.n); got != tc.want {
			t.Errorf("Priority(%d MiB, %d) = %d, want %d", tc.sum/mib, tc.n, got, tc.want)
		}
	}
}

func TestNormalizeImageName(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                       "docker.io/library/nginx:latest",
		"nginx:1.2":                   "docker.io/library/nginx:1.2",
		"user/app":                    "docker.io/user/app:latest",
		"registry.local:5000/app":     "registry.local:5000/app:latest",
		"registry.local:5000/app:v1":  "registry.local:5000/app:v1",
		"localhost/app@sha256:abc":    "localhost/app@sha256:abc",
		"docker.io/library/pause:3.9": "docker.io/library/pause:3.9",
	} {
		if got := framework.NormalizeImageName(in); got != want {
			t.Errorf("NormalizeImageName(%q) = %q, want %q", in, got, want)
		}
	}
}
