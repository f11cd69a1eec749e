package podsync

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testPod(policy corev1.RestartPolicy, inits []string, apps ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "uid-1"},
		Spec:       corev1.PodSpec{RestartPolicy: policy},
	}
	for _, n := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: "busybox:1"})
	}
	for _, n := range apps {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: "busybox:1"})
	}
	return p
}

func sandbox(id string, attempt uint32, ready bool) Sandbox {
	return Sandbox{ID: id, Attempt: attempt, Ready: ready, IPs: []string{"10.42.0.7"}}
}

func running(name string, attempt uint32) Container {
	return Container{ID: name + "-" + string(rune('0'+attempt)), Name: name, Attempt: attempt, SandboxID: "sb", State: StateRunning, StartedAt: t0}
}

func exited(name string, attempt uint32, code int32) Container {
	c := running(name, attempt)
	c.State, c.ExitCode, c.FinishedAt = StateExited, code, t0.Add(time.Minute)
	if code == 0 {
		c.Reason = "Completed"
	} else {
		c.Reason = "Error"
	}
	return c
}

func rtOf(sandboxes []Sandbox, containers ...Container) *Runtime {
	r := &Runtime{Sandboxes: sandboxes, Containers: containers}
	r.Sort()
	return r
}
